import { missedObjectives, runRestoreDrill } from "../../apply/drill.js";
import { DUMP_MARKER } from "../../catalog/backup-jobs.js";
import { type BackedUpDatabase, backedUpDatabases, backedUpDumps } from "../../catalog/backup-targets.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedBackups } from "../../model/backups.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { connect } from "../../providers/kubernetes/client.js";
import { BackupStore, backupStoreOptions } from "../../state/backup-catalog.js";
import { type BackupStatus, bytes, duration, judgeBackups, judgeDumps } from "../../status/backups.js";
import { type CommandContext, defineCommand, type ParsedArgs } from "../command.js";
import { checkLines, checkWords, drillChecks } from "../drill-checks.js";
import { duration as durationFlag } from "../flags.js";
import { loadFromArgs, requireEnvArg } from "../load.js";
import { table } from "../output.js";
import { withLock } from "../run-plan.js";
import { kubeTarget, openSession, runningEnvironment, type Session } from "../session.js";

const USAGE = "plinth backup status <env> [--json] [--config PATH]";

/** Exit code when a check fails (a backup late or missing): not a bug (1), not bad input (2). */
export const BACKUP_CHECK_FAILED = 3;

/**
 * Reads each backed-up database's folder in the bucket (what Barman wrote, not what the cluster
 * says it did) and judges it against the schedule. Needs no cluster: the bucket is the truth a
 * restore would start from.
 */
export async function gatherBackupStatus(
  env: ResolvedEnvironment,
  vars: CommandContext["env"],
  now: () => Date = () => new Date(),
): Promise<BackupStatus[]> {
  const databases = backedUpDatabases(env);
  const out: BackupStatus[] = [];
  for (const db of databases) {
    const store = new BackupStore(storeOptions(env, db, vars));
    try {
      out.push(judgeBackups(db, await store.read(db.server), now()));
    } finally {
      store.close();
    }
  }
  // The dump jobs' folders (ArangoDB, Redis, ClickHouse), judged against the same schedule.
  for (const t of backedUpDumps(env)) {
    const store = new BackupStore(storeOptions(env, t, vars));
    try {
      out.push(judgeDumps(t, await store.readDumps(t.name, DUMP_MARKER), now()));
    } finally {
      store.close();
    }
  }
  return out;
}

export function storeOptions(
  env: ResolvedEnvironment,
  db: { backups: ResolvedBackups },
  vars: CommandContext["env"],
) {
  const store = backupStoreOptions(db.backups, vars);
  if (store.missing) {
    const { missing } = store;
    throw new UserError(
      error(`${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set`, {
        path: `environments.${env.name}.backups.destination.credentials`,
        fix: `export ${missing.join(" and ")} (the backup bucket's token, as at apply) and run again`,
      }),
    );
  }
  return store.options;
}

export function formatBackupStatus(rows: BackupStatus[]): string {
  const lines = [["DATABASE", "LAST BASE BACKUP", "AGE", "LAST WAL (RPO NOW)", "AGE", "STORED", "CHECK"]];
  for (const r of rows) {
    lines.push([
      r.component,
      r.lastBackup ? (r.lastBackup.name ?? r.lastBackup.id) : "-",
      r.lastBackup ? duration(r.lastBackup.ageSeconds) : "-",
      r.lastWal?.name ?? "-",
      r.lastWal ? duration(r.lastWal.ageSeconds) : "-",
      r.dumpJob
        ? `${bytes(r.storedBytes)} (${r.backups} dumps)`
        : `${bytes(r.storedBytes)} (${r.backups} base, ${r.walFiles} WAL)`,
      r.ok ? "ok" : "FAILED",
    ]);
  }
  const details = rows.flatMap((r) => [
    `  ${r.component}: ${r.location}; ${r.dumpJob ? `a dump (CronJob ${r.dumpJob})` : "a base backup"} may be ${duration(r.allowedAgeSeconds)} old`,
    ...(r.problem ? [`  ${r.component}: ${r.problem}`] : []),
  ]);
  return `${table(lines)}\n\n${details.join("\n")}\n`;
}

export const backup = defineCommand({
  name: "backup",
  summary:
    "backup status <env>: per database, the age of the last base backup and archived WAL, read from the bucket",
  usage: USAGE,
  options: { json: { type: "boolean" } },
  positionals: ["action", "env"],
  async handler(args, ctx) {
    const [action, envName] = args.positionals;
    if (action !== "status") {
      throw new UserError(
        error(action ? `unknown action "${action}"` : "needs an action", {
          path: "plinth backup",
          fix: `usage: ${USAGE}`,
        }),
      );
    }
    const name = requireEnvArg(
      { ...args, command: "backup status", positionals: envName ? [envName] : [] },
      "backup status",
    );
    const loaded = await loadFromArgs(args, ctx);
    // As it runs: a restored database's backups are in its generation's own folder.
    const env = await runningEnvironment(loaded, name, ctx);
    if (!env.backups && backedUpDatabases(env).length === 0) {
      throw new UserError(
        error(`${env.name} has no backups`, {
          path: `environments.${env.name}.backups`,
          fix: "add backups: { schedule, destination } to defaults or this environment (README: Backups and restores)",
        }),
      );
    }
    const rows = await gatherBackupStatus(env, ctx.env);
    ctx.stdout(
      args.values.json
        ? `${JSON.stringify({ env: env.name, ok: rows.every((r) => r.ok), databases: rows }, null, 2)}\n`
        : formatBackupStatus(rows),
    );
    return rows.every((r) => r.ok) ? 0 : BACKUP_CHECK_FAILED;
  },
});

