/**
 * `plinth data clone`'s data path for real, with what runs in the cluster replaced by the same
 * programs here: a source PostgreSQL (Debian's) archives its WAL and is backed up by Barman's cloud
 * commands with plinth's options to the test bed's S3; the latest backup is restored into a fresh
 * data directory (what CloudNativePG's recovery bootstrap does through the plugin); the owner's
 * password is reset to the target's (CloudNativePG's managed role does it: an ALTER ROLE issued
 * here as its stand-in, said below); then plinth's scrub script runs exactly as the scrub Job runs
 * it (psql with the Job's flags, logged in as the owner with the target's password).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { barmanCloudArgs, barmanConfiguration, barmanEnvironment } from "../../src/catalog/backups.js";
import { SCRUB_PSQL_ARGS, scrubScript } from "../../src/catalog/restore.js";
import { type ResolvedBackups, resolveBackups } from "../../src/model/backups.js";
import { testbedEnv } from "../testbed/env.js";
import { barmanBin, deleteKeys, runBarman, switchAndArchive, waitPromoted } from "./barman-helpers.js";
import { backupsSettings } from "./config.js";
import { freePort, ownedDir, pgBin, runAsPostgres, ScratchPostgres, shellWord } from "./scratch-postgres.js";

const run = `cl${process.pid}${randomBytes(2).toString("hex")}`;
const SERVER = "postgres";
const SOURCE_PASSWORD = randomBytes(12).toString("hex");
const TARGET_PASSWORD = randomBytes(12).toString("hex");
const VAULT_USER_PASSWORD = randomBytes(12).toString("hex");

let root: string;
let backups: ResolvedBackups;
let env: Record<string, string>;
let s3: S3Client;
let source: ScratchPostgres;
let copy: ScratchPostgres;

/** psql as a role with a password, over the socket (scram-sha-256 for everyone but postgres). */
async function psqlAs(db: ScratchPostgres, user: string, password: string, args: string[]) {
  return runAsPostgres(
    join(pgBin(), "psql"),
    ["-h", db.socketDir, "-p", String(db.port), "-U", user, "-d", "app", ...args],
    { PGPASSWORD: password },
  );
}

/** A query in the application database as the local superuser (as the operator connects). */
async function appSql(db: ScratchPostgres, statement: string): Promise<string> {
  const { stdout } = await runAsPostgres(join(pgBin(), "psql"), [
    ...["-h", db.socketDir, "-p", String(db.port), "-U", "postgres", "-d", "app"],
    ...["-v", "ON_ERROR_STOP=1", "-X", "-Atc", statement],
  ]);
  return stdout.trim();
}

/** Whether `user` can log in with `password` (and PostgreSQL's reason when not). */
async function login(db: ScratchPostgres, user: string, password: string): Promise<string> {
  try {
    await psqlAs(db, user, password, ["-X", "-Atc", "SELECT 1"]);
    return "ok";
  } catch (e) {
    const m = /FATAL: {2}(.*)/.exec((e as Error).message);
    return m?.[1] ?? (e as Error).message;
  }
}

