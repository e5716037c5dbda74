/**
 * Barman's cloud commands as CloudNativePG's plugin runs them, for the tests that back up and
 * restore a scratch PostgreSQL for real (barman.test.ts, drill-checks.test.ts): the test bed's
 * Barman venv, plinth's options, and waiting for PostgreSQL's archiver.
 */
import { join } from "node:path";
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
