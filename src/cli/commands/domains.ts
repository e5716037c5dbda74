import { hostAccess } from "../../catalog/gate.js";
import type { ServiceId } from "../../config/ids.js";
import { defineCommand } from "../command.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";
import { table } from "../output.js";

export const domains = defineCommand({
  name: "domains",
  summary: "Show the environment's host table (service id → host), gated or open and why",
  usage: "plinth domains <env> [--json [--access]] [--config PATH]",
  options: { json: { type: "boolean" }, access: { type: "boolean" } },
  positionals: ["env"],
  async handler(args, ctx) {
    const env = requireEnvArg(args, "domains");
    const resolved = resolveChecked(await loadFromArgs(args, ctx), env);
    const entries = Object.entries(resolved.hosts) as [
      ServiceId,
      NonNullable<(typeof resolved.hosts)[ServiceId]>,
    ][];
    const access = new Map(hostAccess(resolved).map((a) => [a.service, a]));
    if (args.values.json) {
      // `--json` alone keeps its long-standing shape (service id → host) for scripts.
      const out = args.values.access
        ? Object.fromEntries(
            entries.map(([id, e]) => {
              const a = access.get(id);
              return [id, { host: e.host, access: a?.access, reason: a?.reason, open: a?.open ?? [] }];
            }),
          )
        : Object.fromEntries(entries.map(([id, e]) => [id, e.host]));
      ctx.stdout(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    if (entries.length === 0) {
      ctx.stdout(`${env} has no hosts (${resolved.kind} environments are reached in-cluster only)\n`);
      return 0;
    }
    const rows = [
      ["SERVICE", "HOST", "DNS", "ACCESS", "WHY"],
      ...entries.map(([id, e]) => {
        const a = access.get(id);
        const open = a?.open.length ? ` (open: ${a.open.map((p) => p.path).join(", ")})` : "";
        return [
          id,
          e.host,
          resolved.publicHosts ? (e.proxied ? "proxied" : "dns-only") : "-",
          `${a?.access ?? "-"}${open}`,
          [a?.reason, ...(a?.open ?? []).map((p) => `${p.path}: ${p.reason}`)].filter(Boolean).join("; "),
        ];
      }),
    ];
    ctx.stdout(`${table(rows)}\n${resolved.zones.length ? `\nzones: ${resolved.zones.join(", ")}\n` : ""}`);
    return 0;
  },
});
