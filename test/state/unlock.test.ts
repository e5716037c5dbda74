import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { stateBackend } from "../../src/state/index.js";
import { cli, EXAMPLE_PATH, projectWithConfig } from "../helpers/config.js";
import { testbedEnv } from "../testbed/env.js";
import { s3Place } from "./s3-place.js";

const EXAMPLE = readFileSync(EXAMPLE_PATH, "utf8");

/** A project with the example config and the given `state` section. */
function project(state?: string): string {
  const source = state ? EXAMPLE.replace(/\n\}\);\s*$/, `\n  state: ${state},\n});\n`) : EXAMPLE;
  if (state) expect(source).not.toBe(EXAMPLE);
  return projectWithConfig(source);
}

describe("plinth unlock <env>", () => {
  it("clears a local lock, printing who held it; then says there is none (exit 0 both times)", async () => {
    const dir = project();
    const backend = stateBackend({}, { configDir: dir, env: {} });
    const held = await backend.lock("staging", "alice@laptop", "apply staging", 60_000);
    const r = await cli(["unlock", "staging"], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `unlocked staging: the lock was held by alice@laptop (apply staging) since ${held.acquiredAt}, until ${held.expiresAt}\n`,
    );
    expect(r.stderr).toContain("that lock had not expired");
    await backend.lock("staging", "bob@ci", "apply staging", 60_000);
    const again = await cli(["unlock", "staging"], dir);
    expect(again.stdout).toContain("unlocked staging: the lock was held by bob@ci");
    const none = await cli(["unlock", "staging"], dir);
    expect(none).toEqual({ code: 0, stdout: "staging is not locked (local: .plinth/state)\n", stderr: "" });
  });

  it("an expired lock is cleared without a warning", async () => {
    const dir = project('{ backend: "local", path: "state" }');
    await stateBackend({ state: { backend: "local", path: "state" } }, { configDir: dir, env: {} }).lock(
      "prod",
      "ci@github-actions",
      "apply prod",
      1,
    );
    await new Promise((r) => setTimeout(r, 10));
    const r = await cli(["unlock", "prod", "--config", `${dir}/plinth.config.ts`], dirname(dir));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("unlocked prod: the lock was held by ci@github-actions (apply prod)");
    expect(r.stderr).toBe("");
  });

  it("an unknown environment or a missing argument is the user's error (exit 2)", async () => {
    const dir = project();
    const unknown = await cli(["unlock", "preview"], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('plinth.config.ts: environments: unknown environment "preview"');
    const missing = await cli(["unlock"], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("plinth unlock <env>");
  });

  it("lists in plinth --help", async () => {
    const r = await cli(["--help"], project());
    expect(r.stdout).toMatch(/unlock\s+Clear an environment's state lock/);
  });

  describe("with state in S3 (the test bed's server)", () => {
    it("clears the lock object, and names the missing credentials when they are not set", async () => {
      const place = s3Place();
      const state = place.config.state as { endpoint: string; bucket: string; prefix: string };
      const dir = project(
        JSON.stringify({
          backend: "s3",
          endpoint: state.endpoint,
          bucket: state.bucket,
          prefix: state.prefix,
        }),
      );
      const held = await stateBackend(place.config, { configDir: dir, env: place.env }).lock(
        "staging",
        "alice@laptop",
        "apply staging",
        60_000,
      );
      const r = await cli(["unlock", "staging"], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        `the lock was held by alice@laptop (apply staging) since ${held.acquiredAt}`,
      );
      expect(await place.readRaw("staging", "lock")).toBeUndefined();
      const none = await cli(["unlock", "staging"], dir);
      expect(none.stdout).toBe(
        `staging is not locked (s3: ${testbedEnv("S3_ENDPOINT")}/${testbedEnv("S3_BUCKET")}/${place.prefix})\n`,
      );
      const saved = process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      try {
        const noKey = await cli(["unlock", "staging"], dir);
        expect(noKey.code).toBe(2);
        expect(noKey.stderr).toContain("AWS_SECRET_ACCESS_KEY is not set");
      } finally {
        process.env.AWS_SECRET_ACCESS_KEY = saved;
      }
      await place.cleanup();
    });
  });
});
