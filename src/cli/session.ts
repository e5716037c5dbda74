import { dirname } from "node:path";
import { kubeTarget as targetOf } from "../api/engine.js";
import type { LoadedConfig } from "../config/load.js";
import { buildGraph } from "../graph/graph.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { PlanTarget } from "../plan/compose.js";
import { desiredComponents } from "../plan/desired.js";
import type { KubeApi } from "../providers/kubernetes/api.js";
import { connect, type KubeTarget } from "../providers/kubernetes/client.js";
import { KubernetesProvider } from "../providers/kubernetes/provider.js";
import { manifestCacheOf } from "../providers/manifest.js";
import { defaultHolder, type StateBackend, stateBackend } from "../state/index.js";
import { runningFromState } from "../state/running.js";
import { version } from "../util/version.js";
import type { CommandContext, ParsedArgs } from "./command.js";
import { duration, positiveInt } from "./flags.js";
import { loadFromArgs, requireEnvArg, resolveChecked } from "./load.js";

/** Everything a live command needs for one environment, built once. */
export interface Session extends PlanTarget {
  loaded: LoadedConfig;
  state: StateBackend;
  holder: string;
}

export async function openSession(args: ParsedArgs, ctx: CommandContext, envName?: string): Promise<Session> {
  const name = envName ?? requireEnvArg(args, "apply");
  const loaded = await loadFromArgs(args, ctx);
  const configDir = dirname(loaded.file);
  const state = stateBackend(loaded.config, { configDir, env: ctx.env });
  // A restored database runs as the generation state records (plinth restore): rendered as such.
  const env = await runningFromState(state, resolveChecked(loaded, name));
  const graph = buildGraph(env);
  // Connected on first use: on a bare VPS the kubeconfig only exists once the k3s step has run.
  const api = lazyApi(() => connect(kubeTarget({ loaded, env })));
  duration(args, "timeout"); // a bad --timeout stops here, before anything is planned or changed
  const kube = new KubernetesProvider({
    api,
    forceConflicts: Boolean(args.values["force-conflicts"]),
    concurrency: positiveInt(args, "concurrency", 16),
  });
  return {
    loaded,
    config: loaded.config,
    env,
    graph,
    desired: desiredComponents(env, graph),
    kube,
    pctx: {
      env: env.name,
      tooling: `plinth/${version()}`,
      variables: ctx.env,
      manifestCache: manifestCacheOf(configDir),
    },
    state,
    holder: defaultHolder(ctx.env),
  };
}

/**
 * The environment as it runs, for a command that needs no session (backup status): resolved, with
 * each restored database's generation from its state (`plinth restore`).
 */
export async function runningEnvironment(
  loaded: LoadedConfig,
  name: string,
  ctx: CommandContext,
): Promise<ResolvedEnvironment> {
  const state = stateBackend(loaded.config, { configDir: dirname(loaded.file), env: ctx.env });
  return runningFromState(state, resolveChecked(loaded, name));
}

/** Where the environment's cluster is reached: its kubeconfig (relative to the config file) and context. */
export function kubeTarget(s: Pick<Session, "loaded" | "env">): KubeTarget {
  return targetOf(s.loaded.config, dirname(s.loaded.file), s.env);
}

function lazyApi(open: () => Promise<{ api: KubeApi }>): KubeApi {
  let real: Promise<KubeApi> | undefined;
  const call =
    (method: string) =>
    async (...args: unknown[]): Promise<unknown> => {
      real ??= open().then((c) => c.api);
      const api = (await real) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return api[method]?.(...args);
    };
  // Only the client's methods are forwarded; `then` stays undefined so the proxy is not a thenable.
  return new Proxy({} as KubeApi, {
    get: (_t, method: string) => (method === "then" ? undefined : call(method)),
  });
}
