/**
 * The dump jobs for real, with what runs here: the test bed's Redis (Debian's redis-server 7.0.15,
 * the release of the pinned image) is dumped by the exact script and environment the Redis
 * CronJob's dump container gets, and uploaded by the exact upload script with Debian's rclone
 * 1.60.1 (the release of the pinned rclone image) to the test bed's S3 server (versitygw, standing
 * in for R2). Only what points at the cluster is swapped: the Service address for the test bed's
 * Redis, the Secrets' values for the test bed's, the emptyDir for a temporary folder. The dump is
 * then restored (a fresh redis-server loading it), read back by `plinth backup status`, aged out
 * by the retention pass, and the CronJobs are applied to the test bed's API server.
 * ArangoDB and ClickHouse have no Debian packages: their CronJobs are proven accepted by the API
 * server, the ArangoDB script's options run against a stand-in arangodump whose dump tree the real
 * upload then stores, and the ClickHouse script's quoting and polling run against a stand-in
 * clickhouse-client (each said where it is used).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { promisify } from "node:util";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DUMP_MARKER, dumpFolder, dumpScript } from "../../src/catalog/backup-jobs.js";
import { backedUpDumps } from "../../src/catalog/backup-targets.js";
import type { KubeObject } from "../../src/catalog/types.js";
import { run as plinth } from "../../src/cli/main.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { BackupStore } from "../../src/state/backup-catalog.js";
import { judgeDumps } from "../../src/status/backups.js";
import { KubeClient, objectPath, statusMessage } from "../../testbed/kube/client.js";
import { exampleWith, projectWithConfig } from "../helpers/config.js";
import { forward } from "../helpers/forward.js";
import { root as repoRoot, testbedEnv } from "../testbed/env.js";
import { backupsSettings } from "./config.js";
import { freePort } from "./scratch-postgres.js";

const exec = promisify(execFile);
const run = `dp${process.pid}${randomBytes(2).toString("hex")}`;
const PATH_IN_BUCKET = `dumps-test/${run}`;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}
interface Container {
  name: string;
  image: string;
  command: string[];
  env: EnvVar[];
}

let work: string;
let s3: S3Client;
let env: ResolvedEnvironment;
let redisPort: number;
let redisPassword: string;
const bucket = () => testbedEnv("S3_BUCKET");

/** The test bed's values for the Secrets the rendered containers read. */
function secretValues(): Record<string, string> {
  return {
    "redis-auth/password": redisPassword,
    "redis-backup-credentials/ACCESS_KEY_ID": testbedEnv("AWS_ACCESS_KEY_ID"),
    "redis-backup-credentials/ACCESS_SECRET_KEY": testbedEnv("AWS_SECRET_ACCESS_KEY"),
  };
}

function rendered(e: ResolvedEnvironment): KubeObject[] {
  return desiredComponents(e, buildGraph(e)).flatMap((c) => c.objects);
}

function podOf(job: KubeObject): { dump: Container; upload: Container } {
  const pod = (
    job as unknown as {
      spec: {
        jobTemplate: {
          spec: { template: { spec: { initContainers: Container[]; containers: Container[] } } };
        };
      };
    }
  ).spec.jobTemplate.spec.template.spec;
  const [dump] = pod.initContainers;
  const [upload] = pod.containers;
  if (!dump || !upload) throw new Error(`${job.metadata.name}: not a dump job`);
  return { dump, upload };
}

/** The container's environment as the kubelet would give it, with the test bed's Secret values. */
function containerEnv(c: Container, overrides: Record<string, string>): Record<string, string> {
  const values = secretValues();
  const out: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work };
  for (const v of c.env) {
    if (v.value !== undefined) out[v.name] = v.value;
    else if (v.valueFrom) {
      const ref = `${v.valueFrom.secretKeyRef.name}/${v.valueFrom.secretKeyRef.key}`;
      const value = values[ref];
      if (value === undefined) throw new Error(`${c.name}: no test value for Secret ${ref}`);
      out[v.name] = value;
    }
  }
  return { ...out, ...overrides };
}

/** Runs a container's script (`sh -c <script>`) as the CronJob would, here. */
async function runContainer(c: Container, overrides: Record<string, string>) {
  expect(c.command.slice(0, 2)).toEqual(["sh", "-c"]);
  return exec("sh", ["-c", c.command[2] ?? ""], { env: containerEnv(c, overrides), timeout: 120_000 });
}

