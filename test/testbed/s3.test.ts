/**
 * Smoke tests of the test bed's S3 store (versitygw, standing in for Cloudflare R2): the
 * conditional writes that plinth's state locking relies on are enforced by the server.
 */
import { randomBytes } from "node:crypto";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testbedEnv } from "./env.js";

const prefix = `smoke-${process.pid}-${randomBytes(3).toString("hex")}/`;
let s3: S3Client;
let bucket: string;

/** HTTP status of a rejected request, or 200 when it went through. */
async function statusOf(request: Promise<unknown>): Promise<number> {
  try {
    await request;
    return 200;
  } catch (error) {
    if (error instanceof S3ServiceException) return error.$metadata.httpStatusCode ?? 0;
    throw error;
  }
}

describe("s3 (versitygw standing in for R2)", () => {
  beforeAll(() => {
    bucket = testbedEnv("S3_BUCKET");
    s3 = new S3Client({
      endpoint: testbedEnv("S3_ENDPOINT"),
      region: testbedEnv("AWS_REGION"),
      forcePathStyle: true,
      credentials: {
        accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
        secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
      },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    if (!s3) return;
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    for (const object of listed.Contents ?? [])
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
    s3.destroy();
  });

  it("creates an object only if absent: of two racing creators exactly one wins, the other gets 412", async () => {
    const Key = `${prefix}lock`;
    const create = (owner: string) =>
      statusOf(s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: owner, IfNoneMatch: "*" })));
    const statuses = await Promise.all([create("a"), create("b")]);
    expect(statuses.sort()).toEqual([200, 412]);
    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))
    ).Body?.transformToString();
    expect(["a", "b"]).toContain(body);
    // And a later creator loses too: the object exists.
    expect(await create("c")).toBe(412);
  });

  it("replaces an object only at the ETag read: a writer holding a stale ETag loses with 412", async () => {
    const Key = `${prefix}state.json`;
    const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: '{"serial":1}' }));
    expect(first.ETag).toBeTruthy();
    // Two writers read serial 1 (same ETag); the first to write wins.
    const winner = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key, Body: '{"serial":2,"by":"a"}', IfMatch: first.ETag }),
    );
    expect(winner.ETag).not.toBe(first.ETag);
    const loser = s3.send(
      new PutObjectCommand({ Bucket: bucket, Key, Body: '{"serial":2,"by":"b"}', IfMatch: first.ETag }),
    );
    expect(await statusOf(loser)).toBe(412);
    const stored = await (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))
    ).Body?.transformToString();
    expect(stored).toBe('{"serial":2,"by":"a"}');
    // The winner's ETag still works.
    const next = s3.send(
      new PutObjectCommand({ Bucket: bucket, Key, Body: '{"serial":3}', IfMatch: winner.ETag }),
    );
    expect(await statusOf(next)).toBe(200);
  });

  it("rejects a request signed with the wrong secret", async () => {
    const intruder = new S3Client({
      endpoint: testbedEnv("S3_ENDPOINT"),
      region: testbedEnv("AWS_REGION"),
      forcePathStyle: true,
      credentials: { accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"), secretAccessKey: "wrong" },
      maxAttempts: 1,
    });
    expect(await statusOf(intruder.send(new ListObjectsV2Command({ Bucket: bucket })))).toBe(403);
    intruder.destroy();
  });
});
