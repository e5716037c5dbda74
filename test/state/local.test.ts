import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { LocalStateBackend, stateBackend } from "../../src/state/index.js";
import { backendBehaviour, type Place, sampleState } from "./suite.js";

function localPlace(path?: string): Place {
  const configDir = mkdtempSync(join(tmpdir(), "plinth-state-"));
  const dir = join(configDir, path ?? ".plinth/state");
  const file = (env: string, what: "state" | "lock") =>
    join(dir, `${env}.${what === "state" ? "json" : "lock"}`);
  return {
    config: { state: path ? { backend: "local", path } : undefined },
    configDir,
    env: {},
    async writeRaw(env, what, text) {
      await mkdir(dir, { recursive: true });
      await writeFile(file(env, what), text);
    },
    async readRaw(env, what) {
      return readFile(file(env, what), "utf8").catch(() => undefined);
    },
    async cleanup() {
      await rm(configDir, { recursive: true, force: true });
    },
  };
}

backendBehaviour({
  name: "local files",
  fresh: async () => localPlace(),
  objectName: (env, what) => new RegExp(`\\.plinth/state/${env}\\.${what === "state" ? "json" : "lock"}`),
});

describe("local state files", () => {
  it("live in .plinth/state/<env>.json next to the config by default, or under state.path", async () => {
    const place = localPlace();
    const backend = stateBackend({}, { configDir: place.configDir, env: {} });
    expect(backend.describe()).toBe("local: .plinth/state");
    await backend.read("staging");
    await backend.write(sampleState("staging"));
    expect(JSON.parse(readFileSync(join(place.configDir, ".plinth/state/staging.json"), "utf8"))).toEqual(
      sampleState("staging"),
    );
    const custom = stateBackend(
      { state: { backend: "local", path: "ops/state" } },
      { configDir: place.configDir, env: {} },
    );
    expect(custom.describe()).toBe("local: ops/state");
    await custom.read("prod");
    await custom.write(sampleState("prod"));
    expect(existsSync(join(place.configDir, "ops/state/prod.json"))).toBe(true);
    await place.cleanup();
  });

  it("leave no temp or guard files behind after writes and lock operations", async () => {
    const place = localPlace();
    const backend = stateBackend({}, { configDir: place.configDir, env: {} });
    await backend.read("staging");
    for (let i = 1; i <= 5; i++) await backend.write(sampleState("staging", i));
    const lock = await backend.lock("staging", "alice@laptop", "apply staging", 60_000);
    await backend.release(lock);
    expect(readdirSync(join(place.configDir, ".plinth/state"))).toEqual(["staging.json"]);
    await place.cleanup();
  });

  it("write the lock as JSON naming the holder, and remove it on release", async () => {
    const place = localPlace();
    const backend = stateBackend({}, { configDir: place.configDir, env: {} });
    const lock = await backend.lock("staging", "alice@laptop", "apply staging", 60_000);
    const file = join(place.configDir, ".plinth/state/staging.lock");
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(lock);
    await backend.release(lock);
    expect(existsSync(file)).toBe(false);
    await place.cleanup();
  });

  it("break a guard file left behind by a killed process once it is stale", async () => {
    const place = localPlace();
    const dir = join(place.configDir, ".plinth/state");
    const backend = new LocalStateBackend({ dir, baseDir: place.configDir });
    const held = await backend.lock("staging", "alice@laptop", "apply staging", 60_000);
    const guard = join(dir, "staging.lock.guard");
    await writeFile(guard, "");
    const old = new Date(Date.now() - 60_000);
    await utimes(guard, old, old);
    expect(await backend.forceUnlock("staging")).toEqual(held);
    expect(existsSync(guard)).toBe(false);
    await place.cleanup();
  });

  it("name the file and the fix when the folder cannot be written", async () => {
    const place = localPlace();
    // A file where the state folder should be.
    await writeFile(join(place.configDir, "blocked"), "");
    const backend = stateBackend(
      { state: { backend: "local", path: "blocked/state" } },
      { configDir: place.configDir, env: {} },
    );
    const e = await backend.lock("staging", "alice@laptop", "apply", 60_000).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toMatch(/blocked\/state: cannot create it: .*state\.path/);
    await place.cleanup();
  });
});
