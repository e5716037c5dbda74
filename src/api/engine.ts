import { dirname, isAbsolute, resolve as resolvePath } from "node:path";
import type { EventSink } from "../apply/events.js";
import { lockedRun, type RunTarget, runRecorded } from "../apply/run.js";
import { loadConfig } from "../config/load.js";
import { referencedVariables } from "../config/secret-env.js";
import { error, throwIfErrors, UserError } from "../diagnostics/diagnostic.js";
import { buildGraph } from "../graph/graph.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { claimDifferences } from "../plan/claim.js";
import { composePlan, movedSincePlan } from "../plan/compose.js";
import { desiredComponents } from "../plan/desired.js";
import { type DnsStep, planDnsStep } from "../plan/dns.js";
import type { Plan } from "../plan/plan.js";
import type { CloudflareDnsProvider } from "../providers/cloudflare/provider.js";
import type { KubeTarget } from "../providers/kubernetes/client.js";
import { connect } from "../providers/kubernetes/client.js";
import { KubernetesProvider } from "../providers/kubernetes/provider.js";
import { manifestCacheOf } from "../providers/manifest.js";
import type { VaultAccess } from "../providers/vault/access.js";
import { missingVariables } from "../secrets/environment.js";
import { defaultHolder, stateBackend } from "../state/index.js";
import { runningFromState } from "../state/running.js";
import { version } from "../util/version.js";
import { resolveChecked } from "../validate/validate.js";

/**
 * plinth as a library: plan and apply an environment without the CLI (the pull-request workflow,
 * previews, a portal). Plain data in and out, progress as events, nothing printed. Credentials
 * are passed in, never read from the process: the caller decides what the run may use.
 */
export interface EnvironmentOptions {
  /** The environment's name in the config. */
  env: string;
  /** The config file; default: plinth.config.ts (or .mts/.js/.mjs) in `cwd`. */
  configPath?: string;
  /** Default: the process's working directory. */
  cwd?: string;
  /**
   * Where a relative kubeconfig path of the config resolves; default: the config file's folder.
   * `plinth github` evaluates a pull request's config in a worktree of its head, while the files
   * the job was given (kubeconfigs, Vault's unseal file) are in the default branch's checkout.
   */
  filesDir?: string;
  /**
   * The variables Secrets are filled from (CLOUDFLARE_API_TOKEN for cert-manager) and state's S3
   * credentials come from; default: none.
   */
  variables?: Readonly<Record<string, string | undefined>>;
  /** The environment's Vault and credentials; absent: Vault is neither planned nor configured. */
  vault?: VaultAccess;
  /** A Cloudflare provider holding its token; absent: DNS is not planned or applied. */
  dns?: CloudflareDnsProvider;
  /** Who holds the lock and applied the plan (state's `who`); default: user@host. */
  holder?: string;
  forceConflicts?: boolean;
  /** Requests in flight to the API server (default 16). */
  concurrency?: number;
  /** plinth's version, for ownership marks (default: the package's). */
  tooling?: string;
}

export interface ApplyOptions extends Omit<EnvironmentOptions, "env"> {
  /** Progress: the same events `plinth apply --json` streams. */
  onEvent?: EventSink;
  noWait?: boolean;
  skipHealthChecks?: boolean;
  /** Caps every single wait (ms). */
  maxWaitMs?: number;
}

/** Where the environment's cluster is reached: its kubeconfig (relative to `dir`) and context. */
export function kubeTarget(
  config: Parameters<typeof referencedVariables>[0],
  dir: string,
  env: ResolvedEnvironment,
): KubeTarget {
  const kubeconfig = isAbsolute(env.cluster.kubeconfig)
    ? env.cluster.kubeconfig
    : resolvePath(dir, env.cluster.kubeconfig);
  return {
    kubeconfig,
    ...(env.cluster.context ? { context: env.cluster.context } : {}),
    configVariables: referencedVariables(config),
  };
}

