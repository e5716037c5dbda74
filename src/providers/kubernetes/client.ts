import type { KubernetesObject } from "@kubernetes/client-node";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { KubeApi } from "./api.js";

export interface KubeTarget {
  kubeconfig: string;
  context?: string;
  /** Variables the config's `secret.env(...)` names: kept from exec plugins with plinth's own secrets. */
  configVariables?: readonly string[];
}

/**
 * Loaded on first use: offline commands never read a kubeconfig. (A dynamic import of the module
 * itself, not of client-node, so the bundle keeps only the parts of client-node it calls.)
 */
export async function connect(target: KubeTarget): Promise<{ api: KubeApi; server: string }> {
  return (await import("./connect.js")).connectTo(target);
}

/** A failed call: the HTTP status, the Kubernetes `Status` body, and the headers (Retry-After). */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly body: { reason?: string; message?: string },
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "KubeApiError";
  }
}

export interface ApiError {
  code: number;
  reason?: string;
  message: string;
}

/** The status code and Kubernetes `Status` message of a failed call (or a network error as code 0). */
export function apiError(e: unknown): ApiError {
  if (e instanceof KubeApiError) {
    return {
      code: e.code,
      ...(e.body.reason ? { reason: e.body.reason } : {}),
      message: e.body.message ?? e.message,
    };
  }
  return { code: 0, message: (e as Error).message ?? String(e) };
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
