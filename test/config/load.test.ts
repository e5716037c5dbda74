import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cacheFileOf } from "../../src/config/compile-cache.js";
import { loadConfig } from "../../src/config/load.js";
import { makePrivateDir } from "../../src/config/plinth-dir.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { tempDir } from "../helpers/config.js";

/** A valid config whose project name comes from `expr` (evaluated in the config's module). */
function configSource(expr: string, prelude = ""): string {
  return `import { defineConfig } from "plinth";
${prelude}
export default defineConfig({
  project: ${expr},
  clusters: { local: { type: "existing" } },
  environments: { dev: { cluster: "local" } },
});
`;
}

function project(prelude: string, expr: string, files: Record<string, string> = {}): string {
  const dir = tempDir("plinth-load-");
  writeFileSync(join(dir, "plinth.config.ts"), configSource(expr, prelude));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function projectName(dir: string): Promise<string> {
  return (await loadConfig({ cwd: dir })).config.project;
}

async function loadError(dir: string, timeLimitMs?: number): Promise<UserError> {
  const e = await loadConfig({ cwd: dir, ...(timeLimitMs ? { timeLimitMs } : {}) }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  return e as UserError;
}

/** Only the config, its .plinth folder and the files the test wrote: no temp file left beside it. */
function leftovers(dir: string, expected: string[]): string[] {
  return readdirSync(dir).filter((n) => ![".plinth", "plinth.config.ts", ...expected].includes(n));
}

describe("config evaluation has a time limit and leaves nothing behind", () => {
  it("a default export that never settles stops after the limit, naming the file", async () => {
    const dir = project("", "await new Promise<string>(() => {})");
    const started = Date.now();
    const e = await loadError(dir, 300);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(e.message).toContain("plinth.config.ts: did not finish evaluating within 0.3 s");
    expect(e.message).toContain("PLINTH_CONFIG_TIMEOUT");
    expect(leftovers(dir, [])).toEqual([]);
  });

  it.each([
    ["at the top level", "(() => { for (;;) {} })() as string", ""],
    ["in the exported function", "", "fn"],
    ["after an await", "", "async"],
  ])("a synchronous infinite loop %s is interrupted", async (_, expr, form) => {
    const dir = tempDir("plinth-load-");
    const source =
      form === ""
        ? configSource(expr)
        : `import { defineConfig } from "plinth";
export default defineConfig(${form === "async" ? "async" : ""} () => {
  ${form === "async" ? "await new Promise((r) => setTimeout(r, 10));" : ""}
  for (;;) {}
});
`;
    writeFileSync(join(dir, "plinth.config.ts"), source);
    const started = Date.now();
    const e = await loadError(dir, 300);
    // limit + the watchdog's grace (1 s at least) + start-up
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(e.message).toContain("plinth.config.ts: did not finish evaluating within 0.3 s");
    expect(leftovers(dir, [])).toEqual([]);
    // The process carries on: the next config loads as ever.
    expect(await projectName(project("", '"after"'))).toBe("after");
  });

  it("a config that throws a non-Error says what it threw", async () => {
    for (const [thrown, words] of [
      ["null", "failed while evaluating: threw null, not an Error"],
      ['"text"', 'failed while evaluating: threw "text"'],
      ["42", "failed while evaluating: threw 42"],
    ] as const) {
      const e = await loadError(project(`throw ${thrown};`, '"x"'));
      expect(e.message).toContain(`plinth.config.ts: ${words}`);
      expect(e.message).not.toContain("undefined");
    }
  });
});

describe("the compiled-config cache", () => {
  it("is owner-only, and .plinth/ ignores itself in git", async () => {
    const dir = project("", '"modes"');
    expect(await projectName(dir)).toBe("modes");
    const cache = cacheFileOf(join(dir, "plinth.config.ts"));
    expect(statSync(join(dir, ".plinth", "cache")).mode & 0o777).toBe(0o700);
    expect(statSync(cache).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, ".plinth", ".gitignore"), "utf8").trim()).toBe("*");
    expect(leftovers(dir, [])).toEqual([]);
  });

  it("a new file that shadows an imported one (lib.ts beside lib.js) invalidates it", async () => {
    const dir = project('import { name } from "./lib";', "name", {
      "lib.js": 'export const name = "from-js";\n',
    });
    expect(await projectName(dir)).toBe("from-js");
    expect(await projectName(dir)).toBe("from-js"); // from the cache
    writeFileSync(join(dir, "lib.ts"), 'export const name: string = "from-ts";\n');
    expect(await projectName(dir)).toBe("from-ts");
  });

  it("an edited import invalidates it", async () => {
    const dir = project('import { name } from "./lib.js";', "name", {
      "lib.js": 'export const name = "one";\n',
    });
    expect(await projectName(dir)).toBe("one");
    writeFileSync(join(dir, "lib.js"), 'export const name = "two";\n');
    expect(await projectName(dir)).toBe("two");
  });

  it("a tsconfig.json change (paths) invalidates it", async () => {
    const tsconfig = (target: string) =>
      JSON.stringify({ compilerOptions: { baseUrl: ".", paths: { "@names": [target] } } });
    const dir = project('import { name } from "@names";', "name", {
      "a.ts": 'export const name = "alpha";\n',
      "b.ts": 'export const name = "beta";\n',
      "tsconfig.json": tsconfig("./a.ts"),
    });
    expect(await projectName(dir)).toBe("alpha");
    writeFileSync(join(dir, "tsconfig.json"), tsconfig("./b.ts"));
    expect(await projectName(dir)).toBe("beta");
  });

  it("a tampered cache file is not run; one resealed by someone else's hand is not trusted either", async () => {
    const dir = project("", '"genuine"');
    expect(await projectName(dir)).toBe("genuine");
    const cache = cacheFileOf(join(dir, "plinth.config.ts"));
    const entry = JSON.parse(readFileSync(cache, "utf8")) as { code: string; key: string; seal: string };
    expect(entry.code).toContain('"genuine"');

    // The code edited, the seal left: recompiled from the config instead.
    writeFileSync(cache, JSON.stringify({ ...entry, code: entry.code.replace('"genuine"', '"forged"') }));
    expect(await projectName(dir)).toBe("genuine");

    // Resealed but writable by others (group/world): not read.
    const code = entry.code.replace('"genuine"', '"forged"');
    const resealed = {
      ...entry,
      code,
      seal: createHash("sha256").update(`${entry.key}\0${code}`).digest("hex"),
    };
    writeFileSync(cache, JSON.stringify(resealed));
    chmodSync(cache, 0o666);
    expect(await projectName(dir)).toBe("genuine");

    // Control: the same resealed file, owner-only, is what the cache serves (it is really read).
    writeFileSync(cache, JSON.stringify(resealed));
    chmodSync(cache, 0o600);
    expect(await projectName(dir)).toBe("forged");
  });
});