/** One run of the Redis CronJob's pod, its emptyDir a fresh folder; returns that folder. */
async function runRedisJob(extra: Record<string, string> = {}): Promise<string> {
  const job = rendered(env).find((o) => o.kind === "CronJob" && o.metadata.name === "redis-backup");
  if (!job) throw new Error("no redis-backup CronJob rendered");
  const { dump, upload } = podOf(job);
  const dir = mkdtempSync(join(work, "emptydir-"));
  // The Service address is the cluster's; here the test bed's Redis.
  await runContainer(dump, { DUMP_DIR: dir, DB_HOST: "127.0.0.1", DB_PORT: String(redisPort) });
  await runContainer(upload, { DUMP_DIR: dir, ...extra });
  return dir;
}

async function keys(prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.push({ key: o.Key ?? "", size: o.Size ?? 0 });
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

async function object(key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
  return Buffer.from((await got.Body?.transformToByteArray()) ?? []);
}

const redisCli = (port: number, args: string[], password?: string) =>
  exec("redis-cli", ["-p", String(port), "--no-auth-warning", ...args], {
    env: { PATH: process.env.PATH, ...(password ? { REDISCLI_AUTH: password } : {}) },
  });

const stampOf = (dir: string) => readFileSync(join(dir, "stamp"), "utf8").trim();

describe("dumps with the exact scripts the CronJobs run", () => {
  const written = new Map<string, string>();
  let first = "";
  let firstDir = "";

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "plinth-dumps-"));
    const url = new URL(testbedEnv("REDIS_URL"));
    redisPort = Number(url.port);
    redisPassword = decodeURIComponent(url.password);
    env = resolve(
      exampleWith((raw) => {
        const b = backupsSettings();
        raw.defaults = {
          ...raw.defaults,
          backups: {
            ...b,
            destination: {
              ...b.destination,
              bucket: testbedEnv("S3_BUCKET"),
              endpoint: testbedEnv("S3_ENDPOINT"),
              region: testbedEnv("AWS_REGION"),
              path: PATH_IN_BUCKET,
            },
          },
        };
      }),
      "staging",
    );
    s3 = new S3Client({
      endpoint: testbedEnv("S3_ENDPOINT"),
      region: testbedEnv("AWS_REGION"),
      forcePathStyle: true,
      credentials: {
        accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
        secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
      },
    });
    // The shared Redis gets keys of this run only (and loses them afterwards).
    for (let i = 0; i < 200; i++) written.set(`${run}:k:${i}`, randomBytes(24).toString("base64"));
    await redisCli(redisPort, ["MSET", ...[...written].flat()], redisPassword);
  });

  afterAll(async () => {
    if (redisPassword)
      await redisCli(redisPort, ["DEL", ...written.keys()], redisPassword).catch(() => undefined);
    // The run's objects leave the shared bucket with it.
    if (s3) {
      for (const o of await keys(`${PATH_IN_BUCKET}/`).catch(() => [])) {
        await s3.send(new DeleteObjectCommand({ Bucket: bucket(), Key: o.key })).catch(() => undefined);
      }
    }
    s3?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("dumps Redis with redis-cli --rdb and uploads the dump, then its marker, to <path>/<env>/redis/<stamp>/", async () => {
    const started = Date.now();
    firstDir = await runRedisJob();
    const seconds = (Date.now() - started) / 1000;
    first = stampOf(firstDir);
    expect(first).toMatch(/^\d{8}T\d{6}Z$/);
    const folder = `${PATH_IN_BUCKET}/staging/redis/${first}/`;
    const stored = await keys(folder);
    expect(stored.map((o) => o.key.slice(folder.length)).sort()).toEqual(["dump.rdb", DUMP_MARKER]);
    // Byte for byte the file redis-cli wrote.
    const local = readFileSync(join(firstDir, "dump", "dump.rdb"));
    expect(local.subarray(0, 5).toString()).toBe("REDIS");
    expect((await object(`${folder}dump.rdb`)).equals(local)).toBe(true);
    const marker = JSON.parse((await object(`${folder}${DUMP_MARKER}`)).toString("utf8"));
    expect(marker).toMatchObject({
      format: "plinth-dump/v1",
      component: "redis",
      tool: "redis-cli --rdb",
      stamp: first,
    });
    console.log(`[dumps] Redis dump of ${local.length} bytes dumped and uploaded in ${seconds.toFixed(1)} s`);
  }, 180_000);

  it("restores: a fresh redis-server started on the downloaded dump has every key that was written", async () => {
    const dir = mkdtempSync(join(work, "restore-"));
    const folder = `${PATH_IN_BUCKET}/staging/redis/${first}/`;
    writeFileSync(join(dir, "dump.rdb"), await object(`${folder}dump.rdb`));
    const port = await freePort();
    writeFileSync(
      join(dir, "redis.conf"),
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        "dbfilename dump.rdb",
        "appendonly no",
        'save ""',
        "",
      ].join("\n"),
    );
    const server = execFile("redis-server", [join(dir, "redis.conf")]);
    try {
      let up = false;
      for (let i = 0; i < 50 && !up; i++) {
        up = await redisCli(port, ["PING"]).then(
          (r) => r.stdout.trim() === "PONG",
          () => false,
        );
        if (!up) await new Promise((r) => setTimeout(r, 200));
      }
      expect(up).toBe(true);
      const names = [...written.keys()];
      const { stdout } = await redisCli(port, ["MGET", ...names]);
      expect(stdout.trim().split("\n")).toEqual(names.map((k) => written.get(k)));
    } finally {
      server.kill("SIGTERM");
    }
  }, 60_000);

  it("plinth backup status reads the dump folder: the newest complete dump, its age and size; late or missing fails", async () => {
    const redis = backedUpDumps(env).find((t) => t.component === "redis");
    if (!redis) throw new Error("redis is not dumped");
    const store = new BackupStore({
      endpoint: testbedEnv("S3_ENDPOINT"),
      bucket: bucket(),
      region: testbedEnv("AWS_REGION"),
      prefix: redis.backups.prefix,
      credentials: {
        accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
        secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
      },
      variables: { accessKeyId: "BACKUP_S3_KEY_ID", secretAccessKey: "BACKUP_S3_SECRET" },
    });
    try {
      const catalog = await store.readDumps(redis.name, DUMP_MARKER);
      const now = new Date();
      const status = judgeDumps(redis, catalog, now);
      expect(status.ok, status.problem).toBe(true);
      expect(status.lastBackup?.id).toBe(first);
      expect(status.lastBackup?.ageSeconds).toBeLessThan(300);
      expect(status.location).toBe(`s3://${bucket()}/${dumpFolder(redis)}/`);
      const stored = await keys(`${dumpFolder(redis)}/`);
      expect(status.storedBytes).toBe(stored.reduce((n, o) => n + o.size, 0));
      // Daily at 03:00: 24 h between runs plus 2.4 h of grace.
      const finished = catalog.dumps.at(-1)?.finishedAt?.getTime() ?? 0;
      expect(judgeDumps(redis, catalog, new Date(finished + 26.3 * 3_600_000)).ok).toBe(true);
      const late = judgeDumps(redis, catalog, new Date(finished + 26.5 * 3_600_000));
      expect(late.ok).toBe(false);
      expect(late.problem).toContain('the schedule "0 3 * * *" allows 1d 2h');

      // A newer folder without its marker (a run that failed halfway): said, not failed on.
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket(),
          Key: `${dumpFolder(redis)}/99991231T235959Z/dump.rdb`,
          Body: "partial",
        }),
      );
      const partial = judgeDumps(redis, await store.readDumps(redis.name, DUMP_MARKER), now);
      expect(partial.ok).toBe(true);
      expect(partial.lastBackup?.id).toBe(first);
      expect(partial.problem).toContain("dump 99991231T235959Z has no completion marker");
    } finally {
      store.close();
    }

    // Through the command: an environment whose only backed-up database is Redis.
    const dir = projectWithConfig(redisOnlyConfig(`${PATH_IN_BUCKET}/cli`));
    const vars = {
      BACKUP_S3_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"),
      BACKUP_S3_SECRET: testbedEnv("AWS_SECRET_ACCESS_KEY"),
    };
    const missing = await cliIn(dir, ["backup", "status", "dp", "--json"], vars);
    expect(missing.code, missing.stderr).toBe(3);
    expect(JSON.parse(missing.stdout).databases[0].problem).toContain(
      "no complete dump (redis-backup has not run",
    );
    // The same dump copied under that environment's folder, as its CronJob would have left it.
    for (const o of await keys(`${PATH_IN_BUCKET}/staging/redis/${first}/`)) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket(),
          Key: `${PATH_IN_BUCKET}/cli/dp/redis/${first}/${o.key.split("/").at(-1)}`,
          Body: await object(o.key),
        }),
      );
    }
    const ok = await cliIn(dir, ["backup", "status", "dp"], vars);
    expect(ok.code, `${ok.stdout}${ok.stderr}`).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^redis\\s+${first}\\s`, "m"));
    expect(ok.stdout).toContain("(1 dumps)");
    expect(ok.stdout).toContain("a dump (CronJob redis-backup) may be 1d 2h old");
    console.log(`[dumps] plinth backup status:\n${ok.stdout}`);
  }, 120_000);

  it("ages out: a run with the retention passed deletes the older dump and keeps its own", async () => {
    // Past the first dump's upload by more than the retention given to this run (the rendered
    // RETENTION is 30d; only its value is shortened here, the script is the CronJob's).
    await new Promise((r) => setTimeout(r, 4_000));
    const second = stampOf(await runRedisJob({ RETENTION: "3s" }));
    expect(second > first).toBe(true);
    const all = await keys(`${PATH_IN_BUCKET}/staging/redis/`);
    const folders = [...new Set(all.map((o) => o.key.split("/").at(-2)))].sort();
    // The first dump and the partial folder (older than 3 s by now) are gone.
    expect(folders).toEqual([second]);
    expect(all.map((o) => o.key.split("/").at(-1)).sort()).toEqual(["dump.rdb", DUMP_MARKER]);
  }, 180_000);
  it("ArangoDB (a stand-in arangodump: no Debian package): passes the rendered options and the password from its Secret, and uploads every file of the dump under its stamp", async () => {
    const bin = mkdtempSync(join(tmpdir(), "plinth-arango-"));
    try {
      const log = join(bin, "argv");
      // Stand-in: records its arguments, then writes a dump's layout (per database, gzipped data).
      writeFileSync(
        join(bin, "arangodump"),
        `#!/bin/sh
