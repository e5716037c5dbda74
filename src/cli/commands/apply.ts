import { existsSync, readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { claimDifferences, removedIds } from "../../plan/claim.js";
import { composePlan, movedSincePlan } from "../../plan/compose.js";
import { checkSignature, notAPlan, type Plan, verifyHash } from "../../plan/plan.js";
import { isMember } from "../../providers/kubernetes/applyset.js";
import { parseIdentity } from "../../providers/kubernetes/identity.js";
import { type CommandContext, defineCommand, type ParsedArgs } from "../command.js";
import { confirm } from "../confirm.js";
import { planDnsChanges } from "../dns.js";
import { narrow, runPlan, withLock } from "../run-plan.js";
import { openSession, type Session } from "../session.js";
import { sessionVaultAccess } from "../vault-access.js";
import { bootstrapCluster } from "./bootstrap.js";
import { formatPlan, PLAN_KEY, planKey } from "./plan.js";

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

/**
 * Reads a saved plan: its shape, then what it is (an offline plan is no plan to apply, whatever
 * its hash), its hash, and its signature when PLINTH_PLAN_KEY is set. Nothing is contacted yet.
 */
function loadPlanFile(file: string, display: string, ctx: CommandContext): Plan {
  const remake = `make one with plinth plan <env> -o ${display}`;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(error(`is not a plan file: ${(e as Error).message}`, { path: display, fix: remake }));
  }
  const shape = notAPlan(value);
  if (shape) throw new UserError(error(`is not a plan file: ${shape}`, { path: display, fix: remake }));
  const plan = value as Plan;
  if (plan.offline) {
    throw new UserError(
      error("is an offline plan (against an empty cluster)", {
        path: display,
        fix: `make a live plan: plinth plan ${plan.env} -o ${display}`,
      }),
    );
  }
  if (!verifyHash(plan)) {
    throw new UserError(
      error("does not match its content hash (edited or damaged)", {
        path: display,
        fix: `make a new plan with plinth plan ${plan.env} -o ${display}`,
      }),
    );
  }
  const key = planKey(ctx);
  const signed = typeof plan.signature === "string";
  if (!key) {
    // Not a refusal: without a key the plan still has to be exactly what the config produces.
    ctx.stderr(
      `notice: ${display} is ${signed ? "signed, but" : "not signed and"} ${PLAN_KEY} is not set: its signature is not checked; it is checked against the config and the cluster\n`,
    );
    return plan;
  }
  const status = checkSignature(plan, key);
  if (status !== "valid") {
    throw new UserError(
      error(
        status === "unsigned"
          ? `is not signed, and ${PLAN_KEY} is set: only signed plans are applied`
          : `has a signature that does not match its content (edited after signing, or signed with another ${PLAN_KEY})`,
        {
          path: display,
          fix: `make the plan again with the same ${PLAN_KEY} set (plinth plan ${plan.env} -o ${display}) and review it; nothing was changed`,
        },
      ),
    );
  }
  return plan;
}

/** The session of the environment the plan names; a config that no longer has it says so. */
async function planSession(
  args: ParsedArgs,
  ctx: CommandContext,
  plan: Plan,
  display: string,
): Promise<Session> {
  try {
    return await openSession(args, ctx, plan.env);
  } catch (e) {
    const unknown =
      e instanceof UserError &&
      e.diagnostics.some((d) => d.path === "environments" && d.message.startsWith("unknown environment"));
    if (!unknown) throw e;
    throw new UserError([
      error(`was made for environment ${plan.env}, which the config does not have (renamed or removed?)`, {
        path: display,
        fix: "make a new plan for the environment as the config names it: plinth plan <env> -o plan.json",
      }),
      ...(e as UserError).diagnostics,
    ]);
  }
}

/**
 * Deletions and releases a saved plan holds, of objects that are not members of the environment's
 * ApplySet: plinth removes only what it owns. (One gone since the plan is movedSince's to report.)
 */
async function notOwned(plan: Plan, session: Session): Promise<string[]> {
  const out: string[] = [];
  for (const id of removedIds(plan)) {
    let ref: ReturnType<typeof parseIdentity>;
    try {
      ref = parseIdentity(id);
    } catch {
      out.push(`${id}: not an object identity`);
      continue;
    }
    const live = await session.kube.read(ref);
    if (live && !isMember(live, session.env.name)) {
      out.push(
        `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}: not a member of ${session.env.name}'s ApplySet; plinth deletes or releases only objects it owns`,
      );
    }
  }
  return out;
}

function notWhatConfigProduces(display: string, plan: Plan, differences: string[]): UserError {
  return new UserError(
    error(
      `is not what the config produces now (edited, or the config changed since it was made):\n  ${differences.join("\n  ")}`,
      {
        path: display,
        fix: `make a new plan from this config (plinth plan ${plan.env} -o ${display}) and review it; nothing was changed`,
      },
    ),
  );
}

export const apply = defineCommand({
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
      const plan = loadPlanFile(file, target, ctx);
      const session = await planSession(args, ctx, plan, target);
      // The file is a claim: every change in it must be what the config derives now.
      const differences = claimDifferences(plan, session.desired, {
        env: session.env.name,
        cluster: session.env.cluster.name,
      });
      if (differences.length > 0) throw notWhatConfigProduces(target, plan, differences);
      const vault = sessionVaultAccess(session, args, ctx);
      return withLock(session, `apply ${target}`, async () => {
        const foreign = await notOwned(plan, session);
        if (foreign.length > 0) throw notWhatConfigProduces(target, plan, foreign);
        const dns = plan.outside?.dns ? await planDnsChanges(session.env, ctx, "write") : undefined;
        const moved = await movedSincePlan(plan, session, {
          ...(vault ? { vault } : {}),
          ...(dns ? { dns } : {}),
        });
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
        const trust = await bootstrapCluster(session, args, ctx);
        return runPlan(narrow(plan, args), session, args, ctx, vault, trust);
      });
    }
    const session = await openSession(args, ctx, target);
    return withLock(session, `apply ${target}`, async () => {
      const trust = await bootstrapCluster(session, args, ctx);
      const vault = sessionVaultAccess(session, args, ctx);
      const plan = narrow(await composePlan(session, vault ? { vault } : {}), args);
      if (!args.values.json) ctx.stdout(formatPlan(plan));
      const pending = plan.summary.create + plan.summary.update + plan.summary.adopt + plan.summary.delete;
      const question = `Apply ${pending} changes to ${target}?`;
      if (pending > 0 && !(await confirm(ctx, args, question, "re-run with --yes to apply without asking"))) {
        ctx.stderr("apply cancelled; nothing changed\n");
        return 0;
      }
      return runPlan(plan, session, args, ctx, vault, trust);
    });
  },
});

export const destroy = defineCommand({
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
      const plan = await composePlan(session, {
        destroy: true,
        deleteData: Boolean(args.values["delete-data"]),
      });
      if (!args.values.json) ctx.stdout(formatPlan(plan));
      if (!(await confirm(ctx, args, `Destroy ${name}?`, "re-run with --yes to destroy without asking"))) {
        ctx.stderr("destroy cancelled; nothing changed\n");
        return 0;
      }
      return runPlan(plan, session, { ...args, values: { ...args.values, "no-wait": true } }, ctx);
    });
  },
});
