import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, HeadBucketCommand, ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import {
  assertPortFree,
  goBuild,
  isRunning,
  portFromEnv,
  spawnDaemon,
  stopDaemon,
  waitFor,
} from "../lib/proc.js";
import { secret } from "../lib/secrets.js";
import type { Service, TestbedContext } from "../lib/service.js";

// The SDK warns at every client that releases after January 2027 need Node 22; ours is pinned, and
// the notice would clutter every `testbed` command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const portEnv = "TESTBED_S3_PORT";
const port = () => portFromEnv(portEnv, 19000);
const bucket = "plinth-state";
// Cloudflare R2 signs with region "auto"; the stand-in accepts the same so clients need no special case.
const region = "auto";
const build = { moduleDir: "testbed/go/versitygw", packages: ["github.com/versity/versitygw/cmd/versitygw"] };

function env(ctx: TestbedContext): Record<string, string> {
  return {
    S3_ENDPOINT: `http://127.0.0.1:${port()}`,
    S3_BUCKET: bucket,
    AWS_ACCESS_KEY_ID: secret(ctx, "s3", "accessKeyId"),
    AWS_SECRET_ACCESS_KEY: secret(ctx, "s3", "secretAccessKey"),
    AWS_REGION: region,
  };
}

function client(ctx: TestbedContext): S3Client {
  const e = env(ctx);
  return new S3Client({
    endpoint: e.S3_ENDPOINT,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: e.AWS_SECRET_ACCESS_KEY ?? "" },
    maxAttempts: 1,
  });
}

async function bucketListed(ctx: TestbedContext): Promise<boolean> {
  const s3 = client(ctx);
  try {
    const listed = await s3.send(new ListBucketsCommand({}));
    return (listed.Buckets ?? []).some((b) => b.Name === bucket);
  } finally {
    s3.destroy();
  }
}

/**
 * Versity S3 Gateway (Apache-2.0) with its posix backend, standing in for Cloudflare R2. Chosen
 * over MinIO (AGPL, and a far larger build) because it implements conditional PutObject
 * (`If-None-Match: *`, `If-Match`) atomically under a per-key lock, answering 412 to the loser.
 */
const s3: Service = {
  name: "s3",
  async build(ctx) {
    await goBuild(ctx, build);
  },
  async running(ctx) {
    return isRunning(ctx, "s3") && (await bucketListed(ctx).catch(() => false));
  },
  async start(ctx) {
    await assertPortFree(port(), "s3", portEnv);
    const bin = join(await goBuild(ctx, build), "versitygw");
    const root = join(ctx.stateDir, "s3", "data");
    mkdirSync(root, { recursive: true });
    const e = env(ctx);
    await spawnDaemon(ctx, {
      name: "s3",
      command: bin,
      args: ["--port", `127.0.0.1:${port()}`, "--region", region, "--quiet", "posix", root],
      // Keys through the environment: argv is visible to every user in `ps`.
      env: {
        ROOT_ACCESS_KEY_ID: e.AWS_ACCESS_KEY_ID ?? "",
        ROOT_SECRET_ACCESS_KEY: e.AWS_SECRET_ACCESS_KEY ?? "",
      },
    });
    const s3 = client(ctx);
    try {
      await waitFor(
        "s3 (versitygw)",
        async () => {
          await s3.send(new ListBucketsCommand({}));
          return true;
        },
        { timeoutMs: 30_000, logName: "s3", ctx },
      );
      const exists = await s3.send(new HeadBucketCommand({ Bucket: bucket })).then(
        () => true,
        () => false,
      );
      if (!exists) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      s3.destroy();
    }
    await waitFor("s3 bucket listing", () => bucketListed(ctx), { timeoutMs: 10_000, logName: "s3", ctx });
    return e;
  },
  async env(ctx) {
    return env(ctx);
  },
  async stop(ctx) {
    await stopDaemon(ctx, "s3");
  },
};

export default s3;
