import { writeFile } from "node:fs/promises";
import { resolve as resolvePath } from "node:path";
import { UserError } from "../../diagnostics/diagnostic.js";
import { buildGraph } from "../../graph/graph.js";
import { desiredComponents } from "../../plan/desired.js";
import { offlinePlan, type Plan } from "../../plan/plan.js";
import type { Command } from "../command.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";

const SYMBOL = { create: "+", update: "~", adopt: "=", delete: "-", "no-op": " " } as const;

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
        const name = ch.namespace ? `${ch.namespace}/${ch.name}` : ch.name;
        out.push(`      ${SYMBOL[ch.action]} ${ch.kind} ${name}${ch.detail ? `  (${ch.detail})` : ""}`);
      }
    }
    out.push("");
  }
  const s = plan.summary;
  out.push(
    `Plan: ${s.create} to create, ${s.update} to update, ${s.adopt} to adopt, ${s.delete} to delete (${s.secrets} secrets generated at apply; values never shown).`,
  );
  out.push(`Plan hash: sha256:${plan.hash}`);
  return `${out.join("\n")}\n`;
}

export const plan: Command = {
  name: "plan",
  summary: "Show what would be deployed, phase by phase (--offline: against an empty cluster)",
  usage: "plinth plan <env> --offline [--json] [-o plan.json] [--config PATH]",
  options: { offline: { type: "boolean" }, json: { type: "boolean" }, out: { type: "string", short: "o" } },
  positionals: ["env"],
  async handler(args, ctx) {
    const env = requireEnvArg(args, "plan");
    if (!args.values.offline) {
      throw new UserError({
        severity: "error",
        path: "plinth plan",
        message: "planning against a live cluster is not available in this version",
        fix: `add --offline to plan ${env} against an empty cluster`,
      });
    }
    const loaded = await loadFromArgs(args, ctx);
    const resolved = resolveChecked(loaded, env);
    const graph = buildGraph(resolved);
    const result = offlinePlan(resolved, graph, desiredComponents(resolved, graph));
    if (typeof args.values.out === "string") {
      await writeFile(resolvePath(ctx.cwd, args.values.out), `${JSON.stringify(result, null, 2)}\n`);
    }
    ctx.stdout(args.values.json ? `${JSON.stringify(result, null, 2)}\n` : formatPlan(result));
    return 0;
  },
};
