import { lockedRun, runRecorded } from "../apply/run.js";
import { UNSEAL_KEY_SECRET, vaultService } from "../catalog/components/vault.js";
import { error, formatDiagnostic, UserError } from "../diagnostics/diagnostic.js";
import type { Plan } from "../plan/plan.js";
import { connect } from "../providers/kubernetes/client.js";
import { KubeApiError } from "../providers/kubernetes/errors.js";
import type { CommandContext, ParsedArgs } from "./command.js";
import { duration, positiveInt } from "./flags.js";
import { progressSink } from "./progress.js";
import { copyRecoveryMaterial } from "./recovery-copy.js";
import { kubeTarget, type Session } from "./session.js";
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
    onWarning: (w) => ctx.stderr(`${formatDiagnostic(w)}\n`),
  });
  if (vault) await copyVaultRecovery(session, ctx, vault);
  return 0;
}

/**
 * After an apply with Vault: its unseal file (and OpenBao's static key) into the backup bucket
 * where the cluster has backups. The apply itself has succeeded, so a failure here is a warning
 * saying what was not copied, not a failed apply.
 */
async function copyVaultRecovery(session: Session, ctx: CommandContext, vault: VaultAccess): Promise<void> {
  const env = session.env;
  const isStatic = env.vaultEngine === "openbao" && env.vaultUnseal === "static";
  try {
    const lines = await copyRecoveryMaterial({
      env,
      unsealFile: vault.lifecycle.unsealFile,
      variables: ctx.env,
      address: vault.client.address,
      ...(vault.lifecycle.passphrase ? { passphrase: vault.lifecycle.passphrase } : {}),
      ...(isStatic ? { readStaticKey: () => readStaticSealKey(session) } : {}),
    });
    for (const line of lines) ctx.stderr(`backup: ${line}\n`);
  } catch (e) {
    ctx.stderr(
      `warning: Vault's recovery material was not copied to the backup bucket: ${e instanceof Error ? e.message : String(e)}\n`,
    );
  }
}

async function readStaticSealKey(session: Session): Promise<string | undefined> {
  const { api } = await connect(kubeTarget(session));
  try {
    const secret = (await api.read({
      apiVersion: "v1",
      kind: "Secret",
      name: UNSEAL_KEY_SECRET,
      namespace: vaultService(session.env).namespace,
    })) as { data?: Record<string, string> };
    const key = secret.data?.key;
    return key ? Buffer.from(key, "base64").toString("utf8") : undefined;
  } catch (e) {
    if (e instanceof KubeApiError && e.code === 404) return undefined;
    throw e;
  }
}
