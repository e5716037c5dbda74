/**
 * The scheduled drift check end to end: an environment applied by plinth on the test bed's API
 * server, a hand edit with kubectl, and plinth's GitHub Action (the built bundle, as a runner
 * starts it: INPUT_* and GITHUB_* variables, GitHub's own workflow_dispatch example payload from
 * @octokit/webhooks-examples) against the STAND-IN for GitHub's API (test/github/standin.ts,
 * which judges every request and answer against GitHub's OpenAPI description): one issue
 * labelled plinth-drift opened, not duplicated by the next check, and closed after apply.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destroyEnvironment } from "../../src/index.js";
import {
  BED_CLOUDFLARE_TOKEN,
  ensureStandInCrds,
  kubectl,
  kubectlJson,
  plinth,
  project,
  ROOT,
} from "../engine/bed.js";
import { example } from "./examples.js";
import { type GitHubStandin, startGitHubStandin } from "./standin.js";

const ENV = "ghdrift";
const variables = { CLOUDFLARE_API_TOKEN: BED_CLOUDFLARE_TOKEN };
let dir: string;
let gh: GitHubStandin;

/**
 * Applies the environment with the built CLI, the same bundle the action runs (a plan by this
 * source tree could differ from the bundle's while others edit it), planning again when another
 * run on the shared API server moved an object the plan touches.
 */
async function apply(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const r = await plinth(["apply", ENV, "--yes", "--no-wait"], dir);
    if (r.code === 0) return;
    if (attempt >= 3 || !/no longer matches|moved since/.test(r.stderr)) {
      throw new Error(`plinth apply ${ENV} exited ${r.code}: ${r.stderr}`);
    }
  }
}

/** The action's bundle, run as the runner runs `runs.main` for the drift workflow's job. */
function action(): Promise<{ code: number | null; stdout: string; stderr: string; outputs: string }> {
  const work = mkdtempSync(join(tmpdir(), "plinth-action-"));
  const event = example("workflow_dispatch");
  writeFileSync(join(work, "event.json"), JSON.stringify(event));
  for (const f of ["output", "summary"]) writeFileSync(join(work, f), "");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    INPUT_CONFIG: "plinth.config.ts",
    "INPUT_WORKING-DIRECTORY": ".",
    "INPUT_GITHUB-TOKEN": gh.token,
    "INPUT_PLAN-KEY": "",
    INPUT_ENVIRONMENTS: ENV,
    INPUT_COMMAND: "",
    GITHUB_ACTIONS: "true",
    GITHUB_EVENT_NAME: "workflow_dispatch",
    GITHUB_EVENT_PATH: join(work, "event.json"),
    GITHUB_REPOSITORY: `${gh.owner}/${gh.repo}`,
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: "https://github.invalid",
    GITHUB_RUN_ID: "4242",
    GITHUB_OUTPUT: join(work, "output"),
    GITHUB_STEP_SUMMARY: join(work, "summary"),
    CLOUDFLARE_API_TOKEN: BED_CLOUDFLARE_TOKEN,
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "dist/bundle/action.js")], { cwd: dir, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) =>
      resolve({ code, stdout, stderr, outputs: readFileSync(join(work, "output"), "utf8") }),
    );
  });
}

const driftIssues = () => gh.state.issues.filter((i) => i.labels.includes("plinth-drift"));

describe.sequential("drift on a schedule, on the test bed", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = project({ env: ENV });
    await ensureStandInCrds();
    gh = await startGitHubStandin();
    await apply();
  });

  afterAll(async () => {
    await gh?.close();
    await destroyEnvironment({ env: ENV, cwd: dir, variables, deleteData: true, holder: "drift@bed" });
  });

  it("clean after apply: no issue; the label is made once", async () => {
    const r = await action();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${ENV}: clean`);
    expect(driftIssues()).toEqual([]);
    expect(gh.state.labels.has("plinth-drift")).toBe(true);
    expect(gh.violations).toEqual([]);
  });

  it("a hand edit opens one issue; the next check does not open another; apply closes it", async () => {
    const charts = await kubectlJson<{
      items: { metadata: { name: string; namespace: string }; spec: { version?: string } }[];
    }>("get", "helmcharts.helm.cattle.io", "-A", "-l", `plinth.dev/environment=${ENV}`);
    const chart = charts.items.find((c) => c.spec.version);
    if (!chart) throw new Error(`no HelmChart of ${ENV} with a version`);
    const { name, namespace } = chart.metadata;
    await kubectl(
      "patch",
      "helmchart",
      name,
      "-n",
      namespace,
      "--type",
      "merge",
      "-p",
      '{"spec":{"version":"0.0.1"}}',
    );

    const first = await action();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`${ENV}: drift in 1 object \\(opened an issue\\)`));
    expect(first.outputs).toContain(ENV);
    const [opened, ...others] = driftIssues();
    expect(others).toEqual([]);
    expect(opened).toMatchObject({
      state: "open",
      title: `Drift in ${ENV}: 1 object differ from the config`,
    });
    expect(opened?.body).toContain(`update HelmChart \`${namespace}/${name}\``);
    expect(opened?.body).toContain("`spec.version`");
    expect(opened?.body).toContain("Found by https://github.invalid/");

    const second = await action();
    expect(second.code, second.stderr).toBe(0);
    expect(driftIssues()).toHaveLength(1);

    await apply();
    const third = await action();
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain(`${ENV}: clean (closed #${opened?.number})`);
    expect(driftIssues()).toEqual([expect.objectContaining({ number: opened?.number, state: "closed" })]);
    expect(gh.state.comments).toContainEqual(
      expect.objectContaining({
        issue: opened?.number,
        body: expect.stringContaining("matches the config again"),
      }),
    );
    expect(gh.violations).toEqual([]);
  });
});