printf '%s\\n' "$@" > "${log}"
out=""; while [ $# -gt 0 ]; do [ "$1" = --output-directory ] && out="$2"; shift; done
mkdir -p "$out/_system" "$out/app"
echo '{"database":"_system"}' > "$out/_system/dump.json"
echo '{"parameters":{"name":"_users"}}' > "$out/_system/_users_abc.structure.json"
printf 'users' | gzip > "$out/_system/_users_abc.data.json.gz"
echo '{"parameters":{"name":"orders"}}' > "$out/app/orders_def.structure.json"
printf 'orders' | gzip > "$out/app/orders_def.data.json.gz"
`,
      );
      chmodSync(join(bin, "arangodump"), 0o755);
      const job = rendered(env).find((o) => o.kind === "CronJob" && o.metadata.name === "arangodb-backup");
      if (!job) throw new Error("no arangodb-backup CronJob rendered");
      const { dump, upload } = podOf(job);
      const dir = mkdtempSync(join(work, "emptydir-"));
      const password = randomBytes(16).toString("hex");
      const values = { ...secretValues(), "arangodb-root/password": password };
      const envOf = (c: Container) =>
        Object.fromEntries(
          c.env.map((v) => [
            v.name,
            v.value ??
              values[
                `${v.valueFrom?.secretKeyRef.name}/${v.valueFrom?.secretKeyRef.key}` as keyof typeof values
              ] ??
              "",
          ]),
        );
      await exec("sh", ["-c", dump.command[2] ?? ""], {
        env: { PATH: `${bin}:${process.env.PATH}`, ...envOf(dump), DUMP_DIR: dir },
      });
      expect(readFileSync(log, "utf8").trim().split("\n")).toEqual([
        "--server.endpoint",
        "tcp://arangodb.data.svc:8529",
        "--server.username",
        "root",
        "--server.password",
        password,
        "--all-databases",
        "true",
        "--include-system-collections",
        "true",
        "--compress-output",
        "true",
        "--overwrite",
        "true",
        "--output-directory",
        `${dir}/dump`,
      ]);
      // The upload is the real one (rclone against the test bed's S3), with the rendered credentials' names.
      await exec("sh", ["-c", upload.command[2] ?? ""], {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: work,
          ...envOf(upload),
          RCLONE_CONFIG_BACKUP_ACCESS_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"),
          RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY: testbedEnv("AWS_SECRET_ACCESS_KEY"),
          DUMP_DIR: dir,
        },
      });
      const stamp = stampOf(dir);
      const folder = `${PATH_IN_BUCKET}/staging/arangodb/${stamp}/`;
      expect((await keys(folder)).map((o) => o.key.slice(folder.length)).sort()).toEqual([
        "_system/_users_abc.data.json.gz",
        "_system/_users_abc.structure.json",
        "_system/dump.json",
        "app/orders_def.data.json.gz",
        "app/orders_def.structure.json",
        DUMP_MARKER,
      ]);
      expect(
        (await object(`${folder}app/orders_def.data.json.gz`)).equals(
          readFileSync(join(dir, "dump", "app", "orders_def.data.json.gz")),
        ),
      ).toBe(true);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("the upload with R2's rendering (rclone's Cloudflare provider), through a recording proxy", () => {
  interface Seen {
    method: string;
    url: string;
    headers: IncomingHttpHeaders;
    bytes: number;
  }
  const seen: Seen[] = [];
  let proxy: Server;
  let proxyUrl = "";
  let s3c: S3Client;

  beforeAll(async () => {
    const upstream = new URL(testbedEnv("S3_ENDPOINT"));
    proxy = createServer((req, res) => {
      const entry: Seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, bytes: 0 };
      seen.push(entry);
      req.on("data", (chunk: Buffer) => {
        entry.bytes += chunk.length;
      });
      forward(req, res, upstream, { loseAnswer: false });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    const address = proxy.address();
    proxyUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    s3c = new S3Client({
      endpoint: testbedEnv("S3_ENDPOINT"),
      region: testbedEnv("AWS_REGION"),
      forcePathStyle: true,
      credentials: {
        accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
        secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
      },
    });
  });
  afterAll(async () => {
    proxy?.close();
    const page = await s3c?.send(
      new ListObjectsV2Command({ Bucket: testbedEnv("S3_BUCKET"), Prefix: `dumps-r2/${run}/` }),
    );
    for (const o of page?.Contents ?? []) {
      await s3c.send(new DeleteObjectCommand({ Bucket: testbedEnv("S3_BUCKET"), Key: o.Key ?? "" }));
    }
    s3c?.destroy();
  });

  it("sends no checksum headers R2 refuses, and cuts a multipart upload into equal parts with a shorter last", async () => {
    // The environment rendered for an R2 endpoint; only where it points is the test bed (through
    // the proxy), the bucket and folder the test's own.
    const e = resolve(
      exampleWith((raw) => {
        raw.defaults = { ...raw.defaults, backups: backupsSettings() };
      }),
      "prod",
    );
    const job = rendered(e).find((o) => o.kind === "CronJob" && o.metadata.name === "redis-backup");
    if (!job) throw new Error("no redis-backup CronJob rendered");
    const { upload } = podOf(job);
    expect(upload.env.find((v) => v.name === "RCLONE_CONFIG_BACKUP_PROVIDER")?.value).toBe("Cloudflare");
    const dir = mkdtempSync(join(tmpdir(), "plinth-r2-"));
    try {
      writeFileSync(join(dir, "stamp"), "20260501T030000Z\n");
      mkdirSync(join(dir, "dump"));
      const size = 12 * 1024 * 1024 + 12_345;
      writeFileSync(join(dir, "dump", "dump.rdb"), randomBytes(size));
      await exec("sh", ["-c", upload.command[2] ?? ""], {
        env: {
          ...containerEnv(upload, {}),
          DUMP_DIR: dir,
          RCLONE_CONFIG_BACKUP_ENDPOINT: proxyUrl,
          S3_BUCKET: testbedEnv("S3_BUCKET"),
          S3_FOLDER: `dumps-r2/${run}/redis`,
          // Multipart from 5 MiB instead of rclone's 200 MiB, so a small file shows the part
          // sizes; the part size itself is the rendered default (5 MiB).
          RCLONE_S3_UPLOAD_CUTOFF: "5M",
        },
        timeout: 120_000,
      });
      const checksum = seen.flatMap((r) =>
        Object.keys(r.headers).filter(
          (h) => h.startsWith("x-amz-checksum") || h === "x-amz-sdk-checksum-algorithm",
        ),
      );
      expect(checksum).toEqual([]);
      const part = (r: Seen) => Number(/[?&]partNumber=(\d+)/.exec(r.url)?.[1] ?? 0);
      const sizes = seen
        .filter((r) => r.method === "PUT" && part(r) > 0)
        .sort((a, b) => part(a) - part(b))
        .map((p) => p.bytes);
      expect(sizes).toEqual([5 * 1024 * 1024, 5 * 1024 * 1024, size - 10 * 1024 * 1024]);
      const stored = await s3c.send(
        new GetObjectCommand({
          Bucket: testbedEnv("S3_BUCKET"),
          Key: `dumps-r2/${run}/redis/20260501T030000Z/dump.rdb`,
        }),
      );
      const bytes = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);
      expect(bytes.equals(readFileSync(join(dir, "dump", "dump.rdb")))).toBe(true);
      console.log(
        `[dumps] R2 rendering: ${seen.length} requests, none with a checksum header; parts of ${sizes.join(", ")} bytes`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("the ClickHouse dump script, against a stand-in clickhouse-client (ClickHouse has no Debian package)", () => {
  let bin: string;
  let log: string;

  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), "plinth-ch-"));
    log = join(bin, "calls");
    // Stand-in: records each call's arguments and stdin, answers BACKUP with an id and the status
    // poll with what CH_STATUSES lists, one per poll.
    const fake = `#!/bin/sh
printf 'ARGS %s\\n' "$*" >> "${log}"
case "$*" in
  *--query*"SELECT status"*) n=$(grep -c '^POLL' "${log}" || true); echo POLL >> "${log}"
    echo "$CH_STATUSES" | cut -d, -f$((n + 1)) ;;
  *--query*"SELECT error"*) echo "Code: 499. S3_ERROR" ;;
  *) printf 'STDIN %s\\n' "$(cat)" >> "${log}"; printf '3f1c0e6a-1b2c-4d5e-8f90-a1b2c3d4e5f6\\tCREATING_BACKUP\\n' ;;