/** Loads the config and opens the environment: resolved, checked, its cluster connected. */
export async function openEnvironment(o: EnvironmentOptions): Promise<RunTarget> {
  const loaded = await loadConfig({
    cwd: o.cwd ?? process.cwd(),
    ...(o.configPath ? { configPath: o.configPath } : {}),
  });
  // As the CLI checks it: this environment, and what elsewhere in the config concerns it.
  const variables = o.variables ?? {};
  const state = stateBackend(loaded.config, { configDir: dirname(loaded.file), env: variables });
  // A restored database runs as the generation state records (plinth restore): rendered as such.
  const env = await runningFromState(state, resolveChecked(loaded, o.env));
  const graph = buildGraph(env);
  const { api } = await connect(kubeTarget(loaded.config, o.filesDir ?? dirname(loaded.file), env));
  return {
    config: loaded.config,
    env,
    graph,
    desired: desiredComponents(env, graph),
    kube: new KubernetesProvider({
      api,
      ...(o.forceConflicts ? { forceConflicts: true } : {}),
      concurrency: o.concurrency ?? 16,
    }),
    pctx: {
      env: env.name,
      tooling: o.tooling ?? `plinth/${version()}`,
      variables,
      manifestCache: manifestCacheOf(dirname(loaded.file)),
    },
    state,
    holder: o.holder ?? defaultHolder(variables),
  };
}

function dnsFor(
  target: RunTarget,
  o: Pick<EnvironmentOptions, "dns">,
  access: "read" | "write",
): Promise<DnsStep> | undefined {
  return o.dns ? planDnsStep(target.env, o.dns, target.pctx, access) : undefined;
}

/**
 * The environment's live plan, every system included that the options give access to: the
 * cluster's objects, Vault's configuration, the DNS records. Reads only.
 */
export async function planEnvironment(o: EnvironmentOptions): Promise<Plan> {
  const target = await openEnvironment(o);
  const dns = dnsFor(target, o, "read");
  return composePlan(target, {
    ...(o.vault ? { vault: o.vault } : {}),
    ...(dns ? { dns } : {}),
  });
}

/**
 * Applies a plan exactly, as `plinth apply plan.json` does: the plan must be what the config
 * produces now (never trusted as an instruction) and nothing it touches may have moved; then,
 * under the environment's lock, its DNS records and the cluster's changes (Vault configured once
 * the vault component is ready), and the outcome recorded in state. k3s over SSH is the CLI's
 * (`plinth bootstrap`): it needs the operator's host-key decisions.
 */
export async function applyPlan(plan: Plan, o: ApplyOptions = {}): Promise<{ changes: number }> {
  const target = await openEnvironment({ ...o, env: plan.env });
  const differences = claimDifferences(plan, target.desired, {
    env: target.env.name,
    cluster: target.env.cluster.name,
  });
  if (differences.length > 0) {
    throw new UserError(
      error(`is not what the config produces now:\n  ${differences.join("\n  ")}`, {
        path: `plan for ${plan.env}`,
        fix: "plan again (planEnvironment) and apply that plan; nothing was changed",
      }),
    );
  }
  throwIfErrors(
    missingVariables(
      target.desired.flatMap((d) => d.secrets),
      target.pctx.variables ?? {},
    ),
  );
  return lockedRun(target.state, target.env.name, target.holder, "apply (api)", async () => {
    const dns = plan.outside?.dns ? await dnsFor(target, o, "write") : undefined;
    const moved = await movedSincePlan(plan, target, {
      ...(o.vault ? { vault: o.vault } : {}),
      ...(dns ? { dns } : {}),
    });
    if (moved.length > 0) {
      throw new UserError(
        error(`no longer matches what it was planned against:\n  ${moved.join("\n  ")}`, {
          path: `plan for ${plan.env}`,
          fix: "plan again (planEnvironment) and apply that plan; nothing was changed",
        }),
      );
    }
    await dns?.apply();
    return runRecorded(plan, target, {
      onEvent: o.onEvent ?? (() => {}),
      ...(o.noWait ? { noWait: true } : {}),
      ...(o.skipHealthChecks ? { skipHealthChecks: true } : {}),
      ...(o.maxWaitMs ? { maxWaitMs: o.maxWaitMs } : {}),
      ...(o.vault ? { vault: o.vault } : {}),
    });
  });
}

/**
 * Removes what plinth owns in the environment, as `plinth destroy` does: planned and applied under
 * one lock, in reverse phase order, data kept unless `deleteData`. Returns the plan it applied.
 */
export async function destroyEnvironment(
  o: Omit<ApplyOptions, "noWait"> & { env: string; deleteData?: boolean },
): Promise<{ plan: Plan; changes: number }> {
  const target = await openEnvironment(o);
  return lockedRun(target.state, target.env.name, target.holder, "destroy (api)", async () => {
    const plan = await composePlan(target, { destroy: true, ...(o.deleteData ? { deleteData: true } : {}) });
    const { changes } = await runRecorded(plan, target, { onEvent: o.onEvent ?? (() => {}), noWait: true });
    return { plan, changes };
  });
}
