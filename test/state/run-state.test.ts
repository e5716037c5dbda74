/**
 * The state write after a run never hides the run's own error (src/cli/run-plan.ts): `plinth
 * destroy` of an environment never deployed, against the test bed's API server, whose state file
 * cannot be saved (a folder stands where `<env>.json` goes; tests run as root, so permissions
 * would not stop the write). The folder appears at the run's first request to the API server:
 * plinth reads the state before it (a restored database's generation), and unreadable state
 * there stops the run before it touches anything. A destroy that worked: the state problem is the error. A destroy that
 * failed (the API server, through the test's fault proxy, answers 500 to every write): its error
 * first, the state problem after it.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import { kubeconfig } from "../engine/bed.js";
import { type KubeFaultProxy, startKubeFaultProxy } from "../engine/fault-proxy.js";

const ENV = "stw";
const dirs: string[] = [];
let proxy: KubeFaultProxy;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "plinth-run-state-"));
  dirs.push(dir);
  proxy = await startKubeFaultProxy({ kubeconfig: kubeconfig(), dir });
});
afterAll(async () => {
  await proxy?.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/**
 * A project with one environment on the API server behind the fault proxy, whose state file turns
 * into a folder at the run's first request (a queued entry that never matches, for its side effect).
 */
function project(kube: string): string {
  const dir = mkdtempSync(join(tmpdir(), "plinth-run-state-"));
  dirs.push(dir);
  writeFileSync(
    join(dir, "plinth.config.ts"),
    `import { defineConfig } from "plinth";
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kube)} } },
  environments: { ${ENV}: { kind: "ci", cluster: "bed" } },
});
`,
  );
  proxy.inject({ kind: "status", status: 500 }, 1, () => {
    mkdirSync(join(dir, `.plinth/state/${ENV}.json`), { recursive: true });
    return false;
  });
  return dir;
}

async function plinth(
  argv: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await run(argv, {
    cwd,
    env: { ...process.env, PLINTH_HOLDER: "test@bed", VAULT_ADDR: "", VAULT_TOKEN: "" },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}

const STATE_PROBLEM = `.plinth/state/${ENV}.json: cannot read it: it is a folder`;

describe("the state write after a run", { timeout: 120_000 }, () => {
  it("is the error when the run worked and its state cannot be saved (exit 2), and the lock is released", async () => {
    const dir = project(proxy.kubeconfig);
    const r = await plinth(["destroy", ENV, "--yes"], dir);
    proxy.clear();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(STATE_PROBLEM);
    expect(r.stderr).not.toContain("failed too");
    expect(readdirSync(join(dir, ".plinth/state"))).toEqual([`${ENV}.json`]);
  });

  it("unreadable before the run stops it before any request to the API server (exit 2)", async () => {
    const dir = project(proxy.kubeconfig);
    proxy.clear();
    mkdirSync(join(dir, `.plinth/state/${ENV}.json`), { recursive: true });
    const before = proxy.seen.length;
    const r = await plinth(["destroy", ENV, "--yes"], dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(STATE_PROBLEM);
    expect(proxy.seen.length).toBe(before);
  });

  it("comes after the run's own error when both fail: the run's error is not replaced", async () => {
    const dir = project(proxy.kubeconfig);
    const write = (method: string, path: string) =>
      (method === "PATCH" || method === "POST" || method === "PUT" || method === "DELETE") &&
      !path.includes("dryRun");
    proxy.inject({ kind: "status", status: 500 }, 1_000, write);
    const r = await plinth(["destroy", ENV, "--yes"], dir);
    proxy.clear();
    expect(r.code, r.stderr).toBe(2);
    const apiError = r.stderr.indexOf("the API server kept failing (500");
    const stateError = r.stderr.indexOf(
      `saving the state of ${ENV} failed too: cannot read it: it is a folder`,
    );
    expect(apiError, r.stderr).toBeGreaterThanOrEqual(0);
    expect(stateError, r.stderr).toBeGreaterThan(apiError);
    expect(r.stderr).toContain(`.plinth/state/${ENV}.json: saving the state of ${ENV} failed too`);
    expect(readdirSync(join(dir, ".plinth/state"))).toEqual([`${ENV}.json`]);
  });
});
