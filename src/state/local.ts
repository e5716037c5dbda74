import { createHash, randomBytes } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { makePrivateDir } from "../config/plinth-dir.js";
import { type Diagnostic, UserError } from "../diagnostics/diagnostic.js";
import { assertBlobKey, BLOB_FOLDER } from "./blob-key.js";
import { errno, ignoreMissing, ioError } from "./fs-errors.js";
import { type GuardOptions, withGuard } from "./guard.js";
import { isExpired, LockLostError, lockHeldError, lostBecause, lostUpdateError, newLock } from "./lock.js";
import type { EnvironmentState, LockInfo, StateBackend } from "./types.js";
import { assertEnvName, checkStateForWrite, parseLock, parseState, stateWarnings } from "./validate.js";

export interface LocalBackendOptions {
  /** Absolute folder holding `<env>.json` and `<env>.lock`. */
  dir: string;
  /** Folder messages show paths relative to (the config file's folder). */
  baseDir?: string;
  /** Guard file tuning (tests). */
  guard?: Pick<GuardOptions, "staleMs" | "waitMs">;
}

const TAKEOVER_ATTEMPTS = 5;
const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");
const tempName = (file: string): string => `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;

/**
 * Writes `text` to `file` atomically: a temp file in the same folder, fsynced, renamed over the
 * target, then the folder fsynced so the rename survives a crash. Readers see the old or the new
 * content, never a mix.
 */
export async function atomicWriteFile(file: string, text: string): Promise<void> {
  const tmp = tempName(file);
  try {
    await writeNew(tmp, text);
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirname(file));
}

/** Creates `file` (failing with EEXIST if it exists) holding `text`, flushed to disk. */
async function writeNew(file: string, text: string): Promise<void> {
  const fh = await open(file, "wx", 0o644);
  try {
    await fh.writeFile(text, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  // Not every platform can open or fsync a folder (Windows): the rename is still atomic there.
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
}

/**
 * Creates `file` with `text` only if it does not exist, and never visible half-written: the
 * content goes to a temp file first, then a hard link claims the name (atomic, fails with EEXIST).
 * Where hard links are unsupported it falls back to `open(..., "wx")`. Returns false if it exists.
 */
async function createExclusive(file: string, text: string): Promise<boolean> {
  const tmp = tempName(file);
  await writeNew(tmp, text);
  try {
    await link(tmp, file);
    return true;
  } catch (e) {
    if (errno(e) === "EEXIST") return false;
    if (!["EPERM", "ENOTSUP", "ENOSYS", "EXDEV"].includes(errno(e) ?? "")) throw e;
    try {
      await writeNew(file, text);
      return true;
    } catch (e2) {
      if (errno(e2) === "EEXIST") return false;
      throw e2;
    }
  } finally {
    await unlink(tmp).catch(() => {});
    await syncDir(dirname(file));
  }
}

/**
 * State in files: `<dir>/<env>.json`, and `<env>.lock` while a run holds the environment.
 * The default folder is `.plinth/state` next to the config file.
 */
export class LocalStateBackend implements StateBackend {
  readonly dir: string;
  private readonly baseDir: string | undefined;
  private readonly guardOptions: Pick<GuardOptions, "staleMs" | "waitMs">;
  /** Hash of the state each environment had when this backend last read or wrote it (null: absent). */
  private readonly seen = new Map<string, string | null>();

  constructor(options: LocalBackendOptions) {
    if (!isAbsolute(options.dir)) throw new Error(`state folder must be absolute, got ${options.dir}`);
    this.dir = options.dir;
    this.baseDir = options.baseDir;
    this.guardOptions = options.guard ?? {};
  }

  describe(): string {
    return `local: ${this.show(this.dir)}`;
  }

  async read(env: string): Promise<EnvironmentState | undefined> {
    assertEnvName(env);
    const file = this.stateFile(env);
    const text = await this.readText(file);
    if (text === undefined) {
      this.seen.set(env, null);
      return undefined;
    }
    const state = parseState(text, { where: this.show(file), env });
    this.seen.set(env, sha256(text));
    return state;
  }

  /**
   * Replaces the state atomically, refusing a lost update: the file must still be what this
   * backend last read (or absent, if it never read it), so a run never overwrites another's write.
   */
  async write(state: EnvironmentState): Promise<Diagnostic[]> {
    const text = checkStateForWrite(state);
    const file = this.stateFile(state.env);
    await this.ensureDir();
    // Compare and swap under a guard, so two writers cannot both pass the check.
    await this.withGuard(`${file}.guard`, state.env, async () => {
      const current = await this.readText(file);
      const expected = this.seen.get(state.env) ?? null;
      if ((current === undefined ? null : sha256(current)) !== expected) {
        throw lostUpdateError(state.env, this.show(file));
      }
      try {
        await atomicWriteFile(file, text);
      } catch (e) {
        throw ioError(e, this.show(file), "write");
      }
    });
    this.seen.set(state.env, sha256(text));
    return stateWarnings(state, this.show(file));
  }

  async lock(env: string, holder: string, operation: string, ttlMs: number): Promise<LockInfo> {
    const mine = newLock({ env, holder, operation, ttlMs });
    const file = this.lockFile(env);
    const text = `${JSON.stringify(mine, null, 2)}\n`;
    await this.ensureDir();
    for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
      let created: boolean;
      try {
        created = await createExclusive(file, text);
      } catch (e) {
        throw ioError(e, this.show(file), "create");
      }
      if (created) return mine;
      const held = await this.readLock(env);
      if (!held) continue; // released since: try again
      if (!isExpired(held)) throw lockHeldError(held, this.show(file));
      // Expired: take it over, but only if it is still that same expired lock (a racer may have
      // taken it first), replacing it atomically so the file never disappears in between.
      const taken = await this.withGuard(this.lockGuard(env), env, async () => {
        const again = await this.readLock(env);
        if (!again || again.id !== held.id || !isExpired(again)) return false;
        await atomicWriteFile(file, text);
        return true;
      });
      if (taken) return mine;
    }
    throw new UserError({
      severity: "error",
      path: this.show(file),
      message: `the lock of environment ${env} kept changing hands while plinth tried to take it`,
      fix: "another plinth run is starting at the same moment: wait for it, then run again",
    });
  }

  async renew(lock: LockInfo, ttlMs: number): Promise<LockInfo> {
    assertEnvName(lock.env);
    const file = this.lockFile(lock.env);
    const renewed: LockInfo = { ...lock, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
    await this.withGuard(this.lockGuard(lock.env), lock.env, async () => {
      let current: LockInfo | undefined;
      try {
        current = await this.readLock(lock.env);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        throw new LockLostError(
          lock.env,
          this.show(file),
          "its lock file was replaced by one that is not plinth's",
        );
      }
      if (current?.id !== lock.id) throw new LockLostError(lock.env, this.show(file), lostBecause(current));
      try {
        await atomicWriteFile(file, `${JSON.stringify(renewed, null, 2)}\n`);
      } catch (e) {
        throw ioError(e, this.show(file), "write");
      }
    });
    return renewed;
  }

  async release(lock: LockInfo): Promise<void> {
    assertEnvName(lock.env);
    if ((await this.readText(this.lockFile(lock.env))) === undefined) return;
    await this.withGuard(this.lockGuard(lock.env), lock.env, async () => {
      const current = await this.readLock(lock.env).catch(() => undefined);
      // Someone else's (we expired and were taken over): theirs to release, not ours.
      if (current?.id === lock.id) await unlink(this.lockFile(lock.env)).catch(ignoreMissing);
    });
  }

  async forceUnlock(env: string): Promise<LockInfo | undefined> {
    assertEnvName(env);
    const file = this.lockFile(env);
    if ((await this.readText(file)) === undefined) return undefined;
    return this.withGuard(this.lockGuard(env), env, async () => {
      let current: LockInfo | undefined;
      try {
        current = await this.readLock(env);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        current = await unreadableLock(env, file);
      }
      if (current) await unlink(file).catch(ignoreMissing);
      return current;
    });
  }

  async readBlob(key: string): Promise<string | undefined> {
    assertBlobKey(key);
    return this.readText(this.blobFile(key));
  }

  async writeBlob(key: string, text: string, o: { ifAbsent?: boolean } = {}): Promise<boolean> {
    assertBlobKey(key);
    const file = this.blobFile(key);
    await this.ensureDir();
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      if (o.ifAbsent) return await createExclusive(file, text);
      await atomicWriteFile(file, text);
      return true;
    } catch (e) {
      throw ioError(e, this.show(file), "write");
    }
  }

  async deleteBlob(key: string): Promise<void> {
    assertBlobKey(key);
    await unlink(this.blobFile(key)).catch(ignoreMissing);
  }

  async listBlobs(prefix: string): Promise<string[]> {
    assertBlobKey(prefix);
    const root = join(this.dir, BLOB_FOLDER);
    const folder = prefix.endsWith("/") ? prefix : prefix.slice(0, prefix.lastIndexOf("/") + 1);
    let entries: string[];
    try {
      entries = (await readdir(join(root, folder), { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile() && !e.name.endsWith(".tmp"))
        .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join("/"));
    } catch (e) {
      if (errno(e) === "ENOENT") return [];
      throw ioError(e, this.show(join(root, folder)), "read");
    }
    return entries.filter((k) => k.startsWith(prefix)).sort();
  }

  private blobFile(key: string): string {
    return join(this.dir, BLOB_FOLDER, ...key.split("/"));
  }

  private stateFile(env: string): string {
    return join(this.dir, `${env}.json`);
  }

  private lockFile(env: string): string {
    return join(this.dir, `${env}.lock`);
  }

  private lockGuard(env: string): string {
    return join(this.dir, `${env}.lock.guard`);
  }

  private show(path: string): string {
    if (!this.baseDir) return path;
    const rel = relative(this.baseDir, path);
    return rel && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel) ? rel : path;
  }

  private async ensureDir(): Promise<void> {
    try {
      makePrivateDir(this.dir); // owner-only; inside .plinth/, with its .gitignore
    } catch (e) {
      throw ioError(e, this.show(this.dir), "create");
    }
  }

  private async readText(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, "utf8");
    } catch (e) {
      if (errno(e) === "ENOENT") return undefined;
      throw ioError(e, this.show(file), "read");
    }
  }

  /** The current lock, or undefined. A lock whose content is not yet complete is re-read briefly. */
  private async readLock(env: string): Promise<LockInfo | undefined> {
    const file = this.lockFile(env);
    for (let attempt = 0; ; attempt++) {
      const text = await this.readText(file);
      if (text === undefined) return undefined;
      try {
        return parseLock(text, { where: this.show(file), env });
      } catch (e) {
        // Only the no-hard-link fallback can expose a lock being written; give it a moment.
        if (attempt >= 10) throw e;
        await sleep(20);
      }
    }
  }

  /**
   * Check-then-change operations (replacing or removing an existing lock, replacing the state) run
   * under a short-lived guard file, so the check and the change cannot interleave with another
   * process's. Creating a lock needs none: it only succeeds when there is none.
   */
  private withGuard<T>(guard: string, env: string, fn: () => Promise<T>): Promise<T> {
    return withGuard(guard, { where: this.show(guard), env, ...this.guardOptions }, fn);
  }
}

async function unreadableLock(env: string, file: string): Promise<LockInfo> {
  const at = await stat(file).then(
    (s) => s.mtime.toISOString(),
    () => new Date().toISOString(),
  );
  return {
    env,
    holder: "unknown (unreadable lock file)",
    operation: "unknown",
    acquiredAt: at,
    expiresAt: at,
    id: "",
  };
}
