import { KubeConfig } from "@kubernetes/client-node";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { KubeApi } from "./api.js";
import type { KubeTarget } from "./client.js";

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
