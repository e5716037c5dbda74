import { setTimeout as sleep } from "node:timers/promises";
import type { S3ServiceException } from "@aws-sdk/client-s3";
import { UserError } from "../diagnostics/diagnostic.js";

export interface RetryOptions {
  /** Tries in all, the first included (default 5). */
  attempts: number;
  /** First backoff; doubled each try, with full jitter (default 200 ms). */
  baseDelayMs: number;
  /** Longest backoff (default 5 s). */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = Object.freeze({
  attempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
});

/** Where a request went, for messages (never the credentials). */
export interface S3Target {
  endpoint: string;
  bucket: string;
  /** `s3://bucket/key` of the object, when the request was about one. */
  object?: string;
}

/**
 * An error the S3 service answered with. Told by its shape, not `instanceof`: the SDK is loaded
 * only when S3 state is used, and this module is loaded with every command.
 */
export function isServiceException(e: unknown): e is S3ServiceException {
  return e instanceof Error && "$fault" in e && typeof (e as { $metadata?: unknown }).$metadata === "object";
}

/** The HTTP status of a failed request, if the server answered. */
export function statusOf(e: unknown): number | undefined {
  return isServiceException(e) ? e.$metadata?.httpStatusCode : undefined;
}

/** The S3 error code (`NoSuchKey`, `PreconditionFailed`), if the server answered. */
export function codeOf(e: unknown): string | undefined {
  return isServiceException(e) ? e.name : undefined;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
]);
const THROTTLE_CODES = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestTimeout",
  "TooManyRequests",
]);

/** The network error behind a failed request (`ECONNREFUSED`), or a timeout, if that is what it was. */
export function networkCodeOf(e: unknown): string | undefined {
  if (statusOf(e) !== undefined) return undefined;
  const err = e as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof err?.code === "string" ? err.code : err?.cause?.code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
  if (err?.name === "TimeoutError" || err?.name === "RequestTimeout") return "ETIMEDOUT";
  return undefined;
}

/** Worth trying again: the server was busy or failed (5xx, 429), or the connection broke. */
export function isRetryable(e: unknown): boolean {
  const status = statusOf(e);
  if (status !== undefined)
    return (status >= 500 && status !== 501) || status === 429 || THROTTLE_CODES.has(codeOf(e) ?? "");
  // A name that does not resolve will not resolve in a second either.
  const net = networkCodeOf(e);
  return net !== undefined && net !== "ENOTFOUND";
}

/** Runs `fn`, trying again with exponential backoff and jitter while the failure is transient. */
export async function withRetry<T>(fn: () => Promise<T>, retry: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= retry.attempts || !isRetryable(e)) throw e;
      const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.floor(cap / 2 + (Math.random() * cap) / 2));
    }
  }
}

const CREDENTIAL_VARS = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/**
 * Turns a failed request the caller did not expect into an error a user can act on: bucket
 * missing, access denied, endpoint unreachable, or the server's own words. Never includes a key.
 */
export function describeS3Failure(e: unknown, target: S3Target, attempts: number): Error {
  const where = target.object ?? `s3://${target.bucket}`;
  const status = statusOf(e);
  const code = codeOf(e);
  const at = `at ${target.endpoint}`;
  if (code === "NoSuchBucket") {
    return new UserError({
      severity: "error",
      path: where,
      message: `bucket ${target.bucket} does not exist ${at}`,
      fix: `create the bucket (Cloudflare: R2 > Create bucket), or set state.bucket in the config to an existing one`,
    });
  }
  if (
    status === 401 ||
    status === 403 ||
    ["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"].includes(
      code ?? "",
    )
  ) {
    const why =
      code === "SignatureDoesNotMatch"
        ? "the secret access key does not match the access key id"
        : code === "InvalidAccessKeyId"
          ? "the access key id is unknown to this endpoint"
          : "the key has no permission for it";
    return new UserError({
      severity: "error",
      path: where,
      message: `access to bucket ${target.bucket} ${at} was denied (${code ?? status}: ${why})`,
      fix: `set ${CREDENTIAL_VARS} to an API token with object read and write on bucket ${target.bucket}; on R2, an Object Read & Write token scoped to it`,
    });
  }
  if (code === "PermanentRedirect" || code === "AuthorizationHeaderMalformed" || status === 301) {
    return new UserError({
      severity: "error",
      path: where,
      message: `the endpoint ${target.endpoint} refused the request for bucket ${target.bucket} (${code ?? status}: wrong region or endpoint)`,
      fix: "set state.region to the bucket's region (auto for Cloudflare R2) and state.endpoint to its account endpoint",
    });
  }
  if (status === 501 || code === "NotImplemented") {
    return new UserError({
      severity: "error",
      path: where,
      message: `the S3 endpoint ${target.endpoint} does not implement a request plinth needs (${code ?? status}): state locking relies on conditional writes (If-None-Match, If-Match)`,
      fix: "use a store that supports conditional writes (Cloudflare R2, AWS S3, or a recent S3-compatible server), or state.backend local",
    });
  }
  const net = networkCodeOf(e);
  if (net) {
    return new UserError({
      severity: "error",
      path: where,
      message: `cannot reach the S3 endpoint ${target.endpoint} for bucket ${target.bucket} (${net}${attempts > 1 ? `, after ${attempts} tries` : ""})`,
      fix:
        net === "ENOTFOUND"
          ? "check state.endpoint in the config (on R2: https://<account id>.r2.cloudflarestorage.com)"
          : "check state.endpoint in the config, and that this machine can reach it (network, proxy, firewall)",
    });
  }
  if (status !== undefined) {
    const message = e instanceof Error ? e.message : String(e);
    return new UserError({
      severity: "error",
      path: where,
      message: `the S3 endpoint ${target.endpoint} answered ${status} ${code ?? ""}${attempts > 1 && status >= 500 ? ` after ${attempts} tries` : ""}: ${message}`,
      fix:
        status >= 500 || status === 429
          ? "the store is failing or busy: try again later"
          : "check state in the config",
    });
  }
  return e as Error;
}

export function missingCredentialsError(
  target: { endpoint: string; bucket: string },
  missing: string[],
): UserError {
  return new UserError({
    severity: "error",
    path: "state.backend",
    message: `is s3 (bucket ${target.bucket} at ${target.endpoint}), but ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not set`,
    fix: `set ${CREDENTIAL_VARS} in the environment, never in the config, to an API token with object read and write on bucket ${target.bucket}`,
  });
}
