import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { link, open, rename, stat, unlink } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../diagnostics/diagnostic.js";
import { errno, ignoreMissing, ioError } from "./fs-errors.js";

/** A guard is held for milliseconds; one this old was left behind by a killed process. */
export const STALE_GUARD_MS = 30_000;
const GUARD_WAIT_MS = 10_000;

export interface GuardOptions {
  /** The guard file as messages show it (relative to the config's folder). */
  where: string;
  /** The environment whose state or lock it guards, for messages. */
  env: string;
  staleMs?: number;
  waitMs?: number;
  /** Called when this process broke a stale guard (tests count them). */
  onStaleBroken?: () => void;
}

const sameFile = (a: Stats, b: Stats): boolean =>
  a.dev === b.dev && a.ino === b.ino && a.mtimeMs === b.mtimeMs;

/**
 * Runs `fn` holding the guard file `guard` (created with `wx`), so a check and the change after it
 * cannot interleave with another process's. A guard older than `staleMs` was left by a killed
 * process and is broken (see breakStale).
 */
export async function withGuard<T>(guard: string, o: GuardOptions, fn: () => Promise<T>): Promise<T> {
  const staleMs = o.staleMs ?? STALE_GUARD_MS;
  const waitMs = o.waitMs ?? GUARD_WAIT_MS;
  const deadline = Date.now() + waitMs;
  let mine: Stats;
  for (;;) {
    try {
      const fh = await open(guard, "wx", 0o644);
      try {
        mine = await fh.stat();
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if (errno(e) !== "EEXIST") throw ioError(e, o.where, "create");
    }
    const seen = await stat(guard).catch(() => undefined);
    if (seen && Date.now() - seen.mtimeMs > staleMs && (await breakStale(guard, seen, staleMs))) {
      o.onStaleBroken?.();
      continue;
    }
    if (Date.now() > deadline) {
      throw new UserError({
        severity: "error",
        path: o.where,
        message: `another plinth process has been changing the state or lock of environment ${o.env} for over ${waitMs / 1000}s`,
        fix: `if no plinth process is running, delete ${o.where}`,
      });
    }
    await sleep(5 + Math.floor(Math.random() * 20));
  }
  try {
    return await fn();
  } finally {
    // Only our own guard: if ours was broken as stale (this process stalled), the file there now
    // is another process's, and removing it would let a third one in beside it.
    const now = await stat(guard).catch(() => undefined);
    if (now && now.dev === mine.dev && now.ino === mine.ino) await unlink(guard).catch(ignoreMissing);
  }
}

/**
 * Removes the stale guard `seen`, and only it; returns whether this call broke it.
 *
 * Deleting by name would race: two waiters both see the stale guard, the first deletes it and
 * takes a fresh one, the second then deletes that fresh guard, and both run at once. Renaming
 * alone is not enough either: a waiter whose look is outdated renames the fresh guard away, and
 * while it puts it back the name is free for a third. So breakers take turns under a second guard
 * (`<guard>.break`); under it, the stale guard is still at its name (no other breaker can move it,
 * and a plain waiter only creates a guard where there is none), and it is renamed to a name no one
 * else uses, then checked to be the very stale file seen before it is deleted.
 */
export async function breakStale(guard: string, seen: Stats, staleMs: number): Promise<boolean> {
  const turn = `${guard}.break`;
  try {
    await (await open(turn, "wx", 0o644)).close();
  } catch (e) {
    if (errno(e) !== "EEXIST") throw e;
    // Another breaker is at it; one that was killed half way leaves its turn behind, broken as a
    // guard is (its own turn taken with a rename, so two cannot both remove it).
    const other = await stat(turn).catch(() => undefined);
    if (other && Date.now() - other.mtimeMs > staleMs) await moveAsideIfStale(turn, other, staleMs);
    return false;
  }
  try {
    const now = await stat(guard).catch(() => undefined);
    if (!now || !sameFile(now, seen)) return false; // released or broken since we looked
    return await moveAsideIfStale(guard, seen, staleMs);
  } finally {
    await unlink(turn).catch(ignoreMissing);
  }
}

/**
 * Renames `file` to a unique name and deletes it if it is the stale file `seen`; anything else
 * (a fresh file taken meanwhile) is put back with `link`, which never replaces a file.
 */
async function moveAsideIfStale(file: string, seen: Stats, staleMs: number): Promise<boolean> {
  const aside = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.stale`;
  try {
    await rename(file, aside);
  } catch (e) {
    if (errno(e) === "ENOENT") return false;
    throw e;
  }
  const moved = await stat(aside);
  const stale = sameFile(moved, seen) && Date.now() - moved.mtimeMs > staleMs;
  if (!stale) await link(aside, file).catch(ignoreExists);
  await unlink(aside).catch(ignoreMissing);
  return stale;
}

function ignoreExists(e: unknown): void {
  if (errno(e) !== "EEXIST") throw e;
}
