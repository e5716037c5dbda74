import { type BackedUpDatabase, backedUpDatabases } from "../../catalog/backup-targets.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { BackupStore } from "../../state/backup-catalog.js";
import { type BackupStatus, bytes, duration, judgeBackups } from "../../status/backups.js";
import { type CommandContext, defineCommand } from "../command.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";
import { table } from "../output.js";

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
  return out;
}

function storeOptions(env: ResolvedEnvironment, db: BackedUpDatabase, vars: CommandContext["env"]) {
  const b = db.backups;
  const missing = [b.accessKeyIdVariable, b.secretAccessKeyVariable].filter((v) => !vars[v]?.trim());
  if (missing.length) {
    throw new UserError(
      error(`${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set`, {
        path: `environments.${env.name}.backups.destination.credentials`,
        fix: `export ${missing.join(" and ")} (the backup bucket's token, as at apply) and run again`,
      }),
    );
  }
  return {
    endpoint: b.endpoint,
    bucket: b.bucket,
    region: b.region,
    prefix: b.prefix,
    credentials: {
      accessKeyId: vars[b.accessKeyIdVariable] as string,
      secretAccessKey: vars[b.secretAccessKeyVariable] as string,
    },
    variables: { accessKeyId: b.accessKeyIdVariable, secretAccessKey: b.secretAccessKeyVariable },
  };
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
      `${bytes(r.storedBytes)} (${r.backups} base, ${r.walFiles} WAL)`,
      r.ok ? "ok" : "FAILED",
    ]);
  }
  const details = rows.flatMap((r) => [
    `  ${r.component}: ${r.location}; a base backup may be ${duration(r.allowedAgeSeconds)} old`,
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
    const env = resolveChecked(loaded, name);
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
