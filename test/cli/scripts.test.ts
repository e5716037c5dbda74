// bin/plinth runs the offline commands from dist/bundle/offline.cjs, and a live plan from
// dist/bundle/plan.cjs, with a V8 code cache it writes after a successful run (scripts/bundle.mjs,
// bin/plinth; test/engine runs plan.cjs against the test bed's API server). What it prints must be what the
// source tree prints, the cache must be kept only where no one else can write, and a cache that is
// missing, damaged or refused must only cost time. `npm test` builds dist/ first.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/main.js";
import { SCRIPTED_COMMANDS, scriptFor } from "../../src/cli/scripted.js";
import { cli, EXAMPLE_PATH, tempDir } from "../helpers/config.js";

const BIN = fileURLToPath(new URL("../../bin/plinth", import.meta.url));

/** The built CLI with its own temp folder, so its code cache is this test's alone. */
function built(argv: string[], tmp: string, env: Record<string, string> = {}) {
  return spawnSync(BIN, argv, { encoding: "utf8", env: { ...process.env, TMPDIR: tmp, ...env } });
}

function cacheDir(tmp: string): string {
  return join(tmp, `plinth-${process.getuid?.()}`, "script-cache");
}

function cacheFiles(tmp: string): string[] {
  const dir = cacheDir(tmp);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

const PLAN = ["plan", "staging", "--offline", "--config", EXAMPLE_PATH];

describe("the scripts (dist/bundle/offline.cjs, plan.cjs)", () => {
  it.each([
    [["validate", "--config", EXAMPLE_PATH]],
    [["graph", "prod", "--config", EXAMPLE_PATH]],
    [["domains", "prod", "--json", "--access", "--config", EXAMPLE_PATH]],
    [["plan", "nope", "--offline", "--config", EXAMPLE_PATH]],
    [["plan", "staging", "--offline", "--bogus", "--config", EXAMPLE_PATH]],
  ])("%j prints byte for byte what the source tree does, with and without its cache", async (argv) => {
    const tmp = tempDir();
    const source = await cli(argv, process.cwd());
    for (const run of ["cold", "cached"]) {
      const r = built(argv, tmp);
      expect(r.status, `${run}: ${r.stderr}`).toBe(source.code);
      expect(r.stdout, run).toBe(source.stdout);
      expect(r.stderr, run).toBe(source.stderr);
    }
  });

  it("render writes the same files as the source tree", async () => {
    const tmp = tempDir();
    const [fromSource, fromBuilt] = [join(tmp, "source"), join(tmp, "built")];
    const source = await cli(
      ["render", "prod", "--out", fromSource, "--config", EXAMPLE_PATH],
      process.cwd(),
    );
    const r = built(["render", "prod", "--out", fromBuilt, "--config", EXAMPLE_PATH], tmp);
    expect(r.status, r.stderr).toBe(source.code);
    expect(r.stdout.replaceAll(fromBuilt, "OUT")).toBe(source.stdout.replaceAll(fromSource, "OUT"));
    const files = (readdirSync(fromSource, { recursive: true }) as string[]).sort();
    expect(files.length).toBeGreaterThan(10);
    expect((readdirSync(fromBuilt, { recursive: true }) as string[]).sort()).toEqual(files);
    for (const f of files) {
      if (statSync(join(fromSource, f)).isFile()) {
        expect(readFileSync(join(fromBuilt, f), "utf8"), f).toBe(readFileSync(join(fromSource, f), "utf8"));
      }
    }
  });

  it("writes one cache per command after a successful run, and reuses it without writing again", () => {
    const tmp = tempDir();
    const first = built(PLAN, tmp);
    expect(first.status, first.stderr).toBe(0);
    const [file, ...others] = cacheFiles(tmp);
    expect(others).toEqual([]);
    expect(file).toMatch(/^offline-v\d+\.\d+\.\d+-\d+-\d+-[0-9a-z]+-plan\.bin$/);
    const path = join(cacheDir(tmp), file ?? "");
    const written = statSync(path);
    expect(written.mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir(tmp)).mode & 0o777).toBe(0o700);

    const again = built(PLAN, tmp);
    expect(again.stdout).toBe(first.stdout);
    expect(statSync(path).mtimeMs).toBe(written.mtimeMs);
    expect(statSync(path).ino).toBe(written.ino);

    expect(built(["validate", "--config", EXAMPLE_PATH], tmp).status).toBe(0);
    expect(cacheFiles(tmp).map((f) => f.replace(/^.*-/, ""))).toEqual(["plan.bin", "validate.bin"]);
  });

  it("a failed run writes no cache (it compiled its error path, not the command's)", () => {
    const tmp = tempDir();
    const r = built(["plan", "nope", "--offline", "--config", EXAMPLE_PATH], tmp);
    expect(r.status).toBe(2);
    expect(cacheFiles(tmp)).toEqual([]);
  });

  it("a damaged cache is refused by V8, costs only time, and is written again", () => {
    const tmp = tempDir();
    const first = built(PLAN, tmp);
    const path = join(cacheDir(tmp), cacheFiles(tmp)[0] ?? "");
    writeFileSync(path, Buffer.alloc(4096, 7));
    const r = built(PLAN, tmp);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(first.stdout);
    expect(readFileSync(path).equals(Buffer.alloc(4096, 7))).toBe(false);
  });

  it("a cache folder others can write is not used, read or written", () => {
    const tmp = tempDir();
    built(PLAN, tmp);
    const dir = cacheDir(tmp);
    const path = join(dir, cacheFiles(tmp)[0] ?? "");
    chmodSync(dir, 0o777);
    // Whoever can write the folder could have put their own code there: a damaged file shows
    // whether it is read (V8 would refuse it and plinth would write it again).
    writeFileSync(path, "not a cache");
    const r = built(PLAN, tmp);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(path, "utf8")).toBe("not a cache");
  });

  it("NODE_DISABLE_COMPILE_CACHE=1 turns it off, as it does Node's own", () => {
    const tmp = tempDir();
    expect(built(PLAN, tmp, { NODE_DISABLE_COMPILE_CACHE: "1" }).status).toBe(0);
    expect(cacheFiles(tmp)).toEqual([]);
  });

  it("a live plan runs from plan.cjs: it reaches for the cluster, says so as the source tree does, and keeps no cache when it fails", async () => {
    const tmp = tempDir();
    const argv = ["plan", "ci", "--config", EXAMPLE_PATH];
    const env = { KUBECONFIG: join(tmp, "missing-kubeconfig") };
    const r = built(argv, tmp, env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/kubeconfig/i);
    expect(cacheFiles(tmp)).toEqual([]);
  });

  it("bin/plinth sends exactly the runs scriptFor names to each script", () => {
    const bin = readFileSync(BIN, "utf8");
    const listed = /: (\[[^\]]*\])\.includes\(argv\[0\]\)/.exec(bin)?.[1];
    expect(listed, "bin/plinth's list of offline commands").toBeDefined();
    const names = JSON.parse(listed ?? "[]") as string[];
    expect([...names, "plan"].sort()).toEqual(SCRIPTED_COMMANDS.map((c) => c.name).sort());
    const binScript = (argv: string[]) =>
      argv[0] === "plan"
        ? argv.includes("--offline")
          ? "offline"
          : "plan"
        : names.includes(argv[0] ?? "")
          ? "offline"
          : undefined;
    expect(bin).toContain(
      'argv[0] === "plan"\n    ? argv.includes("--offline")\n      ? "offline"\n      : "plan"',
    );
    for (const c of COMMANDS) {
      for (const argv of [
        [c.name, "x"],
        [c.name, "x", "--offline"],
      ]) {
        expect(binScript(argv), argv.join(" ")).toBe(scriptFor(argv));
      }
    }
  });
});
