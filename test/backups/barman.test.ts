/**
 * The backup and restore path for real, with the tool CloudNativePG's Barman Cloud plugin runs
 * (Barman's cloud commands, testbed/services/barman.ts) and exactly the options plinth renders
 * (catalog/backups.ts: endpoint, folder, compression, R2's part sizes, the checksum environment):
 * a scratch PostgreSQL (Debian's) archives its WAL and is backed up to the test bed's S3 server
 * (versitygw, standing in for R2), then restored to a point in time into a fresh data directory.
 * Every S3 request goes through a recording proxy, so the test sees what R2 would be sent.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backedUpDatabases } from "../../src/catalog/backup-targets.js";
import {
  type BarmanConfiguration,
  barmanCloudArgs,
  barmanConfiguration,
  barmanEnvironment,
  CHECKSUM_ENV,
} from "../../src/catalog/backups.js";
import { run as plinth } from "../../src/cli/main.js";
import { type ResolvedBackups, resolveBackups } from "../../src/model/backups.js";
import { resolve } from "../../src/model/resolve.js";
import { BackupStore } from "../../src/state/backup-catalog.js";
import { judgeBackups } from "../../src/status/backups.js";
import { exampleWith, projectWithConfig } from "../helpers/config.js";
import { forward } from "../helpers/forward.js";
import { testbedEnv } from "../testbed/env.js";
import {
  barmanBin,
  deleteKeys,
  s3Keys as listKeys,
  runBarman,
  switchAndArchive,
  waitPromoted,
} from "./barman-helpers.js";
import { backupsSettings } from "./config.js";
import { freePort, ownedDir, runAsPostgres, ScratchPostgres, shellWord } from "./scratch-postgres.js";

const run = `bk${process.pid}${randomBytes(2).toString("hex")}`;
const SERVER = "postgres"; // the Cluster's name is Barman's server name
const target = { cluster: SERVER, namespace: "data", component: "postgres" as const };

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

let root: string;
let proxy: Server;
const requests: Recorded[] = [];
let backups: ResolvedBackups;
let config: BarmanConfiguration;
let env: Record<string, string>;
let s3: S3Client;
let source: ScratchPostgres;
let restored: ScratchPostgres;
/** The newest WAL segment the source archived, as PostgreSQL reported it. */
let lastArchivedWal = "";
const bin = barmanBin;
const barman = (command: string, args: string[], extraEnv: Record<string, string> = env) =>
  runBarman(command, args, extraEnv);

const s3Keys = (prefix: string) => listKeys(s3, backups.bucket, prefix);

