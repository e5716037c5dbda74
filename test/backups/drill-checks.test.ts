/**
 * A restore drill's checks for real, outside a cluster: a Debian PostgreSQL holding an application
 * database and a real OpenBao's storage (plinth's `storage "postgresql"` stanza, initialized and
 * unsealed by plinth's own lifecycle code, with the drill canary written by plinth) is backed up
 * with Barman's cloud commands and plinth's options to the test bed's S3 server, then restored
 * into a fresh data directory. Then:
 * - the counting Job's script (catalog/drill-checks.ts), run as it is with Debian's psql against
 *   both servers, and plinth's verdict on its output;
 * - a scratch OpenBao started with the same config against the restored database: plinth unseals
 *   it with the unseal file's keys and reads the canary, whose hash must be the one recorded.
 * In a cluster the script runs in a Job and the scratch Vault in a Pod (no kubelet on the test bed:
 * drill.test.ts proves the API server accepts them); TLS between them and PostgreSQL is not here
 * (the scratch servers have none: sslmode=disable instead of the cluster's require).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { judgeCounts, parseCounts } from "../../src/apply/drill-counts.js";
import { checkScratchVault, directVault, ensureDrillCanary } from "../../src/apply/drill-vault.js";
import { barmanCloudArgs, barmanConfiguration, barmanEnvironment } from "../../src/catalog/backups.js";
import { VAULT_TABLE } from "../../src/catalog/components/platform-postgres.js";
import { vaultConfig } from "../../src/catalog/components/vault.js";
import { COUNT_SCRIPT } from "../../src/catalog/drill-checks.js";
import { resolveBackups } from "../../src/model/backups.js";
import { resolve } from "../../src/model/resolve.js";
import { VaultClient } from "../../src/providers/vault/client.js";
import { ensureVaultReady } from "../../src/providers/vault/lifecycle.js";
import { readUnsealFile } from "../../src/providers/vault/unseal-file.js";
import { exampleWith } from "../helpers/config.js";
import { testbedEnv } from "../testbed/env.js";
import { type BaoServer, startBao } from "../vault/server.js";
import { barmanBin, runBarman, switchAndArchive } from "./barman-helpers.js";
import { backupsSettings } from "./config.js";
import { freePort, ownedDir, pgBin, ScratchPostgres, shellWord } from "./scratch-postgres.js";

const exec = promisify(execFile);
const run = `dc${process.pid}${randomBytes(2).toString("hex")}`;
const SERVER = "platform-postgres";
const PASSPHRASE = randomBytes(18).toString("base64url");

const env = {
  ...resolve(
    exampleWith(() => {}),
    "staging",
  ),
  vaultEngine: "openbao" as const,
  vaultUnseal: "shamir" as const,
};
/** plinth's server config, split: its storage stanza as it is, the rest (audit device) beside it. */
const config = vaultConfig(env);
const storageStanza = /storage "postgresql" \{[^}]*\}/.exec(config)?.[0] ?? "";
/** What follows the storage stanza: the audit device (and a seal, with OpenBao's static key). */
const auditStanza = storageStanza
  ? config.slice(config.indexOf(storageStanza) + storageStanza.length).trim()
  : "";

let root: string;
let source: ScratchPostgres;
let restored: ScratchPostgres;
let liveBao: BaoServer | undefined;
let scratchBao: BaoServer | undefined;
let s3: S3Client;
let bucket: string;
let prefix: string;
let unsealFile: string;
let canary = "";

/** The counting Job's script with Debian's psql, against the two servers' sockets, as `app`. */
async function countBoth(sourcePort: number, restorePort: number): Promise<string> {
  const { stdout } = await exec("/bin/sh", ["-c", COUNT_SCRIPT], {
    env: {
      PATH: `${pgBin()}:/usr/bin:/bin`,
      PGUSER: "app",
      PGPASSWORD: "unused-with-trust",
      PGDATABASE: "app",
      PGSSLMODE: "disable",
      PGCONNECT_TIMEOUT: "5",
      PLINTH_SOURCE_HOST: source.socketDir,
      PLINTH_SOURCE_PORT: String(sourcePort),
      PLINTH_RESTORE_HOST: restored.socketDir,
      PLINTH_RESTORE_PORT: String(restorePort),
    },
    timeout: 120_000,
  });
  return stdout;
}

