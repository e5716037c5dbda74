import { randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { UserError } from "../diagnostics/diagnostic.js";
import type { LockInfo } from "./types.js";
import { assertEnvName } from "./validate.js";

/** A fresh lock for `env`, valid for `ttlMs` from `now`. */
export function newLock(options: {
  env: string;
  holder: string;
  operation: string;
  ttlMs: number;
  now?: Date;
}): LockInfo {
  assertEnvName(options.env);
  if (!(options.ttlMs > 0)) throw new Error(`lock ttl must be positive, got ${options.ttlMs}`);
  const now = options.now ?? new Date();
  return {
    env: options.env,
    holder: options.holder,
    operation: options.operation,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + options.ttlMs).toISOString(),
    id: randomBytes(16).toString("hex"),
  };
}

export function isExpired(lock: LockInfo, now: Date = new Date()): boolean {
  return Date.parse(lock.expiresAt) <= now.getTime();
}

/** `alice@laptop (apply staging) since <time>, until <time>` */
export function describeLock(lock: LockInfo): string {
  return `${lock.holder} (${lock.operation}) since ${lock.acquiredAt}, until ${lock.expiresAt}`;
}

/** A live lock blocks this run: name its holder and both ways out. */
export function lockHeldError(lock: LockInfo, where: string): UserError {
  return new UserError({
    severity: "error",
    path: where,
    message: `environment ${lock.env} is locked by ${describeLock(lock)}`,
    fix: `wait for it to finish, or run plinth unlock ${lock.env} if that run is dead`,
  });
}

/** A write based on an older read: refused, so no run silently undoes another's. */
export function lostUpdateError(env: string, where: string): UserError {
  return new UserError({
    severity: "error",
    path: where,
    message: `the state of environment ${env} changed since this run read it (another plinth run wrote it); this run's update was not saved`,
    fix: `run the command again: it will start from the newer state (use the environment's lock, as plan and apply do, so runs of ${env} do not overlap)`,
  });
}

/**
 * Our lock is no longer ours (removed, or taken over after it expired), or could not be renewed
 * before it expired: the run must stop, since another run may now be changing the environment.
 */
export class LockLostError extends UserError {
  constructor(env: string, where: string, why: string) {
    super({
      severity: "error",
      path: where,
      message: `lost the lock of ${env}: ${why}`,
      fix: `another plinth run may be changing ${env} now: let it finish (or run plinth unlock ${env} if none is running), then run again; this run resumes where it stopped`,
    });
    this.name = "LockLostError";
  }
}

/** Why a renewal found the lock not ours: what is there now (or nothing). */
export function lostBecause(current: LockInfo | undefined): string {
  return current ? `it was taken over by ${describeLock(current)}` : "its lock was removed (plinth unlock?)";
}

/**
 * Who is running plinth, for locks and applied plans: the CI identity on GitHub Actions
 * (`octocat@github-actions run 1234`), otherwise `user@host`. `PLINTH_HOLDER` overrides both.
 * Environment variables are passed in (read only at the CLI edge).
 */
export function defaultHolder(env: Record<string, string | undefined>): string {
  if (env.PLINTH_HOLDER) return env.PLINTH_HOLDER;
  if (env.GITHUB_ACTIONS === "true") {
    return `${env.GITHUB_ACTOR ?? "github"}@github-actions${env.GITHUB_RUN_ID ? ` run ${env.GITHUB_RUN_ID}` : ""}`;
  }
  let user = env.USER ?? env.USERNAME ?? "unknown";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): keep the environment's idea of the user.
  }
  return `${user}@${hostname()}`;
}
