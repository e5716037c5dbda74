/**
 * Barman's cloud commands as CloudNativePG's plugin runs them, for the tests that back up and
 * restore a scratch PostgreSQL for real (barman.test.ts, drill-checks.test.ts): the test bed's
 * Barman venv, plinth's options, and waiting for PostgreSQL's archiver.
 */
import { join } from "node:path";
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { testbedEnv } from "../testbed/env.js";
import { runAsPostgres, type ScratchPostgres } from "./scratch-postgres.js";

/** A barman-cloud-* command of the test bed's venv. */
export const barmanBin = (command: string): string => join(testbedEnv("BARMAN_BIN"), command);

/** barman-cloud-* as the plugin runs it: plinth's options, the credentials and checksum env. */
export const runBarman = (command: string, args: string[], env: Record<string, string>) =>
  runAsPostgres(barmanBin(command), args, env);

export async function waitArchived(db: ScratchPostgres, wal: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const last = await db.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
    if (last >= wal) return;
    const failed = await db.sql("SELECT coalesce(last_failed_wal, '') FROM pg_stat_archiver");
    if (failed >= wal) throw new Error(`archiving ${wal} failed; see ${db.log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`WAL ${wal} not archived within 60 s; see ${db.log}`);
}

/** Ends the current WAL segment and waits until barman-cloud-wal-archive has stored it. */
export async function switchAndArchive(db: ScratchPostgres): Promise<void> {
  const wal = await db.sql("SELECT pg_walfile_name(pg_switch_wal())");
  await waitArchived(db, wal);
}

export interface StoredKey {
  key: string;
  size: number;
  etag: string;
}

/** Every object under `prefix`, across pages. */
export async function s3Keys(s3: S3Client, bucket: string, prefix: string): Promise<StoredKey[]> {
  const out: StoredKey[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? [])
      out.push({ key: o.Key ?? "", size: o.Size ?? 0, etag: (o.ETag ?? "").replace(/"/g, "") });
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** Removes a test's objects (Barman's backups are large) from the shared bucket. */
export async function deleteKeys(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  const keys = await s3Keys(s3, bucket, prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(i, i + 1000).map((k) => ({ Key: k.key })) },
      }),
    );
  }
}

/** Waits until a restored server has finished recovery and been promoted. */
export async function waitPromoted(db: ScratchPostgres, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await db.sql("SELECT pg_is_in_recovery()")) !== "f") {
    if (Date.now() > deadline) throw new Error(`the restored cluster is still in recovery; see ${db.log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
