/**
 * The local backend's guard file against the real file system: a stale guard left by a killed
 * process is broken by exactly one of the processes waiting on it, and never a fresh one.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { withGuard } from "../../src/state/guard.js";

const CHILD = fileURLToPath(new URL("./guard-child.ts", import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A folder holding a guard last touched a minute ago (its process was killed) and a counter. */
async function staleGuard(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "plinth-guard-"));
  dirs.push(dir);
  const guard = join(dir, "staging.lock.guard");
  await writeFile(guard, "");
  const old = new Date(Date.now() - 60_000);
  await utimes(guard, old, old);
  await writeFile(join(dir, "counter"), "0");
  return dir;
}

function runChild(dir: string, at: number): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, String(at)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`guard child exited ${code}: ${err}`)),
    );
  });
}

describe("breaking a stale local guard", () => {
  it("of processes racing to break the same stale guard exactly one wins, and none overlap", async () => {
    for (let round = 0; round < 2; round++) {
      const dir = await staleGuard();
      const at = Date.now() + 2_500; // all start together, after their module loading
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => runChild(dir, at)));
      expect(
        outcomes.filter((o) => o.startsWith("broke")),
        outcomes.join(", "),
      ).toHaveLength(1);
      expect(outcomes.filter((o) => o.includes("overlap"))).toEqual([]);
      expect(await readFile(join(dir, "counter"), "utf8")).toBe("8");
      // Nothing left behind: no guard, no renamed stale file.
      expect(readdirSync(dir).sort()).toEqual(["counter"]);
    }
  }, 60_000);

  it("of many concurrent attempts in one process exactly one breaks it, and they run one at a time", async () => {
    // The old delete-by-name broke a fresh guard in about one round in a hundred: many rounds.
    for (let round = 0; round < 60; round++) {
      const dir = await staleGuard();
      const guard = join(dir, "staging.lock.guard");
      let broken = 0;
      let inside = 0;
      let most = 0;
      let done = 0;
      await Promise.all(
        Array.from({ length: 30 }, () =>
          withGuard(guard, { where: guard, env: "staging", onStaleBroken: () => broken++ }, async () => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 2));
            inside--;
            done++;
          }),
        ),
      );
      expect({ round, broken, most, done }).toEqual({ round, broken: 1, most: 1, done: 30 });
      expect(readdirSync(dir).sort()).toEqual(["counter"]);
    }
  }, 60_000);

  it("leaves a fresh guard alone: a waiter times out naming it rather than breaking it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-guard-"));
    dirs.push(dir);
    const guard = join(dir, "staging.lock.guard");
    await writeFile(guard, "");
    const e = await withGuard(
      guard,
      { where: ".plinth/state/staging.lock.guard", env: "staging", waitMs: 300 },
      async () => 1,
    ).catch((err: unknown) => err as Error);
    expect((e as Error).message).toContain(
      "another plinth process has been changing the state or lock of environment staging for over 0.3s",
    );
    expect((e as Error).message).toContain(
      "if no plinth process is running, delete .plinth/state/staging.lock.guard",
    );
    expect(existsSync(guard)).toBe(true);
  });
});