/** Vault's connection to a scratch server over TCP, as `vault` (trust auth on loopback). */
const storageUrl = (db: ScratchPostgres) => `postgresql://vault@127.0.0.1:${db.port}/vault?sslmode=disable`;

describe("a restore drill's checks on a restored PostgreSQL", () => {
  beforeAll(async () => {
    if (!storageStanza || !auditStanza) throw new Error(`unexpected vault config:\n${config}`);
    const resolved = resolveBackups(
      "dc",
      backupsSettings({
        destination: {
          bucket: testbedEnv("S3_BUCKET"),
          endpoint: testbedEnv("S3_ENDPOINT"),
          region: testbedEnv("AWS_REGION"),
          path: `drill-test/${run}`,
          credentials: {
            accessKeyId: { fromEnv: "BACKUP_S3_KEY_ID" },
            secretAccessKey: { fromEnv: "BACKUP_S3_SECRET" },
          },
        },
      }),
    );
    if (!resolved.backups) throw new Error(resolved.diagnostics.map((d) => d.message).join("; "));
    const backups = resolved.backups;
    bucket = backups.bucket;
    prefix = `drill-test/${run}`;
    s3 = new S3Client({
      endpoint: testbedEnv("S3_ENDPOINT"),
      region: testbedEnv("AWS_REGION"),
      forcePathStyle: true,
      credentials: {
        accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
        secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
      },
    });
    const barmanConfig = barmanConfiguration(backups, {
      cluster: SERVER,
      namespace: "platform",
      component: "platform-postgres",
    });
    const barmanEnv = barmanEnvironment(backups, {
      accessKeyId: testbedEnv("AWS_ACCESS_KEY_ID"),
      secretAccessKey: testbedEnv("AWS_SECRET_ACCESS_KEY"),
    });

    root = ownedDir(mkdtempSync(join(tmpdir(), "plinth-drill-")));
    unsealFile = join(root, "vault", "dc.unseal.enc");
    const socketDir = ownedDir(join(root, "sock"));
    source = await ScratchPostgres.init(join(root, "source"), await freePort(), socketDir, barmanEnv);
    source.configure({
      wal_level: "replica",
      archive_mode: "on",
      archive_command: [
        barmanBin("barman-cloud-wal-archive"),
        ...barmanCloudArgs(barmanConfig, "wal-archive", SERVER),
        "%p",
      ]
        .map(shellWord)
        .join(" "),
    });
    await source.start({ listen: "127.0.0.1" });

    // The application database as CloudNativePG's initdb bootstrap leaves it: owned by its user.
    await source.sql("CREATE ROLE app LOGIN");
    await source.sql("CREATE DATABASE app OWNER app");
    const asApp = (sql: string) => sqlIn(source, "app", `SET ROLE app; ${sql}`);
    await asApp("CREATE TABLE orders (id int PRIMARY KEY, note text)");
    await asApp("INSERT INTO orders SELECT g, 'before' FROM generate_series(1, 100) g");
    await asApp(
      "CREATE SCHEMA billing; CREATE TABLE billing.invoices AS SELECT g AS id FROM generate_series(1, 7) g",
    );
    await asApp("CREATE TABLE filled_later (id int)");
    await asApp("CREATE UNLOGGED TABLE cache AS SELECT g AS id FROM generate_series(1, 10) g");
    // A table the owner may not read (made by the superuser, no grant): listed, not counted.
    await sqlIn(source, "app", "CREATE TABLE private_audit AS SELECT 1 AS id");

    // Vault's database as platform-postgres makes it, and a real OpenBao storing into it.
    await source.sql("CREATE ROLE vault LOGIN");
    await source.sql("CREATE DATABASE vault OWNER vault");
    for (const statement of VAULT_TABLE) await sqlIn(source, "vault", `SET ROLE vault; ${statement}`);
    liveBao = await startBao({
      storage: storageStanza,
      stanzas: auditStanza,
      env: { BAO_PG_CONNECTION_URL: storageUrl(source) },
    });
    const live = new VaultClient({ address: liveBao.address });
    const ready = await ensureVaultReady(live, { cluster: "dc", unsealFile, passphrase: PASSPHRASE });
    if (!ready.rootToken) throw new Error("plinth did not initialize the live OpenBao");
    const rootClient = live.withToken(ready.rootToken);
    await rootClient.call("POST", "sys/mounts/secret", { type: "kv", options: { version: "2" } });
    // A new KV v2 mount answers 400 ("Upgrading from non-versioned...") for a moment.
    for (let i = 0; !canary; i++) {
      canary = await ensureDrillCanary(rootClient).catch(async (e: Error) => {
        if (i > 100 || !e.message.includes("Upgrading")) throw e;
        await new Promise((r) => setTimeout(r, 300));
        return "";
      });
    }
    await liveBao.stop();
    liveBao = undefined;

    await switchAndArchive(source);
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
          "base-1",
        ],
        ...barmanCloudArgs(barmanConfig, "backup", SERVER),
      ],
      barmanEnv,
    );
    // Archived after the backup: in the restore, replayed from WAL.
    await asApp("INSERT INTO orders SELECT g, 'after-backup' FROM generate_series(101, 120) g");
    await switchAndArchive(source);
    // Never archived (no WAL switch before the restore): writes since the backup, as in a cluster.
    await asApp("INSERT INTO orders SELECT g, 'unarchived' FROM generate_series(121, 125) g");
    await asApp("INSERT INTO filled_later VALUES (1), (2)");
    await asApp("CREATE TABLE created_later (id int)");

    restored = new ScratchPostgres(join(root, "restored"), await freePort(), socketDir, barmanEnv);
    ownedDir(restored.dataDir);
    await runBarman(
      "barman-cloud-restore",
      [...barmanCloudArgs(barmanConfig, "restore", SERVER), "base-1", restored.dataDir],
      barmanEnv,
    );
    restored.configure({
      archive_mode: "off",
      restore_command: [
        barmanBin("barman-cloud-wal-restore"),
        ...barmanCloudArgs(barmanConfig, "wal-restore", SERVER),
      ]
        .map(shellWord)
        .concat(["%f", "%p"])
        .join(" "),
      recovery_target_action: "promote",
    });
    restored.signal("recovery.signal");
    await restored.start({ listen: "127.0.0.1" });
    const deadline = Date.now() + 180_000;
    while ((await restored.sql("SELECT pg_is_in_recovery()")) !== "f") {
      if (Date.now() > deadline) throw new Error(`the restore is still in recovery; see ${restored.log}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }, 600_000);

  afterAll(async () => {
    await scratchBao?.stop().catch(() => {});
    await liveBao?.stop().catch(() => {});
    await restored?.stop().catch(() => {});
    await source?.stop().catch(() => {});
    if (root) rmSync(root, { recursive: true, force: true });
    if (s3) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = page.NextContinuationToken;
      } while (token);
      for (let i = 0; i < keys.length; i += 1000) {
        await s3.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) },
          }),
        );
      }
    }
  });

  it("counts every table of every database on both sides and fails what the restore lost", async () => {
    const output = parseCounts(await countBoth(source.port, restored.port));
    expect(output.complete).toBe(true);
    const report = judgeCounts(output);
    const row = (t: string) => report.tables.find((r) => r.table === t);
    // Every database that takes connections, the owner's and the others (postgres, vault).
    expect([...new Set(output.restore.tables.map((t) => t.database))].sort()).toEqual(["app", "vault"]);
    expect(row("app/public.orders")).toEqual({
      table: "app/public.orders",
      source: 125,
      restore: 120,
      difference: -5,
      verdict: "ok",
      note: "written since the backup or the target time",
    });
    expect(row("app/billing.invoices")).toMatchObject({
      source: 7,
      restore: 7,
      difference: 0,
      verdict: "ok",
    });
    expect(row("app/public.cache")).toMatchObject({ source: 10, restore: 0, verdict: "ok" });
    expect(row("app/public.cache")?.note).toContain("unlogged");
    expect(row("app/public.private_audit")).toMatchObject({
      source: null,
      restore: null,
      verdict: "ok",
      note: "not readable by the owner: not counted",
    });
    expect(row("app/public.filled_later")).toMatchObject({
      source: 2,
      restore: 0,
      verdict: "FAILED",
      note: "empty in the restore",
    });
    expect(row("app/public.created_later")).toMatchObject({
      verdict: "FAILED",
      note: "missing from the restore",
    });
    // Vault's table is the vault role's: listed in both, not readable by app (in the cluster the
    // platform database's owner is vault, who counts it).
    expect(row("vault/public.vault_kv_store")).toMatchObject({ source: null, restore: null, verdict: "ok" });
    // OpenBao's data is in the restore (whichever kv_store table the server writes).
    const kv = output.restore.tables.filter((t) => t.database === "vault" && t.table.endsWith("kv_store"));
    let stored = 0;
    for (const t of kv)
      stored += Number(await sqlIn(restored, "vault", `SELECT count(*) FROM public.${t.table}`));
    expect(stored).toBeGreaterThan(0);
    expect(report.ok).toBe(false);

    // The same source once its late writes are gone: the restore passes, differences reported.
    await sqlIn(source, "app", "SET ROLE app; DROP TABLE created_later; TRUNCATE filled_later");
    const again = judgeCounts(parseCounts(await countBoth(source.port, restored.port)));
    expect(again.tables.filter((t) => t.verdict === "FAILED")).toEqual([]);
    expect(again.ok).toBe(true);
    console.log(`[drill] counts: ${JSON.stringify(again.tables)}`);
  }, 120_000);

  it("counts the restore alone when the source cannot be reached, and says so", async () => {
    const report = judgeCounts(parseCounts(await countBoth(await freePort(), restored.port)));
    expect(report.ok).toBe(true);
    expect(report.notes[0]).toMatch(/^the source was not reachable, restore counted alone: .*psql/);
    expect(report.tables.find((t) => t.table === "app/public.orders")).toEqual({
      table: "app/public.orders",
      restore: 120,
      verdict: "ok",
    });
    // And a restore that cannot be counted fails.
    const none = judgeCounts(parseCounts(await countBoth(source.port, await freePort())));
    expect(none.ok).toBe(false);
    expect(none.notes).toContainEqual(expect.stringMatching(/^the restore could not be counted: /));
  }, 60_000);

  it("a scratch OpenBao on the restored database unseals with the unseal file and reads the canary", async () => {
    scratchBao = await startBao({
      storage: storageStanza,
      stanzas: auditStanza,
      env: { BAO_PG_CONNECTION_URL: storageUrl(restored) },
    });
    const client = new VaultClient({ address: scratchBao.address });
    const material = await readUnsealFile(unsealFile, {
      passphrase: PASSPHRASE,
      cluster: "dc",
      address: client.address,
    });
    const started = Date.now();
    const result = await checkScratchVault(directVault(client), {
      keys: material.keys,
      tokens: [material.rootToken ?? ""],
      expectedHash: canary,
      timeoutMs: 60_000,
      pollMs: 200,
    });
    expect(result).toEqual({ started: true, unsealed: true, canary: "matched", ok: true });
    console.log(
      `[drill] scratch OpenBao unsealed and read the canary in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(canary).toMatch(/^sha256:[0-9a-f]{64}$/);

    // A canary that is not the recorded one fails; a wrong token cannot read it.
    const other = await checkScratchVault(directVault(client), {
      tokens: [material.rootToken ?? ""],
      expectedHash: `sha256:${"0".repeat(64)}`,
      timeoutMs: 10_000,
    });
    expect(other).toMatchObject({ ok: false, canary: "differs" });
    const denied = await checkScratchVault(directVault(client), {
      tokens: ["not-a-token"],
      expectedHash: canary,
      timeoutMs: 10_000,
    });
    expect(denied).toMatchObject({ ok: false, canary: "unreadable" });
    expect(JSON.stringify([result, other, denied])).not.toContain(material.rootToken ?? "-");
  }, 120_000);
});

/** psql as the superuser in a given database of a scratch server. */
async function sqlIn(db: ScratchPostgres, database: string, statement: string): Promise<string> {
  const { stdout } = await exec(join(pgBin(), "psql"), [
    ...["-h", db.socketDir, "-p", String(db.port), "-U", "postgres", "-d", database],
    ...["-v", "ON_ERROR_STOP=1", "-X", "-Atc", statement],
  ]);
  return stdout.trim();
}
