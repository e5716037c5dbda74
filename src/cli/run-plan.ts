import { AsyncLocalStorage } from "node:async_hooks";
import { execute } from "../apply/executor.js";
import { error, formatDiagnostic, UserError } from "../diagnostics/diagnostic.js";
import { livePlan } from "../plan/live.js";
import type { Plan } from "../plan/plan.js";
import { clusterPeers, wantedByPeers } from "../plan/shared.js";
import { listMembers, readParent } from "../providers/kubernetes/applyset-parent.js";
import { identityOf, parseIdentity } from "../providers/kubernetes/identity.js";
import { type HeldLock, type HoldOptions, holdLock, type StateBackend } from "../state/index.js";
import { withLaterFailure } from "../state/later-failure.js";
import type { CommandContext, ParsedArgs } from "./command.js";
import { duration, positiveInt } from "./flags.js";
import { progressSink } from "./progress.js";
import type { Session } from "./session.js";
import type { VaultAccess } from "./vault-access.js";
import { inspectForPlan, vaultAfterReady, withVault } from "./vault-step.js";

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

/**
 * A saved plan applies only to the cluster it was made against: every object it touches must still
 * be at the version seen then (absent stays absent). Returns what moved.
 */
export async function movedSince(plan: Plan, session: Session): Promise<string[]> {
  const moved: string[] = [];
  for (const c of plan.phases.flatMap((p) => p.components)) {
    for (const ch of c.changes) {
      if (!ch.id || (ch.provider !== "kubernetes" && ch.provider !== "secret")) continue;
      const live = await session.kube.read(parseIdentity(ch.id));
      const now = live?.metadata?.resourceVersion;
      if (now !== ch.liveVersion) {
        moved.push(
          `${ch.kind} ${ch.namespace ? `${ch.namespace}/` : ""}${ch.name}: ${ch.liveVersion ? `was at version ${ch.liveVersion}` : "was absent"}, now ${now ? `at version ${now}` : "absent"}`,
        );
      }
    }
  }
  return moved;
}

export async function planFor(
  session: Session,
  o: { destroy?: boolean; deleteData?: boolean; vault?: VaultAccess } = {},
): Promise<Plan> {
  const { vault, ...rest } = o;
  // Vault is read while the cluster is planned: two servers, no reason to wait for one.
  const inspection = vault && !o.destroy ? inspectForPlan(session, vault) : undefined;
  // ...and so are the cluster's other environments (what they want matters only for deletions, at
  // the end): resolved once the plan's own requests are on their way.
  const peers = Promise.resolve().then(() => deployedPeers(session));
  peers.catch(() => {}); // awaited by livePlan
  const plan = await livePlan(session.env, session.graph, session.desired, {
    kube: session.kube,
    ctx: session.pctx,
    ...rest,
    wantedByPeers: peers,
  });
  return vault && inspection ? withVault(plan, session, vault, inspection) : plan;
}

/**
 * What the other environments of this cluster that are deployed (their ApplySet parent exists)
 * want: this environment's deletions keep it. None without peers, at no cost to the plan.
 */
async function deployedPeers(session: Session): Promise<Map<string, string[]>> {
  const peers = clusterPeers(session.loaded.config, session.env);
  const names = [...peers.keys()];
  const deployed = new Set<string>();
  await Promise.all(
    names.map(async (name) => {
      if (await readParent(session.kube, name)) deployed.add(name);
    }),
  );
  return wantedByPeers(peers, (name) => deployed.has(name));
}

/**
 * The lock the current run holds, for runPlan to stop between components once it is lost. Context
 * rather than a parameter: every command's run under lockedRun gets it, however it reaches runPlan.
 */
const heldLock = new AsyncLocalStorage<HeldLock>();

/**
 * The one way `apply`, `destroy` and `bootstrap` hold an environment's lock: taken before
 * planning, so a second run stops at once naming the holder and nothing another run does can slip
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

/** Holds the session's environment lock around `fn` (see lockedRun). */
export function withLock<T>(session: Session, operation: string, fn: () => Promise<T>): Promise<T> {
  return lockedRun(session.state, session.env.name, session.holder, operation, fn);
}

/** Runs the plan (under the caller's lock), then records its outcome and what is owned. */
export async function runPlan(
  plan: Plan,
  session: Session,
  args: ParsedArgs,
  ctx: CommandContext,
  vault?: VaultAccess,
): Promise<number> {
  const timeout = duration(args, "timeout");
  const startedAt = new Date().toISOString();
  const mode = args.values.json ? "json" : ctx.tty ? "tty" : "plain";
  const sink = progressSink(mode, mode === "json" ? ctx.stdout : ctx.stderr);
  let outcome: "applied" | "failed" = "failed";
  let changes = 0;
  const signal = heldLock.getStore()?.signal;
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
      outputs: { ...(previous?.outputs ?? {}), ...hostsOutput(session) },
    });
    for (const w of warnings) ctx.stderr(`${formatDiagnostic(w)}\n`);
  };
  try {
    const result = await execute(plan, {
      kube: session.kube,
      ctx: session.pctx,
      env: session.env,
      onEvent: sink,
      concurrency: positiveInt(args, "concurrency", 4),
      noWait: Boolean(args.values["no-wait"]),
      skipHealthChecks: Boolean(args.values["no-health-checks"]),
      ...(timeout ? { maxWaitMs: timeout } : {}),
      ...(vault ? { afterReady: { vault: vaultAfterReady(session, vault, timeout) } } : {}),
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
  return 0;
}

/** What the cluster says this environment owns: its ApplySet members (the truth state is rebuilt from). */
export async function ownedIds(session: Session): Promise<string[]> {
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

function hostsOutput(session: Session): Record<string, string> {
  return Object.fromEntries(Object.entries(session.env.hosts).map(([k, v]) => [`host.${k}`, v?.host ?? ""]));
}