describe("a clone's restore, password reset and scrub with Barman and PostgreSQL", () => {
  beforeAll(async () => {
    const resolved = resolveBackups(
      "src",
      backupsSettings({
        destination: {
          bucket: testbedEnv("S3_BUCKET"),
          endpoint: testbedEnv("S3_ENDPOINT"),
          region: testbedEnv("AWS_REGION"),
          path: `clone-test/${run}`,
          credentials: {
            accessKeyId: { fromEnv: "BACKUP_S3_KEY_ID" },
            secretAccessKey: { fromEnv: "BACKUP_S3_SECRET" },
          },
        },
      }),
    );
    if (!resolved.backups) throw new Error(resolved.diagnostics.map((d) => d.message).join("; "));
    backups = resolved.backups;
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
    root = ownedDir(mkdtempSync(join(tmpdir(), "plinth-clone-")));
    const socketDir = ownedDir(join(root, "sock"));
    source = await ScratchPostgres.init(join(root, "source"), await freePort(), socketDir, env);
    const config = barmanConfiguration(backups, {
      cluster: SERVER,
      namespace: "data",
      component: "postgres",
    });
    source.configure({
      wal_level: "replica",
      archive_mode: "on",
      archive_command: [
        barmanBin("barman-cloud-wal-archive"),
        ...barmanCloudArgs(config, "wal-archive", SERVER),
        "%p",
      ]
        .map(shellWord)
        .join(" "),
    });
    await source.start();
  }, 180_000);

  afterAll(async () => {
    await copy?.stop().catch(() => {});
    await source?.stop().catch(() => {});
    if (root) rmSync(root, { recursive: true, force: true });
    if (s3 && backups) await deleteKeys(s3, backups.bucket, `clone-test/${run}`);
  });

  it("restores the source's data with the target's owner password only, and the scrub runs before anything else connects", async () => {
    // The source as CloudNativePG and Vault leave it: the owner `app` (CREATEROLE), a user Vault's
    // database engine made, the application's tables with personal data and tokens.
    await source.sql(`CREATE ROLE app LOGIN CREATEROLE PASSWORD '${SOURCE_PASSWORD}'`);
    await source.sql("CREATE DATABASE app OWNER app");
    await psqlAs(source, "app", SOURCE_PASSWORD, [
      "-X",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      `CREATE ROLE "v-token-readwrite-1a2b" LOGIN PASSWORD '${VAULT_USER_PASSWORD}' VALID UNTIL 'infinity'`,
      "-c",
      "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL)",
      "-c",
      "INSERT INTO users SELECT g, 'person' || g || '@customer.example' FROM generate_series(1, 500) g",
      "-c",
      "CREATE TABLE api_tokens (user_id int, token text)",
      "-c",
      "INSERT INTO api_tokens SELECT g, md5(g::text) FROM generate_series(1, 500) g",
    ]);
    await switchAndArchive(source);
    const config = barmanConfiguration(backups, {
      cluster: SERVER,
      namespace: "data",
      component: "postgres",
    });
    const backupStarted = Date.now();
    await runBarman(
      "barman-cloud-backup",
      [
        ...[
          "--host",
          source.socketDir,
          "--port",
          String(source.port),
          "--user",
          "postgres",
          "--name",
          "clone-1",
        ],
        ...barmanCloudArgs(config, "backup", SERVER),
      ],
      env,
    );
    const backupSeconds = (Date.now() - backupStarted) / 1000;
    await source.sql("SELECT 1"); // the source keeps running; the clone takes what the bucket has
    await switchAndArchive(source);
    await source.stop();

    // The clone: the latest backup and all archived WAL into a fresh data directory.
    const started = Date.now();
    copy = new ScratchPostgres(join(root, "copy"), await freePort(), source.socketDir, env);
    ownedDir(copy.dataDir);
    await runBarman(
      "barman-cloud-restore",
      [...barmanCloudArgs(config, "restore", SERVER), "clone-1", copy.dataDir],
      env,
    );
    const walRestore = [
      barmanBin("barman-cloud-wal-restore"),
      ...barmanCloudArgs(config, "wal-restore", SERVER),
    ];
    copy.configure({
      archive_mode: "off",
      restore_command: [...walRestore.map(shellWord), "%f", "%p"].join(" "),
      recovery_target_action: "promote",
    });
    // As in CloudNativePG: passwords are checked for every role but the operator's local superuser.
    writeFileSync(
      join(copy.dataDir, "pg_hba.conf"),
      "local all postgres trust\nlocal all all scram-sha-256\n",
    );
    copy.signal("recovery.signal");
    await copy.start();
    await waitPromoted(copy);
    const restoredSeconds = (Date.now() - started) / 1000;

    // The source's credentials came with the data.
    expect(await login(copy, "app", SOURCE_PASSWORD)).toBe("ok");
    expect(await login(copy, "app", TARGET_PASSWORD)).toContain("password authentication failed");
    // Stand-in for CloudNativePG's managed role (passwordSecret = the target's owner Secret),
    // which the restored Cluster renders: the operator issues this ALTER ROLE as its superuser.
    await copy.sql(`ALTER ROLE app LOGIN PASSWORD '${TARGET_PASSWORD}'`);
    expect(await login(copy, "app", SOURCE_PASSWORD)).toContain("password authentication failed");
    expect(await login(copy, "app", TARGET_PASSWORD)).toBe("ok");

    const dir = ownedDir(join(root, "scrub"));
    const scrub = (statements: string[]) => {
      const file = join(dir, `scrub-${randomBytes(3).toString("hex")}.sql`);
      writeFileSync(file, scrubScript(statements, { source: "prod", target: "staging" }), { mode: 0o644 });
      return psqlAs(copy, "app", TARGET_PASSWORD, [...SCRUB_PSQL_ARGS, file]);
    };

    // A statement that fails: nothing of the script stays (one transaction), the clone would fail.
    await expect(
      scrub(["UPDATE users SET email = 'gone'", "UPDATE users SET no_such_column = 1"]),
    ).rejects.toThrow(/no_such_column/);
    expect(await appSql(copy, "SELECT count(*) FROM users WHERE email LIKE '%@customer.example'")).toBe(
      "500",
    );
    expect(await login(copy, "v-token-readwrite-1a2b", VAULT_USER_PASSWORD)).toBe("ok");

    const scrubStarted = Date.now();
    const out = await scrub([
      "UPDATE users SET email = 'user' || id || '@example.invalid'",
      "TRUNCATE api_tokens;",
    ]);
    const scrubSeconds = (Date.now() - scrubStarted) / 1000;
    expect(out.stdout).toContain("UPDATE 500");
    expect(await appSql(copy, "SELECT count(*) FROM users WHERE email LIKE '%@customer.example'")).toBe("0");
    expect(await appSql(copy, "SELECT email FROM users WHERE id = 7")).toBe("user7@example.invalid");
    expect(await appSql(copy, "SELECT count(*) FROM api_tokens")).toBe("0");
    // The source's other users cannot log in to the copy; the owner, with the target's password, can.
    expect(await login(copy, "v-token-readwrite-1a2b", VAULT_USER_PASSWORD)).toContain(
      "is not permitted to log in",
    );
    expect(await login(copy, "app", TARGET_PASSWORD)).toBe("ok");
    expect(await copy.sql("SELECT rolname FROM pg_roles WHERE rolcanlogin ORDER BY 1")).toBe("app\npostgres");

    console.log(
      `[clone] base backup ${backupSeconds.toFixed(1)} s; restore of the latest backup and WAL to promoted ${restoredSeconds.toFixed(1)} s; scrub of 500 rows ${scrubSeconds.toFixed(1)} s`,
    );
  }, 600_000);
});
