import type { ServiceId } from "../../config/ids.js";
import { defineCommand } from "../command.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";
import { table } from "../output.js";

export const domains = defineCommand({
  name: "domains",
  summary: "Show the environment's host table (service id → host)",
  usage: "plinth domains <env> [--json] [--config PATH]",
  options: { json: { type: "boolean" } },
  positionals: ["env"],
  async handler(args, ctx) {
    const env = requireEnvArg(args, "domains");
    const resolved = resolveChecked(await loadFromArgs(args, ctx), env);
    const entries = Object.entries(resolved.hosts) as [
      ServiceId,
      NonNullable<(typeof resolved.hosts)[ServiceId]>,
    ][];
    if (args.values.json) {
      ctx.stdout(`${JSON.stringify(Object.fromEntries(entries.map(([id, e]) => [id, e.host])), null, 2)}\n`);
      return 0;
    }
    if (entries.length === 0) {
      ctx.stdout(`${env} has no hosts (${resolved.kind} environments are reached in-cluster only)\n`);
      return 0;
    }
    const rows = [
      ["SERVICE", "HOST", "DNS"],
      ...entries.map(([id, e]) => [
        id,
        e.host,
        resolved.publicHosts ? (e.proxied ? "proxied" : "dns-only") : "-",
      ]),
    ];
    ctx.stdout(`${table(rows)}\n${resolved.zones.length ? `\nzones: ${resolved.zones.join(", ")}\n` : ""}`);
    return 0;
  },
});
