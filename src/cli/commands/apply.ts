import { existsSync, readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { changesMoved, type Plan, verifyHash } from "../../plan/plan.js";
import type { Command, CommandContext, ParsedArgs } from "../command.js";
import { dnsChange, planDnsChanges } from "../dns.js";
import { movedSince, narrow, planFor, runPlan, withLock } from "../run-plan.js";
import { openSession } from "../session.js";
import { sessionVaultAccess } from "../vault-access.js";
import { vaultMovedSince } from "../vault-step.js";
import { bootstrapCluster } from "./bootstrap.js";
import { formatPlan } from "./plan.js";

export const LIVE_OPTIONS = {
  json: { type: "boolean" },
  yes: { type: "boolean", short: "y" },
  "force-conflicts": { type: "boolean" },
  concurrency: { type: "string" },
  phase: { type: "string" },
  target: { type: "string" },
  "no-wait": { type: "boolean" },
  "no-health-checks": { type: "boolean" },
  timeout: { type: "string" },
  "vault-addr": { type: "string" },
} as const;

async function confirm(
  ctx: CommandContext,
  args: ParsedArgs,
  question: string,
  fix: string,
): Promise<boolean> {
  if (args.values.yes) return true;
  if (!ctx.tty || !ctx.prompt) {
    throw new UserError(error("needs confirmation, and there is no terminal to ask", { path: "--yes", fix }));
  }
  return (await ctx.prompt(`${question} [y/N] `)).trim().toLowerCase().startsWith("y");
}

function loadPlanFile(file: string, display: string): Plan {
  let plan: Plan;
  try {
    plan = JSON.parse(readFileSync(file, "utf8")) as Plan;
  } catch (e) {
    throw new UserError(
      error(`is not a plan file: ${(e as Error).message}`, {
        path: display,
        fix: "make one with plinth plan <env> -o plan.json",
      }),
    );
  }
  if (!plan.hash || !verifyHash(plan)) {
    throw new UserError(
      error("does not match its content hash (edited or damaged)", {
        path: display,
        fix: "make a new plan with plinth plan <env> -o plan.json",
      }),
    );
  }
  if (plan.offline) {
    throw new UserError(
      error("is an offline plan (against an empty cluster)", {
        path: display,
        fix: "make a live plan: plinth plan <env> -o plan.json",
      }),
    );
  }
  return plan;
}

export const apply: Command = {
  name: "apply",
  summary: "Converge an environment (plans, asks, applies) or apply exactly a saved plan",
  usage:
    "plinth apply <env | plan.json> [--yes] [--force-conflicts] [--concurrency N] [--phase ID] [--target COMPONENT] [--no-wait | --no-health-checks] [--timeout 10m] [--json]",
  options: LIVE_OPTIONS,
  positionals: ["env or plan.json"],
  async handler(args, ctx) {
    const target = args.positionals[0];
    if (!target) {
      throw new UserError(
        error("needs an environment or a plan file", {
          path: "plinth apply",
          fix: "run plinth apply staging, or plinth apply plan.json",
        }),
      );
    }
    const file = resolvePath(ctx.cwd, target);
    if (target.endsWith(".json") || (existsSync(file) && !/^[a-z0-9-]+$/.test(target))) {
      if (!existsSync(file))
        throw new UserError(
          error("does not exist", { path: target, fix: "check the path of the saved plan" }),
        );
      const plan = loadPlanFile(file, target);
      const session = await openSession(args, ctx, plan.env);
      const vault = sessionVaultAccess(session, args, ctx);
      return withLock(session, `apply ${target}`, async () => {
        const dns = plan.dns ? await planDnsChanges(session.env, ctx, "write") : undefined;
        const moved = [
          ...(await movedSince(plan, session)),
          ...(vault ? await vaultMovedSince(plan, session, vault) : []),
          ...(plan.dns ? changesMoved(plan.dns, (dns?.changes ?? []).map(dnsChange)) : []),
        ];
        if (moved.length > 0) {
          throw new UserError(
            error(
              `no longer matches what it was planned against (the cluster, Vault, DNS):\n  ${moved.join("\n  ")}`,
              {
                path: target,
                fix: `make a new plan (plinth plan ${plan.env} -o ${target}) and review it`,
              },
            ),
          );
        }
        // k3s and DNS as apply <env> converges them (DNS: the plan's records, checked just above).
        await bootstrapCluster(session, args, ctx);
        return runPlan(narrow(plan, args), session, args, ctx, vault);
      });
    }
    const session = await openSession(args, ctx, target);
    return withLock(session, `apply ${target}`, async () => {
      await bootstrapCluster(session, args, ctx);
      const vault = sessionVaultAccess(session, args, ctx);
      const plan = narrow(await planFor(session, vault ? { vault } : {}), args);
      if (!args.values.json) ctx.stdout(formatPlan(plan));
      const pending = plan.summary.create + plan.summary.update + plan.summary.adopt + plan.summary.delete;
      const question = `Apply ${pending} changes to ${target}?`;
      if (pending > 0 && !(await confirm(ctx, args, question, "re-run with --yes to apply without asking"))) {
        ctx.stderr("apply cancelled; nothing changed\n");
        return 0;
      }
      return runPlan(plan, session, args, ctx, vault);
    });
  },
};

export const destroy: Command = {
  name: "destroy",
  summary:
    "Remove everything plinth owns in an environment, in reverse phase order (data kept unless --delete-data)",
  usage: "plinth destroy <env> [--delete-data] [--confirm <env>] [--yes] [--json]",
  options: { ...LIVE_OPTIONS, "delete-data": { type: "boolean" }, confirm: { type: "string" } },
  positionals: ["env"],
  async handler(args, ctx) {
    const session = await openSession(args, ctx);
    const name = session.env.name;
    if (session.env.kind === "prod" && args.values.confirm !== name) {
      throw new UserError(
        error(`${name} is a production environment`, {
          path: "--confirm",
          fix: `re-run with --confirm ${name} if you really mean to destroy it`,
        }),
      );
    }
    return withLock(session, `destroy ${name}`, async () => {
      const plan = await planFor(session, { destroy: true, deleteData: Boolean(args.values["delete-data"]) });
      if (!args.values.json) ctx.stdout(formatPlan(plan));
      if (!(await confirm(ctx, args, `Destroy ${name}?`, "re-run with --yes to destroy without asking"))) {
        ctx.stderr("destroy cancelled; nothing changed\n");
        return 0;
      }
      return runPlan(plan, session, { ...args, values: { ...args.values, "no-wait": true } }, ctx);
    });
  },
};
