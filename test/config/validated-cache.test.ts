// A config identical to one the same plinth build validated is not checked again
// (src/config/validated-cache.ts): zod is not loaded. Only a bundle knows its build, so the
// behaviour is proven through the built CLI (`npm test` builds dist/ first); an edit, however
// small, must always be checked.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { plainJson, validatedCacheOf } from "../../src/config/validated-cache.js";
import { cli, EXAMPLE_PATH, projectWithConfig } from "../helpers/config.js";

const BIN = fileURLToPath(new URL("../../bin/plinth", import.meta.url));

function validate(dir: string) {
  return spawnSync(BIN, ["validate"], { cwd: dir, encoding: "utf8" });
}

function exampleProject(): { dir: string; config: string; cache: string } {
  const dir = projectWithConfig(readFileSync(EXAMPLE_PATH, "utf8"));
  const config = join(dir, "plinth.config.ts");
  return { dir, config, cache: validatedCacheOf(config) };
}

describe("plainJson: JSON text only for data JSON gives back exactly", () => {
  it.each([
    [
      "nested plain data",
      { a: [1, "x", true, null, { b: 2.5 }], c: {} },
      '{"a":[1,"x",true,null,{"b":2.5}],"c":{}}',
    ],
    [
      "an object shared by two places (not a loop)",
      (() => {
        const s = { x: 1 };
        return { a: s, b: s };
      })(),
      '{"a":{"x":1},"b":{"x":1}}',
    ],
    ["an object without a prototype", Object.assign(Object.create(null), { a: 1 }), '{"a":1}'],
  ])("%s", (_, value, json) => {
    expect(plainJson(value)).toBe(json);
  });

  it.each([
    ["undefined as a value (JSON drops the key, zod keeps it)", { a: undefined }],
    ["a function", { f: () => 1 }],
    ["a Date (JSON gives a string back)", { d: new Date(0) }],
    ["NaN", { n: Number.NaN }],
    ["Infinity", [Number.POSITIVE_INFINITY]],
    ["-0", { z: -0 }],
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case
    ["a sparse array", [1, , 3]],
    ["an array with a named property", Object.assign([1], { extra: true })],
    ["a getter", Object.defineProperty({}, "g", { get: () => 1, enumerable: true })],
    ["a hidden key", Object.defineProperty({}, "h", { value: 1, enumerable: false })],
    ["a symbol key", { [Symbol("s")]: 1 }],
    ["a class instance", new (class Thing {})()],
    ["a Map", new Map([["a", 1]])],
    ["a bigint", { b: 1n }],
    [
      "a loop",
      (() => {
        const o: Record<string, unknown> = {};
        o.self = { o };
        return o;
      })(),
    ],
  ])("%s: not plain", (_, value) => {
    expect(plainJson(value)).toBeUndefined();
  });
});

describe("the validated-config cache, through the built CLI", () => {
  it("is written after a valid config is checked, and used while the config evaluates to the same data", () => {
    const p = exampleProject();
    const first = validate(p.dir);
    expect(first.status, first.stderr).toBe(0);
    expect(statSync(p.cache).mode & 0o777).toBe(0o600);
    const written = statSync(p.cache).mtimeMs;
    const entry = JSON.parse(readFileSync(p.cache, "utf8")) as { input: string; build: string };
    expect(entry.build).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.parse(entry.input).project).toBe("acme");

    // Reformatted and commented, the same data: the same answer, the cache used as it is.
    writeFileSync(p.config, `// reviewed\n${readFileSync(p.config, "utf8").replaceAll("\n", "\n\n")}`);
    const again = validate(p.dir);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    expect(statSync(p.cache).mtimeMs).toBe(written);
  });

  it("an edit is always checked: a mistake is reported, never hidden by the cache", () => {
    const p = exampleProject();
    expect(validate(p.dir).status).toBe(0);
    const valid = readFileSync(p.config, "utf8");
    writeFileSync(p.config, valid.replace(/sshPort: \d+/, 'sshPort: "22"'));
    const broken = validate(p.dir);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/sshPort: is the string "22"/);
    writeFileSync(p.config, valid);
    expect(validate(p.dir).status).toBe(0);
  });

  it("an entry that is not private, or from another build, is not used: the config is checked and the entry replaced", () => {
    const p = exampleProject();
    expect(validate(p.dir).status).toBe(0);
    chmodSync(p.cache, 0o644);
    expect(validate(p.dir).status).toBe(0);
    expect(statSync(p.cache).mode & 0o777).toBe(0o600);

    const entry = JSON.parse(readFileSync(p.cache, "utf8")) as { build: string; config: { project: string } };
    // Another build's entry with a config that would show if it were used.
    writeFileSync(
      p.cache,
      JSON.stringify({ ...entry, build: "0".repeat(32), config: { ...entry.config, project: "other" } }),
      {
        mode: 0o600,
      },
    );
    const r = spawnSync(BIN, ["domains", "staging", "--json"], { cwd: p.dir, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("other");
    expect((JSON.parse(readFileSync(p.cache, "utf8")) as { build: string }).build).toBe(entry.build);
  });

  it("run from the source tree (no build to key it by), every config is checked and nothing is kept", async () => {
    const p = exampleProject();
    const r = await cli(["validate"], p.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(p.cache)).toBe(false);
  });
});
