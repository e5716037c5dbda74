/**
 * The Node.js plinth runs on: bin/plinth refuses one older than the floor with one line (exit 2)
 * before it loads the bundle, and scripts/node.sh brings the pinned Node 24 from the npm registry.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin", "plinth");
const FLOOR = [22, 19];

function older(version: string): boolean {
  const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(Number);
  return major < (FLOOR[0] ?? 0) || (major === FLOOR[0] && minor < (FLOOR[1] ?? 0));
}

/** bin/plinth under `node`, with process.versions.node made to read `pretend` when given. */
function plinth(node: string, args: string[], pretend?: string) {
  const preload = pretend
    ? [`--import=data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${pretend}"})`]
    : [];
  return spawnSync(node, [...preload, BIN, ...args], { cwd: ROOT, encoding: "utf8" });
}

function expectRefused(r: ReturnType<typeof plinth>, version: string) {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe("");
  // One line, naming the floor, the version found and how to get a newer one; no stack trace.
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain(`plinth needs Node.js 22.19 or later (this is ${version})`);
  expect(r.stderr).toContain("scripts/node.sh 24");
  expect(r.stderr).not.toMatch(/\n\s+at |Error/);
}

describe("bin/plinth on an old Node.js", () => {
  // This machine kind's own Node is v20 (/usr/bin/node); elsewhere the running node, made to
  // report 20.20.2, stands in for it (the check reads only process.versions.node).
  const system = "/usr/bin/node";
  const systemVersion = existsSync(system)
    ? execFileSync(system, ["--version"], { encoding: "utf8" }).trim()
    : "";
  const realOld = systemVersion !== "" && older(systemVersion);

  it(`refuses ${realOld ? `the machine's ${system} ${systemVersion}` : "Node 20.20.2"} with one line and exit 2`, () => {
    const r = realOld
      ? plinth(system, ["plan", "staging", "--offline"])
      : plinth(process.execPath, ["plan"], "20.20.2");
    expectRefused(r, realOld ? systemVersion.slice(1) : "20.20.2");
  });

  it("the floor is 22.19: 22.18.0 is refused, 22.19.0 runs the CLI", () => {
    expectRefused(plinth(process.execPath, ["--version"], "22.18.0"), "22.18.0");
    const ok = plinth(process.execPath, ["--version"], "22.19.0");
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("scripts/node.sh", () => {
  it("installs the pinned Node 24 into .tools/ and prints its bin directory, the same on a second call", () => {
    const script = join(ROOT, "scripts", "node.sh");
    const first = execFileSync(script, ["24"], { encoding: "utf8", timeout: 300_000 }).trim();
    expect(first).toBe(join(ROOT, ".tools", "node-24.22.3", "bin"));
    expect(execFileSync(join(first, "node"), ["--version"], { encoding: "utf8" }).trim()).toBe("v24.22.3");
    const started = Date.now();
    expect(execFileSync(script, ["24"], { encoding: "utf8" }).trim()).toBe(first);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 300_000);

  it("refuses a major it has no pin for, with its usage and exit 2", () => {
    const r = spawnSync(join(ROOT, "scripts", "node.sh"), ["20"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("usage: scripts/node.sh 22|24");
  });
});