describe("backups through Barman's cloud commands with plinth's settings", () => {
  beforeAll(async () => {
    const upstream = new URL(testbedEnv("S3_ENDPOINT"));
    proxy = createServer((req, res) => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      forward(req, res, upstream, { loseAnswer: false });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    const address = proxy.address();
    const proxyUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

    const resolved = resolveBackups(
      "bk",
      backupsSettings({
        destination: {
          bucket: testbedEnv("S3_BUCKET"),
          endpoint: proxyUrl,
          region: testbedEnv("AWS_REGION"),
          path: `barman-test/${run}`,
          credentials: {
            accessKeyId: { fromEnv: "BACKUP_S3_KEY_ID" },
            secretAccessKey: { fromEnv: "BACKUP_S3_SECRET" },
          },
        },
      }),
    );
    if (!resolved.backups) throw new Error(resolved.diagnostics.map((d) => d.message).join("; "));
    backups = resolved.backups;
    config = barmanConfiguration(backups, target);
    env = barmanEnvironment(backups, {
      accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
      secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
    });
    s3 = new S3Client({
      endpoint: testbedEnv("S3_ENDPOINT"),
      region: testbedEnv("AWS_REGION"),
      forcePathStyle: true,
      credentials: {
        accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
        secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
      },
    });
    root = ownedDir(mkdtempSync(join(tmpdir(), "plinth-barman-")));
    const socketDir = ownedDir(join(root, "sock"));
    source = await ScratchPostgres.init(join(root, "source"), await freePort(), socketDir, env);
    const archive = [
      bin("barman-cloud-wal-archive"),
      ...barmanCloudArgs(config, "wal-archive", SERVER),
      "%p",
    ];
    source.configure({
      wal_level: "replica",
      archive_mode: "on",
      archive_command: archive.map(shellWord).join(" "),
    });
    await source.start();
  }, 180_000);

  afterAll(async () => {
    await restored?.stop().catch(() => {});
    await source?.stop().catch(() => {});
    if (root) rmSync(root, { recursive: true, force: true });
    proxy?.close();
    // The run's objects (about 100 MiB) leave the shared bucket with it.
    if (s3 && backups) await deleteKeys(s3, backups.bucket, `barman-test/${run}`);
  });

  it("archives, backs up, and restores to a point in time exactly what was committed before it", async () => {
    let mark = Date.now();
    const step = (what: string) => {
      console.log(`[barman] ${what}: ${((Date.now() - mark) / 1000).toFixed(1)} s`);
      mark = Date.now();
    };
    await source.sql("CREATE TABLE rows (id int PRIMARY KEY, phase text NOT NULL)");
    await source.sql("INSERT INTO rows SELECT g, 'before-backup' FROM generate_series(1, 100) g");
    // About 48 MiB that gzip cannot shrink, so the backup is larger than Barman's default part
    // size (2 x 100 GiB / 10,000 parts = 20 MiB): the case R2 refuses unless plinth's options hold.
    await source.sql(
      "CREATE TABLE blob AS SELECT g AS id, decode(string_agg(md5(random()::text) || md5(random()::text), ''), 'hex') AS data FROM generate_series(1, 48) g, generate_series(1, 32768) x GROUP BY g",
    );
    await switchAndArchive(source);
    step("rows written and archived");

    const backupStarted = Date.now();
    await barman("barman-cloud-backup", [
      ...[
        "--host",
        source.socketDir,
        "--port",
        String(source.port),
        "--user",
        "postgres",
        "--name",
        "base-1",
      ],
      ...barmanCloudArgs(config, "backup", SERVER),
    ]);
    const backupSeconds = (Date.now() - backupStarted) / 1000;
    step("barman-cloud-backup");

    await source.sql("INSERT INTO rows SELECT g, 'after-backup' FROM generate_series(101, 150) g");
    await switchAndArchive(source);
    await new Promise((r) => setTimeout(r, 1100));
    const targetTime = await source.sql("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.USOF')");
    await new Promise((r) => setTimeout(r, 1100));
    await source.sql("INSERT INTO rows SELECT g, 'after-target' FROM generate_series(151, 200) g");
    await switchAndArchive(source);

    // RPO: how old the newest archived WAL is when the restore starts (what a disaster loses).
    const lastArchived = new Date(await source.sql("SELECT last_archived_time FROM pg_stat_archiver"));
    lastArchivedWal = await source.sql("SELECT last_archived_wal FROM pg_stat_archiver");
    await source.stop();
    const restoreStarted = Date.now();
    const rpoSeconds = (restoreStarted - lastArchived.getTime()) / 1000;

    restored = new ScratchPostgres(join(root, "restored"), await freePort(), source.socketDir, env);
    ownedDir(restored.dataDir);
    await barman("barman-cloud-restore", [
      ...barmanCloudArgs(config, "restore", SERVER),
      "base-1",
      restored.dataDir,
    ]);
    step("barman-cloud-restore");
    const walRestore = [bin("barman-cloud-wal-restore"), ...barmanCloudArgs(config, "wal-restore", SERVER)];
    restored.configure({
      // The copy must not archive into the source's folder.
      archive_mode: "off",
      restore_command: [...walRestore.map(shellWord), "%f", "%p"].join(" "),
      recovery_target_time: targetTime,
      recovery_target_action: "promote",
    });
    restored.signal("recovery.signal");
    await restored.start();
    await waitPromoted(restored);
    const rtoSeconds = (Date.now() - restoreStarted) / 1000;
    step("WAL replayed to the target, promoted");

    expect(
      await restored.sql(
        "SELECT phase || ':' || count(*) || ':' || min(id) || '-' || max(id) FROM rows GROUP BY phase ORDER BY min(id)",
      ),
    ).toBe("before-backup:100:1-100\nafter-backup:50:101-150");
    expect(await restored.sql("SELECT count(*) || ':' || sum(length(data)) FROM blob")).toBe(
      `48:${48 * 32768 * 32}`,
    );

    console.log(
      `[barman] base backup ${backupSeconds.toFixed(1)} s; measured RPO ${rpoSeconds.toFixed(1)} s (newest archived WAL's age at restore start); measured RTO ${rtoSeconds.toFixed(1)} s (download, WAL replay to the target, promotion)`,
    );
  }, 600_000);

  it("wrote barman-cloud's layout under the environment's folder, in parts R2 accepts", async () => {
    const prefix = `${backups.prefix}/${SERVER}/`;
    const objects = await s3Keys(prefix);
    const base = objects.filter((o) => o.key.startsWith(`${prefix}base/`));
    const wals = objects.filter((o) => o.key.startsWith(`${prefix}wals/`));
    expect(base.some((o) => o.key.endsWith("/backup.info"))).toBe(true);
    expect(base.some((o) => /\/data\.tar\.gz$/.test(o.key))).toBe(true);
    expect(wals.length).toBeGreaterThanOrEqual(3);
    expect(
      wals.every(
        (o) => o.key.endsWith(".gz") || o.key.endsWith(".history.gz") || o.key.endsWith(".backup.gz"),
      ),
    ).toBe(true);
    // R2's rule for multipart uploads: non-trailing parts of one length, the last no longer. The
    // 48 MiB archive is larger than Barman's part size (2 x 100 GiB / 10,000 = 20 MiB), so it
    // went up in parts; a multipart ETag ends in -<parts>, and HEAD ?partNumber=n gives each size.
    const data = base.find((o) => o.key.endsWith("/data.tar.gz"));
    if (!data) throw new Error("no data.tar.gz");
    const parts = Number(/-(\d+)$/.exec(data.etag)?.[1] ?? "1");
    expect(parts).toBeGreaterThan(1);
    const sizes: number[] = [];
    for (let n = 1; n <= parts; n++) {
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: backups.bucket, Key: data.key, PartNumber: n }),
      );
      sizes.push(head.ContentLength ?? 0);
    }
    console.log(`[barman] data.tar.gz went up in ${parts} parts of ${sizes.join(", ")} bytes`);
    const [first = 0, ...rest] = sizes;
    expect(rest.slice(0, -1).every((size) => size === first)).toBe(true);
    expect(sizes.at(-1)).toBeLessThanOrEqual(first);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(data.size);
  });

  it("sent no checksum headers R2 refuses, and that is the environment's doing", async () => {
    const checksumHeaders = (r: Recorded) =>
      Object.keys(r.headers).filter(
        (h) => h.startsWith("x-amz-checksum-") || h === "x-amz-sdk-checksum-algorithm",
      );
    const uploads = requests.filter((r) => r.method === "PUT" || r.method === "POST");
    expect(uploads.length).toBeGreaterThan(5);
    expect(uploads.flatMap(checksumHeaders)).toEqual([]);

    // The same archive command without the two variables: this botocore adds checksums by default.
    const before = requests.length;
    const { AWS_REQUEST_CHECKSUM_CALCULATION: _a, AWS_RESPONSE_CHECKSUM_VALIDATION: _b, ...plainEnv } = env;
    expect(Object.keys(CHECKSUM_ENV)).toEqual([
      "AWS_REQUEST_CHECKSUM_CALCULATION",
      "AWS_RESPONSE_CHECKSUM_VALIDATION",
    ]);
    const probe = join(root, "probe");
    ownedDir(probe);
    const wal = join(probe, "000000010000000000000099");
    await runAsPostgres("/bin/sh", ["-c", `head -c 16777216 /dev/zero > ${shellWord(wal)}`]);
    await barman(
      "barman-cloud-wal-archive",
      [
        ...barmanCloudArgs(
          { ...config, destinationPath: `${config.destinationPath}-probe` },
          "wal-archive",
          SERVER,
        ),
        wal,
      ],
      plainEnv,
    );
    const probeUploads = requests.slice(before).filter((r) => r.method === "PUT");
    expect(probeUploads.flatMap(checksumHeaders).length).toBeGreaterThan(0);
  }, 120_000);

  it("plinth backup status reads those contents: the backup, the newest WAL (the RPO now), the size", async () => {
    const out = await cliIn(dir(), ["backup", "status", "bk", "--json"]);
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as { ok: boolean; databases: Record<string, unknown>[] };
    expect(report.ok).toBe(true);
    expect(report.databases).toHaveLength(1);
    const [db] = report.databases as {
      component: string;
      location: string;
      lastBackup: { name: string; ageSeconds: number };
      lastWal: { name: string; ageSeconds: number };
      backups: number;
      walFiles: number;
      storedBytes: number;
    }[];
    expect(db?.component).toBe("postgres");
    expect(db?.location).toBe(`s3://${backups.bucket}/barman-test/${run}/bk/postgres/`);
    expect(db?.lastBackup.name).toBe("base-1");
    expect(db?.backups).toBe(1);
    const stored = await s3Keys(`${backups.prefix}/${SERVER}/`);
    // The newest WAL in the store: PostgreSQL may archive one more segment while it shuts down,
    // after the test read pg_stat_archiver, so that reading is only the least it can be.
    const walNames = stored.flatMap(
      (o) => /\/wals\/[0-9A-F]{16}\/([0-9A-F]{24})\.gz$/.exec(o.key)?.[1] ?? [],
    );
    const newestStored = walNames.sort().at(-1) ?? "";
    expect(newestStored >= lastArchivedWal, `${newestStored} is older than ${lastArchivedWal}`).toBe(true);
    expect(db?.lastWal.name).toBe(newestStored);
    expect(db?.storedBytes).toBe(stored.reduce((n, o) => n + o.size, 0));
    expect(db?.walFiles).toBe(
      stored.filter((o) => /\/wals\/[0-9A-F]{16}\/[0-9A-F]{24}\.gz$/.test(o.key)).length,
    );
    const text = await cliIn(dir(), ["backup", "status", "bk"]);
    expect(text.stdout).toMatch(/^postgres\s+base-1\s+\S+( \S+)?\s+[0-9A-F]{24}\s+/m);
    console.log(`[barman] plinth backup status:\n${text.stdout}`);

    // plinth status shows the same check under the components (bk has nothing deployed: not ready).
    const status = await cliIn(dir(), ["status", "bk", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const whole = JSON.parse(status.stdout) as { backups: { component: string; ok: boolean }[] };
    expect(whole.backups.map((b) => [b.component, b.ok])).toEqual([["postgres", true]]);
  });

  it("fails the check when the newest base backup is older than the schedule allows, or missing", async () => {
    const env = resolve(
      exampleWith((raw) => {
        const b = backupsSettings({ schedule: "0 3 * * *" });
        raw.defaults = {
          ...raw.defaults,
          backups: { ...b, destination: { ...b.destination, path: `barman-test/${run}` } },
        };
      }),
      "staging",
    );
    const db = backedUpDatabases(env).find((d) => d.component === "postgres");
    if (!db) throw new Error("postgres is not backed up");
    const store = new BackupStore({
      endpoint: testbedEnv("S3_ENDPOINT"),
      bucket: backups.bucket,
      region: backups.region,
      prefix: backups.prefix,
      credentials: {
        accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
        secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
      },
      variables: { accessKeyId: "BACKUP_S3_KEY_ID", secretAccessKey: "BACKUP_S3_SECRET" },
    });
    const catalog = await store.read(SERVER);
    store.close();
    const finished = catalog.backups.at(-1)?.endTime?.getTime() ?? 0;
    // Daily at 03:00: 24 h between runs, plus a tenth of that (2.4 h) of grace.
    expect(judgeBackups(db, catalog, new Date(finished + 26.3 * 3_600_000)).ok).toBe(true);
    const late = judgeBackups(db, catalog, new Date(finished + 26.5 * 3_600_000));
    expect(late.ok).toBe(false);
    expect(late.problem).toContain('the schedule "0 3 * * *" allows 1d 2h');

    // A folder with nothing in it: exit 3 from the command, naming what is missing.
    const empty = await cliIn(projectWithConfig(statusConfig(`barman-test/${run}-empty`)), [
      "backup",
      "status",
      "bk",
    ]);
    expect(empty.code).toBe(3);
    expect(empty.stdout).toContain("postgres: no finished base backup");
    // Without the token's variables: exit 2 naming them, nothing read.
    const bare = await cliIn(dir(), ["backup", "status", "bk"], {});
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("BACKUP_S3_KEY_ID and BACKUP_S3_SECRET are not set");
    // A wrong secret: exit 2 naming the bucket and the variables to fix, not a stack trace.
    const denied = await cliIn(dir(), ["backup", "status", "bk"], {
      BACKUP_S3_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"),
      BACKUP_S3_SECRET: "not-the-secret",
    });
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain(`access to bucket ${backups.bucket}`);
    expect(denied.stderr).toContain("set BACKUP_S3_KEY_ID and BACKUP_S3_SECRET to a token");
  });
});

