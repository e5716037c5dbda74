/**
 * Errors are never replaced: when the clean-up after a failed run (releasing its lock, saving its
 * state) fails too, the run's own error is the one thrown, with the clean-up's problem after it.
 * Against real files: a lock file turned into a folder makes the release fail.
 */
import { mkdtempSync } from "node:fs";
import { mkdir, rename, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stopIfAborted } from "../../src/apply/executor.js";
import { lockedRun } from "../../src/cli/run-plan.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { LocalStateBackend, LockLostError } from "../../src/state/index.js";
import { withLaterFailure } from "../../src/state/later-failure.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function backend(): { state: LocalStateBackend; dir: string } {
  const base = mkdtempSync(join(tmpdir(), "plinth-errors-"));
  dirs.push(base);
  const dir = join(base, ".plinth/state");
  return { state: new LocalStateBackend({ dir, baseDir: base }), dir };
}

const applyFailed = () =>
  new UserError({
    severity: "error",
    path: "HelmChart kube-system/redis",
    message: "timed out waiting for it",
  });

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  );
}

describe("withLaterFailure", () => {
  it("keeps a user error first and adds the later problem as a second diagnostic", () => {
    const later = new UserError({
      severity: "error",
      path: ".plinth/state/staging.json",
      message: "cannot write it: the disk is full",
    });
    const e = withLaterFailure(applyFailed(), later, "saving the state of staging") as UserError;
    expect(e).toBeInstanceOf(UserError);
    expect(e.diagnostics.map((d) => [d.path, d.message])).toEqual([
      ["HelmChart kube-system/redis", "timed out waiting for it"],
      [
        ".plinth/state/staging.json",
        "saving the state of staging failed too: cannot write it: the disk is full",
      ],
    ]);
  });

  it("keeps a bug a bug (same error object), with the later problem appended to its message", () => {
    const bug = new TypeError("cannot read properties of undefined");
    const e = withLaterFailure(bug, new Error("socket hang up"), "saving the state of staging");
    expect(e).toBe(bug);
    expect(bug.message).toBe(
      "cannot read properties of undefined\nsaving the state of staging failed too: socket hang up",
    );
    expect(bug.stack).toContain("saving the state of staging failed too: socket hang up");
  });
});

describe("lockedRun (the one lock helper of apply, destroy and bootstrap)", () => {
  it("a failed run whose lock release fails too throws the run's error, the release problem after it", async () => {
    const { state, dir } = backend();
    const e = await thrown(
      lockedRun(state, "staging", "alice@laptop", "apply staging", async () => {
        // The lock file becomes a folder: the release cannot even read it.
        await unlink(join(dir, "staging.lock"));
        await mkdir(join(dir, "staging.lock"));
        throw applyFailed();
      }),
    );
    expect(e).toBeInstanceOf(UserError);
    const diagnostics = (e as UserError).diagnostics;
    expect(diagnostics[0]).toMatchObject({
      path: "HelmChart kube-system/redis",
      message: "timed out waiting for it",
    });
    expect(diagnostics[1]).toMatchObject({
      path: ".plinth/state/staging.lock",
      message: "releasing the lock of staging failed too: cannot read it: it is a folder",
    });
  });

  it("a run that worked and whose release fails throws the release problem", async () => {
    const { state, dir } = backend();
    const e = await thrown(
      lockedRun(state, "staging", "alice@laptop", "apply staging", async () => {
        await unlink(join(dir, "staging.lock"));
        await mkdir(join(dir, "staging.lock"));
        return 0;
      }),
    );
    expect((e as Error).message).toBe(
      ".plinth/state/staging.lock: cannot read it: it is a folder (fix the folder's permissions or free space, or point state.path in the config at a writable folder)",
    );
  });

  it("a lock taken over stops the run at its next step, saying why and where (exit 2: a user error)", async () => {
    const { state } = backend();
    const e = await thrown(
      lockedRun(
        state,
        "staging",
        "alice@laptop",
        "apply staging",
        async (held) => {
          const { signal } = held;
          stopIfAborted(signal, "component traefik (phase 0)");
          // Another run's lock lands in its place in one step (as a takeover after expiry does).
          const bob = { ...held.lock, holder: "bob@ci", id: "b".repeat(32) };
          await writeFile(join(state.dir, "bob.tmp"), JSON.stringify(bob));
          await rename(join(state.dir, "bob.tmp"), join(state.dir, "staging.lock"));
          await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
          stopIfAborted(signal, "component redis (phase 2)");
          return 0;
        },
        { ttlMs: 2_000, renewEveryMs: 200 },
      ),
    );
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).diagnostics).toHaveLength(1);
    expect((e as Error).message).toMatch(
      /^\.plinth\/state\/staging\.lock: lost the lock of staging: it was taken over by bob@ci \(apply staging\) since .*; stopped before component redis \(phase 2\) \(another plinth run may be changing staging now/,
    );
    // The new holder's lock is left alone.
    await expect(
      new LocalStateBackend({ dir: state.dir }).lock("staging", "carol@desk", "apply", 60_000),
    ).rejects.toThrow(/locked by bob@ci/);
  });

  it("a stop for another reason than a lost lock is thrown as it is", () => {
    const controller = new AbortController();
    const reason = new Error("interrupted");
    controller.abort(reason);
    expect(() => stopIfAborted(controller.signal, "component redis (phase 2)")).toThrow(reason);
    expect(() => stopIfAborted(new AbortController().signal, "x")).not.toThrow();
    expect(new LockLostError("staging", "s3://b/k", "why")).toBeInstanceOf(UserError);
  });
});
