import { isAbsolute, resolve } from "node:path";
import type { Config } from "../config/schema.js";
import { LocalStateBackend } from "./local.js";
import { S3StateBackend } from "./s3.js";
import { missingCredentialsError, type RetryOptions } from "./s3-errors.js";
import type { StateBackend } from "./types.js";

export { DEFAULT_LOCK_TTL_MS, type HeldLock, type HoldOptions, holdLock } from "./held-lock.js";
export { LocalStateBackend } from "./local.js";
export { defaultHolder, describeLock, isExpired, LockLostError } from "./lock.js";
export {
  assertNotReserved,
  holdsReservation,
  type Reservation,
  readReservation,
  releaseReservation,
  reservationsOf,
  reserve,
} from "./reservation.js";
export { S3StateBackend } from "./s3.js";
export type { AppliedPlan, EnvironmentState, LockInfo, StateBackend } from "./types.js";
export { findSecretsInState, SecretInStateError } from "./validate.js";

/** The local backend's folder, relative to the config file's folder. */
export const DEFAULT_STATE_DIR = ".plinth/state";

export interface StateBackendContext {
  /** Folder of the config file: a relative `state.path` is taken from here. */
  configDir: string;
  /** Environment variables (credentials), passed in from the CLI edge; never read here. */
  env: Record<string, string | undefined>;
  /** S3 retry tuning (tests). */
  retry?: Partial<RetryOptions>;
}

/**
 * The backend the config asks for: `state: { backend: "local", path? }` (the default, files under
 * `.plinth/state` next to the config) or `state: { backend: "s3", endpoint, bucket, prefix, region }`
 * with credentials from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`).
 */
export function stateBackend(config: Pick<Config, "state">, ctx: StateBackendContext): StateBackend {
  const state = config.state ?? { backend: "local" as const };
  if (state.backend === "local") {
    const path = state.path ?? DEFAULT_STATE_DIR;
    return new LocalStateBackend({
      dir: isAbsolute(path) ? path : resolve(ctx.configDir, path),
      baseDir: ctx.configDir,
    });
  }
  const accessKeyId = ctx.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = ctx.env.AWS_SECRET_ACCESS_KEY;
  const missing = [
    ...(accessKeyId ? [] : ["AWS_ACCESS_KEY_ID"]),
    ...(secretAccessKey ? [] : ["AWS_SECRET_ACCESS_KEY"]),
  ];
  if (!accessKeyId || !secretAccessKey) throw missingCredentialsError(state, missing);
  const sessionToken = ctx.env.AWS_SESSION_TOKEN;
  return new S3StateBackend({
    endpoint: state.endpoint,
    bucket: state.bucket,
    prefix: state.prefix,
    region: state.region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    ...(ctx.retry ? { retry: ctx.retry } : {}),
  });
}
