/** Places in the test bed's real S3 server (versitygw standing in for Cloudflare R2), one prefix each. */
import { randomBytes } from "node:crypto";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { testbedEnv } from "../testbed/env.js";
import type { Place } from "./suite.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export function s3Env(): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"),
    AWS_SECRET_ACCESS_KEY: testbedEnv("AWS_SECRET_ACCESS_KEY"),
  };
}

export function rawClient(): S3Client {
  return new S3Client({
    endpoint: testbedEnv("S3_ENDPOINT"),
    region: testbedEnv("AWS_REGION"),
    forcePathStyle: true,
    credentials: {
      accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
      secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
    },
    maxAttempts: 1,
  });
}

export const uniquePrefix = (): string => `state-test-${process.pid}-${randomBytes(4).toString("hex")}/`;

export function s3Place(options: { prefix?: string; endpoint?: string } = {}): Place & { prefix: string } {
  const prefix = options.prefix ?? uniquePrefix();
  const bucket = testbedEnv("S3_BUCKET");
  const key = (env: string, what: "state" | "lock") =>
    `${prefix}${env}/${what === "state" ? "state" : "lock"}.json`;
  return {
    prefix,
    config: {
      state: {
        backend: "s3",
        endpoint: options.endpoint ?? testbedEnv("S3_ENDPOINT"),
        bucket,
        prefix,
        region: testbedEnv("AWS_REGION"),
      },
    },
    configDir: "/nonexistent",
    env: s3Env(),
    async writeRaw(env, what, text) {
      const s3 = rawClient();
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key(env, what), Body: text }));
      s3.destroy();
    },
    async readRaw(env, what) {
      const s3 = rawClient();
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key(env, what) }));
        return await res.Body?.transformToString();
      } catch (e) {
        if ((e as Error).name === "NoSuchKey") return undefined;
        throw e;
      } finally {
        s3.destroy();
      }
    },
    async cleanup() {
      const s3 = rawClient();
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      for (const object of listed.Contents ?? [])
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
      s3.destroy();
    },
  };
}
