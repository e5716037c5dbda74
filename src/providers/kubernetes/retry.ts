import { error, UserError } from "../../diagnostics/diagnostic.js";
import { apiError } from "./errors.js";

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