esac
`;
    writeFileSync(join(bin, "clickhouse-client"), fake);
    chmodSync(join(bin, "clickhouse-client"), 0o755);
    writeFileSync(join(bin, "sleep"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(bin, "sleep"), 0o755);
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  const chEnv = (statuses: string) => {
    const dir = mkdtempSync(join(bin, "work-"));
    mkdirSync(dir, { recursive: true });
    return {
      PATH: `${bin}:${process.env.PATH}`,
      DUMP_DIR: dir,
      DB_HOST: "clickhouse-clickhouse.data.svc",
      DB_PORT: "9000",
      DB_USER: "app",
      DB_PASSWORD: "db-pass",
      S3_ENDPOINT: "https://acct.r2.cloudflarestorage.com",
      S3_BUCKET: "acme-backups",
      S3_FOLDER: "backups/prod/clickhouse",
      S3_ACCESS_KEY_ID: "KEYID",
      // A quote and a backslash: they must reach ClickHouse escaped inside the SQL string.
      S3_SECRET_ACCESS_KEY: "se'cr\\et/+x",
      CH_STATUSES: statuses,
    };
  };

  it("sends BACKUP ... TO S3 on stdin with the token escaped (never in the arguments) and waits until it is created", async () => {
    writeFileSync(log, "");
    const e = chEnv("CREATING_BACKUP,CREATING_BACKUP,BACKUP_CREATED");
    const out = await exec("sh", ["-c", dumpScript("clickhouse")], { env: e });
    const stamp = readFileSync(join(e.DUMP_DIR, "stamp"), "utf8").trim();
    const calls = readFileSync(log, "utf8");
    const statement = calls.split("\n").find((l) => l.startsWith("STDIN "));
    expect(statement).toBe(
      `STDIN BACKUP ALL EXCEPT DATABASES system, INFORMATION_SCHEMA, information_schema TO S3('https://acct.r2.cloudflarestorage.com/acme-backups/backups/prod/clickhouse/${stamp}/', 'KEYID', 'se\\'cr\\\\et/+x') ASYNC`,
    );
    const args = calls.split("\n").filter((l) => l.startsWith("ARGS "));
    expect(args.some((l) => l.includes("se'cr"))).toBe(false);
    expect(calls.match(/^POLL$/gm)).toHaveLength(3);
    expect(out.stdout).toContain(`written to backups/prod/clickhouse/${stamp}`);
  });

  it("fails the pod (so no marker is uploaded) when ClickHouse reports the backup failed", async () => {
    writeFileSync(log, "");
    const e = chEnv("CREATING_BACKUP,BACKUP_FAILED");
    const failed = await exec("sh", ["-c", dumpScript("clickhouse")], { env: e }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain("S3_ERROR");
  });
});

