import type { spawn } from "node:child_process";
import { KubeConfig } from "@kubernetes/client-node";
import { execPluginEnv } from "../../config/secret-env.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { KubeApi } from "./api.js";

export interface KubeTarget {
  kubeconfig: string;
  context?: string;
  /** Variables the config's `secret.env(...)` names: kept from exec plugins with plinth's own secrets. */
  configVariables?: readonly string[];
}

/** The kubeconfig read (and its context chosen) by the official client, requests made by KubeApi. */
export function connectTo(target: KubeTarget): { api: KubeApi; server: string } {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(target.kubeconfig);
  } catch (e) {
    throw new UserError(
      error(`cannot read kubeconfig ${target.kubeconfig}: ${(e as Error).message}`, {
        fix: "run plinth bootstrap <env> for a k3s-vps cluster, or set clusters.<name>.kubeconfig to an existing file",
      }),
    );
  }
  if (target.context) {
    if (!kc.getContexts().some((c) => c.name === target.context)) {
      throw new UserError(
        error(`kubeconfig ${target.kubeconfig} has no context "${target.context}"`, {
          fix: `use one of: ${kc
            .getContexts()
            .map((c) => c.name)
            .join(", ")}`,
        }),
      );
    }
    kc.setCurrentContext(target.context);
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server) {
    throw new UserError(
      error(`kubeconfig ${target.kubeconfig} has no cluster server for its current context`, {
        fix: "set current-context to a context whose cluster has a server URL",
      }),
    );
  }
  shareAgents(kc);
  scrubExecPlugins(kc, target.configVariables ?? []);
  return { api: new KubeApi(kc, server), server };
}

type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => unknown;

/**
 * client-node builds a new https.Agent for every call of applyToHTTPSOptions: a TLS handshake each
 * time and no connection reuse. One keep-alive agent per distinct TLS setting serves every call instead
 * (idle sockets do not hold the process open).
 */
function shareAgents(kc: object): void {
  const target = kc as { createAgent?: AgentFactory };
  if (typeof target.createAgent !== "function") return; // a client-node that no longer has it (pinned 1.4.0 does)
  const create = target.createAgent.bind(kc);
  const agents = new Map<string, unknown>();
  target.createAgent = (cluster, options) => {
    const key = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"]
      .map((k) => String(options[k] ?? ""))
      .join("\0");
    let agent = agents.get(key);
    if (!agent) {
      agent = create(cluster, { ...options, keepAlive: true });
      agents.set(key, agent);
    }
    return agent;
  };
}

type Spawn = typeof spawn;

/**
 * client-node runs a kubeconfig's exec plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`) with
 * the whole of process.env, plinth's secrets included, and has no option for another environment.
 * Its ExecAuth spawns through `execFn`: replaced here by a spawn that passes the plugin's own env
 * entries over an environment without plinth's secrets (AWS credentials stay: the plugin may sign
 * with them).
 */
function scrubExecPlugins(kc: object, configVariables: readonly string[]): void {
  const auths = (kc as { authenticators?: unknown[] }).authenticators ?? [];
  for (const auth of auths) {
    // ExecAuth is not exported: it is the authenticator with an `execFn` (pinned 2.0.1 has it).
    const target = auth as { execFn?: Spawn };
    if (typeof target.execFn !== "function") continue;
    const run: Spawn = target.execFn;
    target.execFn = ((command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}) =>
      run(command, args ?? [], {
        ...options,
        env: execPluginEnv(options.env ?? process.env, configVariables) as NodeJS.ProcessEnv,
      })) as Spawn;
  }
}
