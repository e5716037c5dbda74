import { backedUpDatabases } from "../../catalog/backup-targets.js";
import { UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { type ComponentStatus, gatherStatus } from "../../status/status.js";
import { type CommandContext, defineCommand } from "../command.js";
import { requireEnvArg } from "../load.js";
import { table } from "../output.js";
import { openSession } from "../session.js";
import { formatBackupStatus, gatherBackupStatus } from "./backup.js";

function format(rows: ComponentStatus[]): string {
  const lines = [["COMPONENT", "PHASE", "READY", "VERSION", "HEALTH"]];
  for (const r of rows) {
    const health = r.health.length ? `${r.health.filter((h) => h.ok).length}/${r.health.length} ok` : "-";
    lines.push([
      r.id,
      r.phase,
      r.ready ? "yes" : "no",
      r.version.deployed ?? r.version.desired ?? "-",
      health,
    ]);
  }
  const details = rows.flatMap((r) => [
    ...r.waiting.map((w) => `  ${r.id}: waiting: ${w}`),
    ...r.health.filter((h) => !h.ok).map((h) => `  ${r.id}: ${h.check}: ${h.detail}`),
    ...r.hosts.map((h) => `  ${r.id}: ${h.host} → ${h.dns}; certificate ${h.certificate}`),
  ]);
  return `${table(lines)}\n${details.length ? `\n${details.join("\n")}\n` : ""}`;
}

/**
 * The backups' check (README "Backups and restores"), read from the bucket as `plinth backup
 * status` reads it. Without the token's variables it says so rather than failing the status.
 */
async function backupsSection(
  env: ResolvedEnvironment,
  ctx: CommandContext,
): Promise<{ text: string; json: unknown } | undefined> {
  if (backedUpDatabases(env).length === 0) return undefined;
  try {
    const rows = await gatherBackupStatus(env, ctx.env);
    return { text: formatBackupStatus(rows), json: rows };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { text: `backups: not read: ${e.message}\n`, json: { error: e.message } };
  }
}

export const status = defineCommand({
  name: "status",
  summary:
    "Per component: deployed version, readiness, health checks, hosts with their DNS answer and certificate expiry",
  usage: "plinth status <env> [--json] [--config PATH]",
  options: { json: { type: "boolean" } },
  positionals: ["env"],
  async handler(args, ctx) {
    const session = await openSession(args, ctx, requireEnvArg(args, "status"));
    const rows = await gatherStatus(session.env, session.graph, session.desired, session.kube);
    const backups = await backupsSection(session.env, ctx);
    ctx.stdout(
      args.values.json
        ? `${JSON.stringify({ env: session.env.name, components: rows, ...(backups ? { backups: backups.json } : {}) }, null, 2)}\n`
        : `${format(rows)}${backups ? `\n${backups.text}` : ""}`,
    );
    return 0;
  },
});
