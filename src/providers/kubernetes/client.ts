import type { KubeConfig, KubernetesObject, KubernetesObjectApi } from "@kubernetes/client-node";
import { error, UserError } from "../../diagnostics/diagnostic.js";

export interface KubeTarget {
  kubeconfig: string;
  context?: string;
}

/** Loaded lazily: the Kubernetes client is large and offline commands never need it. */
export async function connect(
  target: KubeTarget,
): Promise<{ api: KubernetesObjectApi; server: string; config: KubeConfig }> {
  const k8s = await import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
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
  shareAgents(kc);
  return {
    api: k8s.KubernetesObjectApi.makeApiClient(kc),
    server: kc.getCurrentCluster()?.server ?? "(unknown)",
    config: kc,
  };
}

type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => unknown;

/**
 * client-node builds a new https.Agent for every request: a TLS handshake each time and no
 * connection reuse. One keep-alive agent per distinct TLS setting serves every call instead
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

export interface ApiError {
  code: number;
  reason?: string;
  message: string;
}

/** The status code and Kubernetes `Status` message of a failed call (or a network error as code 0). */
export function apiError(e: unknown): ApiError {
  const err = e as { code?: unknown; body?: unknown; message?: string };
  if (typeof err.code === "number") {
    let body: { message?: string; reason?: string } = {};
    try {
      body = typeof err.body === "string" ? JSON.parse(err.body) : ((err.body as typeof body) ?? {});
    } catch {
      body = { message: String(err.body) };
    }
    return {
      code: err.code,
      ...(body.reason ? { reason: body.reason } : {}),
      message: body.message ?? err.message ?? "",
    };
  }
  return { code: 0, message: err.message ?? String(e) };
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

function transient(e: unknown): boolean {
  const { code } = apiError(e);
  if (code === 429 || code >= 500) return true;
  if (code !== 0) return false;
  const cause =
    (e as { cause?: { code?: string }; code?: string }).cause?.code ?? (e as { code?: string }).code;
  return (
    (cause !== undefined && TRANSIENT_CODES.has(cause)) ||
    /socket hang up|ECONNRESET|fetch failed|network/i.test(String((e as Error).message))
  );
}

/** How long the server asked us to wait (Retry-After on a 429 or 503), in ms, capped at a minute. */
function retryAfterMs(e: unknown): number {
  const value = (e as { headers?: Record<string, string> }).headers?.["retry-after"];
  if (!value) return 0;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 60_000) : 0;
}

export interface RetryOptions {
  attempts?: number;
  baseMs?: number;
  signal?: AbortSignal;
}

/**
 * Retries 429, 5xx and connection resets with exponential backoff and jitter (never sooner than
 * the server's Retry-After); other errors at once.
 */
export async function withRetry<T>(what: string, fn: () => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const attempts = o.attempts ?? 8;
  const base = o.baseMs ?? 100;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!transient(e) || i >= attempts || o.signal?.aborted) {
        if (transient(e)) {
          const last = apiError(e);
          throw new UserError(
            error(
              `${what}: the API server kept failing (${last.code || "connection"}: ${last.message}) after ${i} attempts`,
              {
                fix: "check that the cluster is reachable and healthy, then run the command again (it resumes)",
              },
            ),
          );
        }
        throw e;
      }
      const backoff = Math.min(5_000, base * 2 ** (i - 1)) * (0.5 + Math.random() / 2);
      const delay = Math.max(backoff, retryAfterMs(e));
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export type Obj = KubernetesObject & Record<string, unknown>;
