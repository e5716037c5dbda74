import type { Diagnostic } from "../diagnostics/diagnostic.js";

/**
 * What plinth remembers about an environment. Never a secret value: the live systems are the truth
 * (ownership marks on the objects themselves), state is ownership and history.
 */
export interface EnvironmentState {
  version: 1;
  env: string;
  /** Identities of every resource plinth owns in this environment (`provider:...` ids). */
  owned: string[];
  /** Plans applied, newest last. */
  applied: AppliedPlan[];
  /** Non-secret outputs (hosts, kubeconfig path, versions). */
  outputs: Record<string, string>;
}

export interface AppliedPlan {
  hash: string;
  /** Who ran it (user@host, or the CI identity). */
  who: string;
  /** ISO-8601. */
  startedAt: string;
  finishedAt?: string;
  outcome: "applied" | "failed" | "interrupted";
  changes: number;
}

export interface LockInfo {
  env: string;
  holder: string;
  /** What is running (e.g. `apply staging`). */
  operation: string;
  acquiredAt: string;
  expiresAt: string;
  /** Random id proving this lock is ours when releasing. */
  id: string;
}

export interface StateBackend {
  /** `local: .plinth/state` or `s3: https://…/bucket/prefix`, for messages. */
  describe(): string;
  read(env: string): Promise<EnvironmentState | undefined>;
  /**
   * Atomic write (temp file + rename locally; a single PUT remotely). Returns warnings: a host or
   * id that happens to have a token's shape is written, and said (see validate.ts).
   */
  write(state: EnvironmentState): Promise<Diagnostic[]>;
  /**
   * Takes the environment's lock with a conditional create (`If-None-Match: *` remotely, `wx`
   * locally). An expired lock may be taken over; a live one throws a UserError naming its holder.
   */
  lock(env: string, holder: string, operation: string, ttlMs: number): Promise<LockInfo>;
  /**
   * Extends our own lock to `ttlMs` from now, only while it is still ours: the same id, replaced
   * under the guard locally, by `If-Match` on the very object read on S3 (a renewal never
   * overwrites another holder's lock). Throws LockLostError when it was removed or taken over.
   */
  renew(lock: LockInfo, ttlMs: number): Promise<LockInfo>;
  /** Releases our own lock (by id). */
  release(lock: LockInfo): Promise<void>;
  /** `plinth unlock <env>`: removes whatever lock exists; returns what was removed. */
  forceUnlock(env: string): Promise<LockInfo | undefined>;
  /**
   * Small documents beside the state, by a relative key such as `github/pr-12/<sha>/staging.json`
   * (the pull-request workflow's saved plans and reservations). Never a secret: a plan holds none.
   */
  readBlob(key: string): Promise<string | undefined>;
  /** Writes atomically; with `ifAbsent`, only when the key is free (false: something is there). */
  writeBlob(key: string, text: string, o?: { ifAbsent?: boolean }): Promise<boolean>;
  /** Removes the key (nothing there is fine). */
  deleteBlob(key: string): Promise<void>;
  /** Every key under `prefix` (a folder such as `github/pr-12/`), sorted. */
  listBlobs(prefix: string): Promise<string[]>;
}