describe("the dump CronJobs on the test bed's API server", () => {
  const ns = `dumps-${process.pid}-${Date.now().toString(36)}`;
  let kube: KubeClient;
  beforeAll(async () => {
    const path = resolvePath(testbedEnv("KUBECONFIG"));
    if (!path.startsWith(resolvePath(repoRoot, ".testbed")))
      throw new Error(`KUBECONFIG=${path} is not the test bed's`);
    kube = KubeClient.fromKubeconfig(path);
    await kube.call("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    });
  });
  afterAll(async () => {
    await kube?.request("DELETE", `/api/v1/namespaces/${ns}`);
  });

  it("accepts all four (Redis, ArangoDB, ClickHouse, SigNoz's ClickHouse) server-side, every field kept", async () => {
    const e = resolve(
      exampleWith((raw) => {
        raw.defaults = { ...raw.defaults, backups: backupsSettings() };
      }),
      "prod",
    );
    const jobs = rendered(e)
      .filter((o) => o.kind === "CronJob")
      .map((o): KubeObject => ({ ...o, metadata: { ...o.metadata, namespace: ns } }));
    expect(jobs.map((j) => j.metadata.name).sort()).toEqual([
      "arangodb-backup",
      "clickhouse-backup",
      "redis-backup",
      "signoz-clickhouse-backup",
    ]);
    for (const job of jobs) {
      const path = objectPath("batch/v1", "cronjobs", job.metadata.name, ns);
      const res = await kube.request("PATCH", `${path}?fieldManager=plinth&force=true`, {
        body: job,
        contentType: "application/apply-patch+yaml",
      });
      expect([200, 201], `${job.metadata.name}: ${statusMessage(res.body)}`).toContain(res.status);
      const live = await kube.get<{ spec: Record<string, unknown> }>(path);
      expect(live.spec).toMatchObject(job.spec as Record<string, unknown>);
    }
  });
});

/** A config whose one environment (dp) backs up to the test's folder and runs Redis as its only database. */
function redisOnlyConfig(path: string): string {
  const destination = {
    bucket: testbedEnv("S3_BUCKET"),
    endpoint: testbedEnv("S3_ENDPOINT"),
    region: testbedEnv("AWS_REGION"),
    path,
  };
  return `import { defineConfig, secret } from "plinth";
export default defineConfig({
  project: "acme",
  clusters: { dp: { type: "existing", kubeconfig: ${JSON.stringify(testbedEnv("KUBECONFIG"))} } },
  environments: {
    dp: {
      kind: "staging",
      cluster: "dp",
      baseDomain: "example.com",
      internalDomain: "example.org",
      acmeEmail: "ops@example.com",
      features: { vault: false, observability: false, arangodb: false, clickhouse: false },
      components: { postgres: { enabled: false } },
      backups: {
        schedule: "0 3 * * *",
        destination: { ...${JSON.stringify(destination)}, credentials: { accessKeyId: secret.env("BACKUP_S3_KEY_ID"), secretAccessKey: secret.env("BACKUP_S3_SECRET") } },
      },
    },
  },
});
`;
}

async function cliIn(cwd: string, argv: string[], vars: Record<string, string>) {
  let stdout = "";
  let stderr = "";
  const code = await plinth(argv, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...vars },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}
