import { type ComponentStatus, gatherStatus } from "../../status/status.js";
import { defineCommand } from "../command.js";
import { requireEnvArg } from "../load.js";
import { table } from "../output.js";
import { openSession } from "../session.js";

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
    ctx.stdout(
      args.values.json
        ? `${JSON.stringify({ env: session.env.name, components: rows }, null, 2)}\n`
        : format(rows),
    );
    return 0;
  },
});
