import { AsyncLocalStorage } from "node:async_hooks";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { PlanTarget } from "../plan/compose.js";
import type { Plan } from "../plan/plan.js";
import { listMembers } from "../providers/kubernetes/applyset-parent.js";
import { identityOf } from "../providers/kubernetes/identity.js";
import type { VaultAccess } from "../providers/vault/access.js";
import {
  assertNotReserved,
  type HeldLock,
  type HoldOptions,
  holdLock,
  type StateBackend,
} from "../state/index.js";
import { withLaterFailure } from "../state/later-failure.js";
import type { ApiServerTrustWriter } from "./api-server-trust.js";
import { CANARY_OUTPUT } from "./drill-vault.js";
import type { EventSink } from "./events.js";
import { execute } from "./executor.js";
import { vaultAfterReady } from "./vault.js";

/** An environment to apply to: what planning needs, plus where its state lives and who runs. */
export interface RunTarget extends PlanTarget {
  state: StateBackend;
  holder: string;
}

export interface RunOptions {
  onEvent: EventSink;
  concurrency?: number;
  noWait?: boolean;
  skipHealthChecks?: boolean;
  maxWaitMs?: number;
  /** The environment's Vault: configured once the vault component is ready. */
  vault?: VaultAccess;
  /** k3s-vps: writes the API server's AuthenticationConfiguration (`provider: "vault"`, after Vault's step). */
  writeApiServerTrust?: ApiServerTrustWriter;
  /** State's warnings (a host name shaped like a token), for the caller to show. */
  onWarning?: (w: Diagnostic) => void;
}

/**
 * The lock the current run holds, for runPlan to stop between components once it is lost. Context
 * rather than a parameter: every command's run under lockedRun gets it, however it reaches runPlan.
 */
const heldLock = new AsyncLocalStorage<HeldLock>();

/**
 * The one way `apply`, `destroy` and `bootstrap` hold an environment's lock: taken before
 * planning (and refused while a pull request other than the run's holds the environment), so a
 * second run stops at once naming the holder and nothing another run does can slip
 * between plan and apply; renewed while `fn` runs (its `signal` aborts if the lock is lost);
 * released after, without a failed release hiding `fn`'s own error.
 */
export async function lockedRun<T>(
  state: StateBackend,
  env: string,
  holder: string,
  operation: string,
  fn: (held: HeldLock) => Promise<T>,
  options?: HoldOptions,
): Promise<T> {
  const held = await holdLock(state, env, holder, operation, options);
  let result: T;
  try {
    // Under the lock, so a pull request cannot reserve the environment between check and run.
    await assertNotReserved(state, env, holder);
    result = await heldLock.run(held, () => fn(held));
  } catch (e) {
    throw await held.release().then(
      () => e,
      (later: unknown) => withLaterFailure(e, later, `releasing the lock of ${env}`),
    );
  }
  await held.release();
  return result;
}

/**
 * Runs the plan (under the caller's lock, whose loss stops it between components), then records
 * its outcome and what the environment owns in state.
 */
export async function runRecorded(
  plan: Plan,
  session: RunTarget,
  o: RunOptions,
): Promise<{ changes: number }> {
  const startedAt = new Date().toISOString();
  let outcome: "applied" | "failed" = "failed";
  let changes = 0;
  const signal = heldLock.getStore()?.signal;
  /** The restore drill's canary hash, when Vault was converged (apply/drill-vault.ts). */
  let canary: string | undefined;
  // The outcome is recorded whether the run worked or not; a failed record never replaces the
  // run's own error, and is the error when the run worked.
  const record = async (): Promise<void> => {
    const previous = await session.state.read(session.env.name);
    const warnings = await session.state.write({
      version: 1,
      env: session.env.name,
      owned: await ownedIds(session),
      applied: [
        ...(previous?.applied ?? []),
        {
          hash: plan.hash,
          who: session.holder,
          startedAt,
          finishedAt: new Date().toISOString(),
          outcome,
          changes,
        },
      ].slice(-50),
      outputs: {
        ...(previous?.outputs ?? {}),
        ...hostsOutput(session),
        ...(canary ? { [CANARY_OUTPUT]: canary } : {}),
      },
    });
    for (const w of warnings) o.onWarning?.(w);
  };
  try {
    const result = await execute(plan, {
      desired: session.desired,
      kube: session.kube,
      ctx: session.pctx,
      env: session.env,
      onEvent: o.onEvent,
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.noWait ? { noWait: true } : {}),
      ...(o.skipHealthChecks ? { skipHealthChecks: true } : {}),
      ...(o.maxWaitMs ? { maxWaitMs: o.maxWaitMs } : {}),
      ...(o.vault
        ? {
            afterReady: {
              vault: vaultAfterReady(
                session,
                o.vault,
                o.maxWaitMs,
                (hash) => {
                  canary = hash;
                },
                o.writeApiServerTrust,
              ),
            },
          }
        : {}),
      ...(signal ? { signal } : {}),
    });
    outcome = "applied";
    changes = result.changes;
  } catch (e) {
    throw await record().then(
      () => e,
      (later: unknown) => withLaterFailure(e, later, `saving the state of ${session.env.name}`),
    );
  }
  await record();
  return { changes };
}

/** What the cluster says this environment owns: its ApplySet members (the truth state is rebuilt from). */
export async function ownedIds(session: Pick<RunTarget, "kube" | "env">): Promise<string[]> {
  const owned = await listMembers(session.kube, session.env.name);
  return owned
    .map((o) =>
      identityOf({
        apiVersion: o.apiVersion ?? "",
        kind: o.kind ?? "",
        name: o.metadata?.name ?? "",
        ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
      }),
    )
    .sort();
}

function hostsOutput(session: Pick<RunTarget, "env">): Record<string, string> {
  return Object.fromEntries(Object.entries(session.env.hosts).map(([k, v]) => [`host.${k}`, v?.host ?? ""]));
}