let statusDir: string | undefined;
const dir = () => {
  statusDir ??= projectWithConfig(statusConfig(`barman-test/${run}`));
  return statusDir;
};

/**
 * A config whose one environment (bk) backs up to the test's folder. Its cluster is the test bed's,
 * where nothing of bk is deployed: only `plinth status` reads it, and only to show it is not there.
 */
function statusConfig(path: string): string {
  const destination = {
    bucket: testbedEnv("S3_BUCKET"),
    endpoint: testbedEnv("S3_ENDPOINT"),
    region: testbedEnv("AWS_REGION"),
    path,
  };
  return `import { defineConfig, secret } from "plinth";
export default defineConfig({
  project: "acme",
  clusters: { bk: { type: "existing", kubeconfig: ${JSON.stringify(testbedEnv("KUBECONFIG"))} } },
  environments: {
    bk: {
      kind: "staging",
      cluster: "bk",
      baseDomain: "example.com",
      internalDomain: "example.org",
      acmeEmail: "ops@example.com",
      // PostgreSQL only: the dumps of the other databases are test/backups/dumps.test.ts's.
      features: { vault: false, observability: false, arangodb: false, clickhouse: false },
      components: { redis: { enabled: false } },
      backups: {
        schedule: "0 3 * * *",
        destination: { ...${JSON.stringify(destination)}, credentials: { accessKeyId: secret.env("BACKUP_S3_KEY_ID"), secretAccessKey: secret.env("BACKUP_S3_SECRET") } },
      },
    },
  },
});
`;
}

/** The real CLI in-process, with the backup token's variables (the test bed's S3 keys) unless given. */
async function cliIn(
  cwd: string,
  argv: string[],
  vars: Record<string, string> = {
    BACKUP_S3_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"),
    BACKUP_S3_SECRET: testbedEnv("AWS_SECRET_ACCESS_KEY"),
  },
): Promise<{ code: number; stdout: string; stderr: string }> {
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