describe(".plinth/ stays out of git", () => {
  it("a fresh project's .plinth/ (cache, state, known hosts) is ignored by git without any setup", async () => {
    const dir = project("", '"gitcheck"');
    execFileSync("git", ["init", "-q", dir]);
    expect(await projectName(dir)).toBe("gitcheck");
    // What the state backend and the SSH step write there later.
    makePrivateDir(join(dir, ".plinth", "state"));
    writeFileSync(join(dir, ".plinth", "state", "dev.json"), "{}");
    writeFileSync(join(dir, ".plinth", "known_hosts"), "host ssh-ed25519 AAAA\n");
    const untracked = execFileSync("git", ["status", "--porcelain", "--untracked-files=all"], { cwd: dir })
      .toString()
      .trim();
    expect(untracked).toBe("?? plinth.config.ts");
    expect(statSync(join(dir, ".plinth")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, ".plinth", "state")).mode & 0o777).toBe(0o700);
  });

  it("a .gitignore the user wrote is kept; a folder outside .plinth/ gets none", () => {
    const dir = tempDir("plinth-dir-");
    makePrivateDir(join(dir, ".plinth"));
    writeFileSync(join(dir, ".plinth", ".gitignore"), "cache/\n");
    makePrivateDir(join(dir, ".plinth", "vault"));
    expect(readFileSync(join(dir, ".plinth", ".gitignore"), "utf8")).toBe("cache/\n");
    makePrivateDir(join(dir, "state"));
    expect(readdirSync(join(dir, "state"))).toEqual([]);
    expect(existsSync(join(dir, ".gitignore"))).toBe(false);
  });
});
