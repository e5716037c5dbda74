import { writeFile } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { buildGraph } from "../../graph/graph.js";
import { desiredComponents } from "../../plan/desired.js";
import { offlinePlan, type Plan } from "../../plan/plan.js";
import type { Command } from "../command.js";
import { formatDns, planDnsChanges, withDns } from "../dns.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";
import { planFor } from "../run-plan.js";
import { openSession } from "../session.js";
import { sessionVaultAccess } from "../vault-access.js";

const SYMBOL = { create: "+", update: "~", adopt: "=", delete: "-", "no-op": " " } as const;

function show(v: unknown): string {
  if (v === undefined) return "(none)";
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export function formatPlan(plan: Plan): string {
  const out = [
    `Plan for ${plan.env} on cluster ${plan.cluster}${plan.offline ? " (offline: against an empty cluster)" : ""}`,
    "",
  ];
  for (const phase of plan.phases) {
    if (phase.components.length === 0) continue;
    out.push(`Phase ${phase.id}`);
    for (const c of phase.components) {
      const where =
        c.placement === "external"
          ? "external managed service, nothing to deploy"
          : `ns ${c.namespace}${c.placement === "cluster" ? ` on cluster ${c.cluster}` : ""}`;
      const deps = c.dependsOn.length ? `, after ${c.dependsOn.join(", ")}` : "";
      out.push(`  ${c.step} ${c.id} (${c.layer}, ${where}${deps})`);
      for (const ch of c.changes) {
        // Kept data, and a Vault that cannot be planned yet, are said even when nothing changes.
        const said = /^(kept|shared):/.test(ch.detail ?? "") || ch.kind === "VaultServer";
        if (ch.action === "no-op" && !plan.offline && !said) continue;
        const name = ch.namespace ? `${ch.namespace}/${ch.name}` : ch.name;
        const label = ch.action === "adopt" ? " (adopt: exists, not yet owned)" : "";
        out.push(
          `      ${SYMBOL[ch.action]} ${ch.kind} ${name}${label}${ch.detail ? `  (${ch.detail})` : ""}`,
        );
        for (const d of ch.diff ?? []) {
          if (ch.action === "create") break;
          out.push(`          ${d.path}: ${show(d.before)} → ${show(d.after)}`);
        }
      }
    }
    out.push("");
  }
  const s = plan.summary;
  out.push(
    `Plan: ${s.create} to create, ${s.update} to update, ${s.adopt} to adopt, ${s.delete} to delete (${s.secrets} secrets written at apply; values never shown).`,
  );
  out.push(`Plan hash: sha256:${plan.hash}`);
  return `${out.join("\n")}\n`;
}

export const plan: Command = {
  name: "plan",
  summary:
    "Show what apply would change on the live cluster, field by field (--offline: against an empty cluster)",
  usage:
    "plinth plan <env> [--offline] [--json] [-o plan.json] [--detailed-exitcode] [--vault-addr URL] [--config PATH]",
  options: {
    offline: { type: "boolean" },
    json: { type: "boolean" },
    out: { type: "string", short: "o" },
    "force-conflicts": { type: "boolean" },
    concurrency: { type: "string" },
    "detailed-exitcode": { type: "boolean" },
    "vault-addr": { type: "string" },
  },
  positionals: ["env"],
  async handler(args, ctx) {
    const env = requireEnvArg(args, "plan");
    let result: Plan;
    if (args.values.offline) {
      const resolved = resolveChecked(await loadFromArgs(args, ctx), env);
      const graph = buildGraph(resolved);
      result = offlinePlan(resolved, graph, desiredComponents(resolved, graph));
    } else {
      const session = await openSession(args, ctx, env);
      const vault = sessionVaultAccess(session, args, ctx);
      // DNS is planned beside the cluster (read access is enough) and saved with it.
      const planned = planDnsChanges(session.env, ctx, "read");
      planned.catch(() => {}); // awaited below
      result = await planFor(session, vault ? { vault } : {});
      const dns = await planned;
      if (dns) result = withDns(result, dns.changes);
    }
    if (typeof args.values.out === "string") {
      await writeFile(resolvePath(ctx.cwd, args.values.out), `${JSON.stringify(result, null, 2)}\n`);
    }
    ctx.stdout(args.values.json ? `${JSON.stringify(result, null, 2)}\n` : formatPlan(result));
    if (result.dns && !args.values.json) ctx.stdout(formatDns(result.dns));
    const s = result.summary;
    const dnsPending = result.dns?.filter((c) => c.action !== "no-op").length ?? 0;
    // Like kubectl diff and terraform plan -detailed-exitcode: 1 means there are changes.
    return args.values["detailed-exitcode"] && s.create + s.update + s.adopt + s.delete + dnsPending > 0
      ? 1
      : 0;
  },
};
