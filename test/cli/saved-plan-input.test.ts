/**
 * Bad saved-plan inputs, run through the real CLI in-process: each is exit 2 naming the file or
 * flag with the fix, before any config, cluster or lock is touched. (Attacks on live plans, which
 * need the API server, are in test/engine/saved-plan-forgery.test.ts.)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import { EXAMPLE_PATH, tempDir } from "../helpers/config.js";

async function cli(argv: string[], cwd: string, env: Record<string, string | undefined> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await run(argv, {
    cwd,
    env: { ...process.env, PLINTH_PLAN_KEY: undefined, ...env },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}

const OFFLINE = ["plan", "staging", "--offline", "--config", EXAMPLE_PATH];

describe("apply plan.json: a file that is not a live plan", () => {
  it.each([
    ["null", "its JSON is null, not a plan object"],
    ["[1, 2]", "its JSON is an array, not a plan object"],
    ['"plan"', "its JSON is a string, not a plan object"],
    ['{"env": "staging"}', 'has no "cluster" text'],
  ])("JSON %s: exit 2 naming the file", async (json, said) => {
    const dir = tempDir();
    writeFileSync(join(dir, "null.json"), json);
    const r = await cli(["apply", "null.json", "--yes"], dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `null.json: is not a plan file: ${said} (make one with plinth plan <env> -o null.json)`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("an offline plan says it is one (before its hash is checked)", async () => {
    const dir = tempDir();
    const saved = await cli([...OFFLINE, "-o", "offline.json"], dir);
    expect(saved.code, saved.stderr).toBe(0);
    const r = await cli(["apply", "offline.json", "--yes"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "error: offline.json: is an offline plan (against an empty cluster) (make a live plan: plinth plan staging -o offline.json)",
    );
  });
});

describe("plan -o: where the plan goes", () => {
  it("into a folder that does not exist: exit 2 naming -o and the fix, nothing written", async () => {
    const dir = tempDir();
    const r = await cli([...OFFLINE, "-o", "missing/plan.json"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "error: -o missing/plan.json: the folder missing does not exist (create it first (mkdir -p missing) or write the plan elsewhere)",
    );
    expect(r.stdout).toBe("");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("onto an existing folder: exit 2 naming -o and a file to use instead", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "plans"));
    const r = await cli([...OFFLINE, "-o", "plans"], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "error: -o plans: is a folder, not a file (name a file, e.g. -o plans/plan.json)",
    );
    expect(readdirSync(join(dir, "plans"))).toEqual([]);
  });
});

describe("PLINTH_PLAN_KEY", () => {
  it("a key too short to sign with: exit 2 naming the variable, never its value", async () => {
    const dir = tempDir();
    const r = await cli([...OFFLINE, "-o", "plan.json"], dir, { PLINTH_PLAN_KEY: "hunter2-short-key" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("PLINTH_PLAN_KEY: is too short to sign plans with (at least 32 characters)");
    expect(r.stderr).toContain("openssl rand -hex 32");
    expect(r.stderr + r.stdout).not.toContain("hunter2");
    expect(existsSync(join(dir, "plan.json"))).toBe(false);
  });

  it("plan -o with the key set writes a signature, and the key nowhere", async () => {
    const dir = tempDir();
    const key = "a".repeat(64);
    const r = await cli([...OFFLINE, "-o", "plan.json", "--json"], dir, { PLINTH_PLAN_KEY: key });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, "plan.json"), "utf8");
    expect(JSON.parse(text).signature).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(text));
    expect(text + r.stdout + r.stderr).not.toContain(key);
  });
});
