import { statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, resolve as resolvePath } from "node:path";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { buildGraph } from "../../graph/graph.js";
import { desiredComponents } from "../../plan/desired.js";
import { ownerLine } from "../../plan/owners.js";
import { offlinePlan, type Plan, signPlan } from "../../plan/plan.js";
import { type CommandContext, defineCommand } from "../command.js";
import { formatDns } from "../dns.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "../load.js";
import { symbolOf } from "../output.js";

/** The variable holding the key saved plans are signed with for hand-over between machines. */
export const PLAN_KEY = "PLINTH_PLAN_KEY";

/**
 * The plan-signing key from the environment (read here, in the CLI, and passed down), or
 * undefined when unset. Never echoed: errors name the variable, not its value.
 */
export function planKey(ctx: CommandContext): string | undefined {
  const key = ctx.env[PLAN_KEY];
  if (key === undefined || key === "") return undefined;
  // An HMAC is as strong as its key: a short one could be guessed offline from any signed plan.
  if (key.trim().length < 32) {
    throw new UserError(
      error("is too short to sign plans with (at least 32 characters)", {
        path: PLAN_KEY,
        fix: "generate one with openssl rand -hex 32 and set it in both the plan and the apply job",
      }),
    );
  }
  return key;
}

/** Where `-o` writes: a file in a folder that exists. Checked before anything is planned. */
function outFile(ctx: CommandContext, out: string): string {
  const file = resolvePath(ctx.cwd, out);
  const folder = statSync(dirname(file), { throwIfNoEntry: false });
  if (!folder?.isDirectory()) {
    throw new UserError(
      error(`the folder ${dirname(out) || "."} does not exist`, {
        path: `-o ${out}`,
        fix: `create it first (mkdir -p ${dirname(out)}) or write the plan elsewhere`,
      }),
    );
  }
  if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserError(
      error("is a folder, not a file", {
        path: `-o ${out}`,
        fix: `name a file, e.g. -o ${out.replace(/\/+$/, "")}/plan.json`,
      }),
    );
  }
  return file;
}

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
          `      ${symbolOf(ch.action)} ${ch.kind} ${name}${label}${ch.detail ? `  (${ch.detail})` : ""}`,
        );
        for (const d of ch.diff ?? []) {
          if (ch.action === "create") break;
          out.push(`          ${d.path}: ${show(d.before)} → ${show(d.after)}`);
        }
      }
      const owner = c.owner && ownerLine(c.owner);
      if (owner) out.push(`      * ${owner}`);
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

export const plan = defineCommand({
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
    const out = typeof args.values.out === "string" ? outFile(ctx, args.values.out) : undefined;
    const key = out ? planKey(ctx) : undefined;
    let result: Plan;
    if (args.values.offline) {
      const resolved = resolveChecked(await loadFromArgs(args, ctx), env);
      const graph = buildGraph(resolved);
      result = offlinePlan(resolved, graph, desiredComponents(resolved, graph));
    } else {
      result = await (await import("../plan-live.js")).livePlan(args, ctx, env);
    }
    // Signed for hand-over: apply on another machine with the same key refuses any edit.
    if (key) result = signPlan(result, key);
    if (out) {
      try {
        await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
      } catch (e) {
        throw new UserError(
          error(`cannot be written: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
            path: `-o ${String(args.values.out)}`,
            fix: "write the plan to a file in a folder you can write to",
          }),
        );
      }
    }
    ctx.stdout(args.values.json ? `${JSON.stringify(result, null, 2)}\n` : formatPlan(result));
    const dns = result.outside?.dns;
    if (dns && !args.values.json) ctx.stdout(formatDns(dns));
    const s = result.summary;
    const dnsPending = dns?.filter((c) => c.action !== "no-op").length ?? 0;
    // Like kubectl diff and terraform plan -detailed-exitcode: 1 means there are changes.
    return args.values["detailed-exitcode"] && s.create + s.update + s.adopt + s.delete + dnsPending > 0
      ? 1
      : 0;
  },
});
