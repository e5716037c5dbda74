import type { S3Client } from "@aws-sdk/client-s3";
import { type Diagnostic, UserError } from "../diagnostics/diagnostic.js";
import { assertBlobKey, BLOB_FOLDER } from "./blob-key.js";
import { isExpired, LockLostError, lockHeldError, lostBecause, lostUpdateError, newLock } from "./lock.js";
import { openS3, type S3Sdk } from "./s3-client.js";
import {
  codeOf,
  DEFAULT_RETRY,
  describeS3Failure,
  isServiceException,
  type RetryOptions,
  statusOf,
  withRetry,
} from "./s3-errors.js";
import type { EnvironmentState, LockInfo, StateBackend } from "./types.js";
import { assertEnvName, checkStateForWrite, parseLock, parseState, stateWarnings } from "./validate.js";

export interface S3BackendOptions {
  /** `https://<account>.r2.cloudflarestorage.com`, or any S3-compatible endpoint. */
  endpoint: string;
  bucket: string;
  /** Key prefix, `plinth/` by default; a missing trailing `/` is added. */
  prefix: string;
  /** `auto` for R2. */
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  retry?: Partial<RetryOptions>;
  /** Per-request timeout (default 30 s); connecting gives up after 10 s. */
  requestTimeoutMs?: number;
}

const TAKEOVER_ATTEMPTS = 5;

/** Answers that mean "not what you expected", returned to the caller rather than retried or mapped. */
const EXPECTED = new Set(["NoSuchKey", "PreconditionFailed", "ConditionalRequestConflict"]);

interface Stored {
  text: string;
  etag: string;
}

function isExpected(e: unknown, ...codes: string[]): boolean {
  const code = codeOf(e);
  if (code && codes.includes(code)) return true;
  const status = statusOf(e);
  return (
    (codes.includes("PreconditionFailed") && status === 412) ||
    (codes.includes("ConditionalRequestConflict") && status === 409) ||
    (codes.includes("NoSuchKey") && status === 404 && code !== "NoSuchBucket")
  );
}

/** A lost conditional write: someone else changed (or removed) the object first. */
const LOST = ["PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"];

/**
 * State in an S3-compatible bucket (Cloudflare R2 in production): `<prefix><env>/state.json`
 * and, while a run holds the environment, `<prefix><env>/lock.json`. Every write is a single
 * conditional PUT, so the store itself decides races: `If-None-Match: *` creates only if absent,
 * `If-Match: <etag>` replaces only what was read.
 */
export class S3StateBackend implements StateBackend {
  /** The SDK is loaded on first use: most runs keep state locally and never need it. */
  private client?: Promise<{ sdk: S3Sdk; client: S3Client }>;
  private readonly options: S3BackendOptions & { prefix: string };
  private readonly retry: RetryOptions;
  /** ETag of the state each environment had when this backend last read or wrote it (null: absent). */
  private readonly seen = new Map<string, string | null>();

