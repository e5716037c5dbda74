import { LockLostError } from "./lock.js";
import type { LockInfo, StateBackend } from "./types.js";

/**
 * An environment lock's term. Renewal keeps a long run's lock alive, so the term only bounds how
 * long a killed run blocks the next one.
 */
export const DEFAULT_LOCK_TTL_MS = 15 * 60_000;

export interface HoldOptions {
  /** Term of the lock, and of each renewal (default 15 minutes). */
  ttlMs?: number;
  /** How often to renew (default a third of the term: two renewals may fail before it ends). */
  renewEveryMs?: number;
}

export interface HeldLock {
  /** The lock as last written (its expiry moves with each renewal). */
  readonly lock: LockInfo;
  /**
   * Aborted when the lock is lost (removed, taken over) or could not be renewed before it
   * expired; its reason is a LockLostError saying which. The run stops before its next step.
   */
  readonly signal: AbortSignal;
  /** Stops renewing and releases the lock (if still ours). */
  release(): Promise<void>;
}

/**
 * Takes `env`'s lock and renews it every `renewEveryMs` while the run lasts. Renewals run one at
 * a time; a failure that is not a loss (the store unreachable) is retried at the next tick, and
 * given up, aborting the signal, once the next try would come after the lock has expired.
 */
export async function holdLock(
  backend: StateBackend,
  env: string,
  holder: string,
  operation: string,
  options: HoldOptions = {},
): Promise<HeldLock> {
  const ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  const renewEveryMs = options.renewEveryMs ?? Math.floor(ttlMs / 3);
  if (!(renewEveryMs > 0 && renewEveryMs < ttlMs)) {
    throw new Error(
      `lock renewal every ${renewEveryMs} ms must be positive and shorter than its term ${ttlMs} ms`,
    );
  }
  let current = await backend.lock(env, holder, operation, ttlMs);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let renewing: Promise<void> | undefined;
  let released = false;

  const renewOnce = async (): Promise<void> => {
    try {
      current = await backend.renew(current, ttlMs);
    } catch (e) {
      if (released) return;
      if (e instanceof LockLostError) {
        controller.abort(e);
      } else if (Date.now() + renewEveryMs >= Date.parse(current.expiresAt)) {
        const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
        controller.abort(
          new LockLostError(
            env,
            backend.describe(),
            `could not renew it before it expired at ${current.expiresAt} (${why})`,
          ),
        );
      }
    }
  };
  const schedule = (): void => {
    if (released || controller.signal.aborted) return;
    timer = setTimeout(() => {
      renewing = renewOnce().finally(() => {
        renewing = undefined;
        schedule();
      });
    }, renewEveryMs);
    // A pending renewal never keeps the process alive on its own: the run's own work does.
    timer.unref();
  };
  schedule();

  return {
    get lock() {
      return current;
    },
    signal: controller.signal,
    async release() {
      released = true;
      clearTimeout(timer);
      await renewing;
      await backend.release(current);
    },
  };
}