const DRILL_USAGE =
  "plinth restore-drill <env> [--target-time 2026-05-01T03:00:00Z] [--timeout 30m] [--json]";

/** An RFC 3339 time with its offset (what CloudNativePG's recoveryTarget.targetTime reads unambiguously). */
export function targetTime(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  const ok =
    typeof raw === "string" &&
    /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.test(raw) &&
    !Number.isNaN(Date.parse(raw.replace(" ", "T")));
  if (!ok) {
    throw new UserError(
      error(`is not a point in time with its offset: ${JSON.stringify(raw)}`, {
        path: "--target-time",
        fix: "write it as 2026-05-01T03:00:00Z (UTC) or 2026-05-01T05:00:00+02:00",
      }),
    );
  }
  return raw;
}

export const restoreDrill = defineCommand({
  name: "restore-drill",
  summary: "Restores each backed-up database into a separate Cluster next to it, times it, removes it",
  usage: DRILL_USAGE,
  options: { "target-time": { type: "string" }, timeout: { type: "string" }, json: { type: "boolean" } },
  positionals: ["env"],
  async handler(args, ctx) {
    const target = targetTime(args.values["target-time"]);
    const timeoutMs = durationFlag(args, "timeout") ?? 30 * 60_000;
    const session = await openSession(args, ctx, requireEnvArg(args, "restore-drill"));
    const env = session.env;
    const databases = backedUpDatabases(env);
    if (databases.length === 0) {
      throw new UserError(
        error(`${env.name} backs up no database to restore`, {
          path: `environments.${env.name}.backups`,
          fix: "add backups: { schedule, destination } (README: Backups and restores)",
        }),
      );
    }
    // Under the environment's lock, like apply: a drill must not race a restore or a destroy.
    return withLock(session, `restore-drill ${env.name}`, () =>
      drill(session, args, ctx, databases, target, timeoutMs),
    );
  },
});

async function drill(
  session: Session,
  args: ParsedArgs,
  ctx: CommandContext,
  databases: BackedUpDatabase[],
  target: string | undefined,
  timeoutMs: number,
): Promise<number> {
  const env = session.env;
  // The RPO of a drill of the latest backup: what the bucket holds when it starts.
  const before = target ? undefined : await gatherBackupStatus(env, ctx.env).catch(() => undefined);
  const previousOutputs = (await session.state.read(env.name))?.outputs;
  const checks = await drillChecks(
    session,
    ctx,
    databases,
    previousOutputs,
    Math.min(timeoutMs, 15 * 60_000),
  );
  const { api } = await connect(kubeTarget(session));
  const results = await runRestoreDrill({
    api,
    env,
    databases,
    ...(target ? { targetTime: target } : {}),
    timeoutMs,
    checks,
    onEvent: (text) => {
      if (!args.values.json) ctx.stderr(`${text}\n`);
    },
  });
  const at = new Date().toISOString();
  const rows = results.map((r) => {
    const rpoSeconds = before?.find((b) => b.component === r.component)?.lastWal?.ageSeconds;
    const db = databases.find((d) => d.component === r.component);
    // A point-in-time drill restores to a time chosen, not to the newest WAL: no RPO to judge.
    const missed = target ? [] : missedObjectives(r, rpoSeconds, db?.backups.objectives ?? {});
    return {
      ...r,
      ...(target ? { targetTime: target } : {}),
      rpoSeconds,
      ...(missed.length ? { missed } : {}),
    };
  });
  const previous = await session.state.read(env.name);
  await session.state.write({
    version: 1,
    env: env.name,
    owned: previous?.owned ?? [],
    applied: previous?.applied ?? [],
    outputs: {
      ...(previous?.outputs ?? {}),
      ...Object.fromEntries(
        rows.map((r) => [
          `restore-drill.${r.component}`,
          `${at} ${r.ready && !r.missed && !r.failure ? "ready" : "FAILED"} rto=${r.rtoSeconds ?? "-"}s rpo=${r.rpoSeconds ?? "-"}s rows=${checkWords(r).counts} vault=${checkWords(r).vault}${r.targetTime ? ` target=${r.targetTime}` : ""}`,
        ]),
      ),
    },
  });
  const ok = rows.every((r) => r.ready && r.removed && !r.missed && !r.failure);
  if (args.values.json) {
    ctx.stdout(`${JSON.stringify({ env: env.name, at, ok, databases: rows }, null, 2)}\n`);
  } else {
    const lines = [["DATABASE", "DRILL CLUSTER", "RESTORED", "RTO", "RPO", "ROWS", "VAULT", "REMOVED"]];
    for (const r of rows) {
      lines.push([
        r.component,
        r.object,
        r.ready ? "yes" : "no",
        r.rtoSeconds !== undefined ? duration(r.rtoSeconds) : "-",
        r.targetTime ? `to ${r.targetTime}` : r.rpoSeconds !== undefined ? duration(r.rpoSeconds) : "-",
        checkWords(r).counts,
        checkWords(r).vault,
        r.removed ? "yes" : "NO",
      ]);
    }
    const problems = rows.flatMap((r) => [
      ...(r.failure ? [`  ${r.component}: ${r.failure}`] : []),
      ...(r.missed ?? []).map((m) => `  ${r.component}: ${m}`),
      ...checkLines(r),
    ]);
    ctx.stdout(`${table(lines)}\n${problems.length ? `\n${problems.join("\n")}\n` : ""}`);
  }
  return ok ? 0 : BACKUP_CHECK_FAILED;
}