  constructor(options: S3BackendOptions) {
    const prefix = options.prefix.replace(/^\/+/, "");
    this.options = { ...options, prefix: prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/` };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  private connect(): Promise<{ sdk: S3Sdk; client: S3Client }> {
    this.client ??= openS3(this.options);
    return this.client;
  }

  describe(): string {
    return `s3: ${this.options.endpoint.replace(/\/+$/, "")}/${this.options.bucket}/${this.options.prefix}`;
  }

  /** Closes the client's connections (tests, and long-lived processes that are done with state). */
  close(): void {
    void this.client?.then(({ client }) => client.destroy());
  }

  async read(env: string): Promise<EnvironmentState | undefined> {
    assertEnvName(env);
    const key = this.stateKey(env);
    const stored = await this.get(key);
    if (!stored) {
      this.seen.set(env, null);
      return undefined;
    }
    const state = parseState(stored.text, { where: this.url(key), env });
    this.seen.set(env, stored.etag);
    return state;
  }

  async write(state: EnvironmentState): Promise<Diagnostic[]> {
    const text = checkStateForWrite(state);
    const key = this.stateKey(state.env);
    const etag = this.seen.get(state.env) ?? null;
    try {
      const written = await this.put(key, text, etag === null ? { IfNoneMatch: "*" } : { IfMatch: etag });
      this.seen.set(state.env, written);
    } catch (e) {
      if (!isExpected(e, ...LOST)) throw e;
      // A retried PUT whose first try landed finds its own write: that is success, not a loss.
      const now = await this.get(key);
      if (now?.text !== text) throw lostUpdateError(state.env, this.url(key));
      this.seen.set(state.env, now.etag);
    }
    return stateWarnings(state, this.url(key));
  }

  async lock(env: string, holder: string, operation: string, ttlMs: number): Promise<LockInfo> {
    const mine = newLock({ env, holder, operation, ttlMs });
    const key = this.lockKey(env);
    const text = `${JSON.stringify(mine, null, 2)}\n`;
    for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
      try {
        await this.put(key, text, { IfNoneMatch: "*" });
        return mine;
      } catch (e) {
        if (!isExpected(e, "PreconditionFailed", "ConditionalRequestConflict")) throw e;
      }
      const stored = await this.get(key);
      if (!stored) continue; // released since: try again
      const held = parseLock(stored.text, { where: this.url(key), env });
      if (held.id === mine.id) return mine; // our own create, retried after its answer was lost
      if (!isExpired(held)) throw lockHeldError(held, this.url(key));
      // Expired: replace exactly the lock we read. Of several racers only one PUT matches its ETag.
      try {
        await this.put(key, text, { IfMatch: stored.etag });
        return mine;
      } catch (e) {
        if (!isExpected(e, ...LOST)) throw e;
        const now = await this.get(key);
        if (now && parseLock(now.text, { where: this.url(key), env }).id === mine.id) return mine;
      }
    }
    throw new UserError({
      severity: "error",
      path: this.url(key),
      message: `the lock of environment ${env} kept changing hands while plinth tried to take it`,
      fix: "another plinth run is starting at the same moment: wait for it, then run again",
    });
  }

  async renew(lock: LockInfo, ttlMs: number): Promise<LockInfo> {
    assertEnvName(lock.env);
    const key = this.lockKey(lock.env);
    const renewed: LockInfo = { ...lock, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
    const text = `${JSON.stringify(renewed, null, 2)}\n`;
    const stored = await this.get(key);
    const current = stored && this.lockOrUndefined(stored.text, lock.env);
    if (!stored || current?.id !== lock.id) {
      throw new LockLostError(
        lock.env,
        this.url(key),
        stored && !current
          ? "its lock object was replaced by one that is not plinth's"
          : lostBecause(current),
      );
    }
    try {
      // Only the very object read: a takeover landing between the GET and this PUT wins.
      await this.put(key, text, { IfMatch: stored.etag });
      return renewed;
    } catch (e) {
      if (!isExpected(e, ...LOST)) throw e;
      // A retried PUT whose first try landed finds its own renewal.
      const now = await this.get(key);
      const after = now && this.lockOrUndefined(now.text, lock.env);
      if (after?.id === lock.id) return after;
      throw new LockLostError(lock.env, this.url(key), lostBecause(after));
    }
  }

  private lockOrUndefined(text: string, env: string): LockInfo | undefined {
    try {
      return parseLock(text, { where: "", env });
    } catch {
      return undefined;
    }
  }

  async release(lock: LockInfo): Promise<void> {
    assertEnvName(lock.env);
    const key = this.lockKey(lock.env);
    const stored = await this.get(key);
    if (!stored) return;
    let current: LockInfo | undefined;
    try {
      current = parseLock(stored.text, { where: this.url(key), env: lock.env });
    } catch {
      return; // not ours to judge: plinth unlock clears a damaged lock
    }
    if (current.id !== lock.id) return; // taken over after we expired: theirs now
    try {
      await this.delete(key, stored.etag);
    } catch (e) {
      if (!isExpected(e, ...LOST)) throw e; // replaced in between: theirs now
    }
  }

  async forceUnlock(env: string): Promise<LockInfo | undefined> {
    assertEnvName(env);
    const key = this.lockKey(env);
    for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
      const stored = await this.get(key);
      if (!stored) return undefined;
      let current: LockInfo;
      try {
        current = parseLock(stored.text, { where: this.url(key), env });
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        const at = new Date().toISOString();
        current = {
          env,
          holder: "unknown (unreadable lock object)",
          operation: "unknown",
          acquiredAt: at,
          expiresAt: at,
          id: "",
        };
      }
      try {
        await this.delete(key, stored.etag);
        return current;
      } catch (e) {
        if (!isExpected(e, ...LOST)) throw e; // replaced in between: look again
      }
    }
    throw new UserError({
      severity: "error",
      path: this.url(key),
      message: `the lock of environment ${env} kept changing while plinth tried to remove it`,
      fix: "another plinth run is taking it right now: let it finish",
    });
  }

  async readBlob(key: string): Promise<string | undefined> {
    assertBlobKey(key);
    return (await this.get(this.blobKey(key)))?.text;
  }

  async writeBlob(key: string, text: string, o: { ifAbsent?: boolean } = {}): Promise<boolean> {
    assertBlobKey(key);
    const full = this.blobKey(key);
    if (!o.ifAbsent) {
      await this.send(full, async () => {
        const { sdk, client } = await this.connect();
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: this.options.bucket,
            Key: full,
            Body: text,
            ContentType: "application/json",
          }),
        );
      });
      return true;
    }
    try {
      await this.put(full, text, { IfNoneMatch: "*" });
      return true;
    } catch (e) {
      if (!isExpected(e, "PreconditionFailed", "ConditionalRequestConflict")) throw e;
      // A retried PUT whose first try landed finds its own write.
      return (await this.get(full))?.text === text;
    }
  }

  async deleteBlob(key: string): Promise<void> {
    assertBlobKey(key);
    const full = this.blobKey(key);
    await this.send(full, async () => {
      const { sdk, client } = await this.connect();
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.options.bucket, Key: full }));
    });
  }

  async listBlobs(prefix: string): Promise<string[]> {
    assertBlobKey(prefix);
    const root = this.blobKey("");
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.send(root + prefix, async () => {
        const { sdk, client } = await this.connect();
        return client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: root + prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      });
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key.slice(root.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  private blobKey(key: string): string {
    return `${this.options.prefix}${BLOB_FOLDER}/${key}`;
  }

  private stateKey(env: string): string {
    return `${this.options.prefix}${env}/state.json`;
  }

  private lockKey(env: string): string {
    return `${this.options.prefix}${env}/lock.json`;
  }

  private url(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }

  private async get(key: string): Promise<Stored | undefined> {
    try {
      return await this.send(key, async () => {
        const { sdk, client } = await this.connect();
        const res = await client.send(new sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
        return { text: (await res.Body?.transformToString("utf8")) ?? "", etag: res.ETag ?? "" };
      });
    } catch (e) {
      if (isExpected(e, "NoSuchKey")) return undefined;
      throw e;
    }
  }

  /** A conditional PUT; returns the new ETag. Lost conditions surface as the SDK's exception. */
  private async put(
    key: string,
    body: string,
    condition: { IfNoneMatch: "*" } | { IfMatch: string },
  ): Promise<string> {
    return this.send(key, async () => {
      const { sdk, client } = await this.connect();
      const res = await client.send(
        new sdk.PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: body,
          ContentType: "application/json",
          ...condition,
        }),
      );
      return res.ETag ?? "";
    });
  }

  private async delete(key: string, etag: string): Promise<void> {
    await this.send(key, async () => {
      const { sdk, client } = await this.connect();
      await client.send(
        new sdk.DeleteObjectCommand({ Bucket: this.options.bucket, Key: key, IfMatch: etag }),
      );
    });
  }

  /** Retries transient failures; answers the caller expects pass through, the rest become clear errors. */
  private async send<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let attempts = 0;
    try {
      return await withRetry(() => {
        attempts++;
        return fn();
      }, this.retry);
    } catch (e) {
      const status = statusOf(e);
      if (isServiceException(e) && EXPECTED.has(e.name)) throw e;
      if (status === 412 || status === 409 || (status === 404 && codeOf(e) !== "NoSuchBucket")) throw e;
      throw describeS3Failure(
        e,
        { endpoint: this.options.endpoint, bucket: this.options.bucket, object: this.url(key) },
        attempts,
      );
    }
  }
}
