import type { ApiServerTrustWriter } from "../apply/api-server-trust.js";
import { lockedRun, runRecorded } from "../apply/run.js";
import { error, formatDiagnostic, UserError } from "../diagnostics/diagnostic.js";
import type { Plan } from "../plan/plan.js";
import type { CommandContext, ParsedArgs } from "./command.js";
import { duration, positiveInt } from "./flags.js";
import { progressSink } from "./progress.js";
import { copyVaultRecovery } from "./recovery-copy.js";
import type { Session } from "./session.js";
import type { VaultAccess } from "./vault-access.js";

export { lockedRun, ownedIds } from "../apply/run.js";

/** Narrows a plan to `--phase` and `--target` (a target keeps only that component's changes). */
export function narrow(plan: Plan, args: ParsedArgs): Plan {
  const phase = typeof args.values.phase === "string" ? args.values.phase : undefined;
  const target = typeof args.values.target === "string" ? args.values.target : undefined;
  if (phase && !plan.phases.some((p) => p.id === phase)) {
    throw new UserError(
      error(`is "${phase}"`, {
        path: "--phase",
        fix: `use one of ${plan.phases.map((p) => p.id).join(", ")}`,
      }),
    );
  }
  const all = plan.phases.flatMap((p) => p.components.map((c) => c.id));
  if (target && !all.includes(target as never)) {
    throw new UserError(
      error(`"${target}" is not a component of ${plan.env}`, {
        path: "--target",
        fix: `use one of ${all.join(", ")}`,
      }),
    );
  }
  if (!phase && !target) return plan;
  return {
    ...plan,
    partial: true,
    phases: plan.phases
      .filter((p) => !phase || p.id === phase)
      .map((p) => ({ ...p, components: p.components.filter((c) => !target || c.id === target) })),
  };
}

/** Holds the session's environment lock around `fn` (see lockedRun). */
export function withLock<T>(session: Session, operation: string, fn: () => Promise<T>): Promise<T> {
  return lockedRun(session.state, session.env.name, session.holder, operation, fn);
}

/** Runs the plan (under the caller's lock) with the command's flags, then records its outcome. */
export async function runPlan(
  plan: Plan,
  session: Session,
  args: ParsedArgs,
  ctx: CommandContext,
  vault?: VaultAccess,
  writeApiServerTrust?: ApiServerTrustWriter,
): Promise<number> {
  const timeout = duration(args, "timeout");
  const mode = args.values.json ? "json" : ctx.tty ? "tty" : "plain";
  await runRecorded(plan, session, {
    onEvent: progressSink(mode, mode === "json" ? ctx.stdout : ctx.stderr),
    concurrency: positiveInt(args, "concurrency", 4),
    noWait: Boolean(args.values["no-wait"]),
    skipHealthChecks: Boolean(args.values["no-health-checks"]),
    ...(timeout ? { maxWaitMs: timeout } : {}),
    ...(vault ? { vault } : {}),
    ...(writeApiServerTrust ? { writeApiServerTrust } : {}),
    onWarning: (w) => ctx.stderr(`${formatDiagnostic(w)}\n`),
  });
  if (vault) await copyVaultRecovery(session, ctx, vault);
  return 0;
}
