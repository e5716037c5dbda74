/**
 * plinth's GitHub Action as a release ships it: scripts/action-release.mjs assembles the tree the
 * release workflow commits, and the runner's part is played here (`node <runs.main>` with the
 * INPUT_* and GITHUB_* variables a runner sets), far from this checkout's node_modules. Proves the
 * tree is self-contained: the config compiles (esbuild from the tree), `import "plinth"` resolves
 * to the tree's own dist/index.js, and the inputs reach plinth (plan key, command, outputs).
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { STICKY_MARKER } from "../../src/github/comment.js";
import { EXAMPLE_PATH } from "../helpers/config.js";
import { root } from "../testbed/env.js";
import { commentEvent, pullRequestEvent } from "./examples.js";
import { type GitHubStandin, startGitHubStandin } from "./standin.js";

const run = promisify(execFile);
let tree: string;
let main: string;

/** No node_modules in any folder above `dir`: Node would otherwise find packages the tree lacks. */
function noNodeModulesAbove(dir: string): void {
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    expect(existsSync(join(d, "node_modules")), `${d}/node_modules`).toBe(false);
  }
}

function runAction(inputs: Record<string, string>, cwd: string, extra: Record<string, string> = {}) {
  const work = mkdtempSync(join(tmpdir(), "plinth-runner-"));
  const output = join(work, "output");
  writeFileSync(output, "");
  const env: Record<string, string> = {
    // As on a runner: Node, and git (actions/checkout left a repository) with the system tools.
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: work,
    GITHUB_ACTIONS: "true",
    GITHUB_OUTPUT: output,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    ...extra,
  };
  return new Promise<{ code: number | null; stdout: string; stderr: string; output: string }>((resolve) => {
    const child = spawn(process.execPath, [main], { cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr, output: readFileSync(output, "utf8") }));
  });
}

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "plinth-repo-"));
  writeFileSync(join(dir, "plinth.config.ts"), readFileSync(EXAMPLE_PATH, "utf8"));
  return dir;
}

describe("the action's release tree runs on its own", { timeout: 180_000 }, () => {
  beforeAll(async () => {
    if (!existsSync(join(root, "dist/bundle/action.js"))) {
      throw new Error("dist/bundle/action.js is missing: run npm run build first");
    }
    tree = join(mkdtempSync(join(tmpdir(), "plinth-release-")), "plinth");
    await run(process.execPath, [join(root, "scripts/action-release.mjs"), tree], { cwd: root });
    const action = parse(readFileSync(join(tree, "action.yml"), "utf8")) as {
      runs: { using: string; main: string };
    };
    expect(action.runs.using).toBe("node24");
    main = join(tree, action.runs.main);
  });

  it("holds the bundle and only the bundle's externals from node_modules", () => {
    noNodeModulesAbove(tree);
    expect(existsSync(main)).toBe(true);
    expect(existsSync(join(tree, "dist/index.js"))).toBe(true);
    expect(existsSync(join(tree, "node_modules/esbuild/package.json"))).toBe(true);
    expect(existsSync(join(tree, "node_modules/ssh2/package.json"))).toBe(true);
    for (const heavy of ["@kubernetes", "@aws-sdk", "@octokit", "zod", "yaml", "@actions"]) {
      expect(existsSync(join(tree, "node_modules", heavy)), heavy).toBe(false);
    }
  });

  it("runs a command: the config compiles, the plan key signs, the outputs are written, secrets masked", async () => {
    const dir = project();
    noNodeModulesAbove(dir);
    const key = `${"k".repeat(24)}0123456789abcdef`;
    const r = await runAction(
      {
        config: "plinth.config.ts",
        "working-directory": ".",
        "github-token": "ghs_not_a_real_token_0000",
        "plan-key": key,
        command: "plan staging --offline -o plan.json",
        environments: "",
      },
      dir,
      // A secret the config names (secret.env), of several lines as an SSH key is.
      { STAGING_SSH_KEY: "-----BEGIN KEY-----\nc2VjcmV0IGxpbmUgb25l\n-----END KEY-----" },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Plan: ");
    expect(r.output).toMatch(/^exit-code<<(\S+)\n0\n\1$/m);
    // The key reaches plinth as PLINTH_PLAN_KEY (a signed plan), and is masked before anything runs.
    const plan = JSON.parse(readFileSync(join(dir, "plan.json"), "utf8")) as { signature?: string };
    expect(plan.signature).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(r.stdout.split("\n").slice(0, 2)).toEqual([
      `::add-mask::ghs_not_a_real_token_0000`,
      `::add-mask::${key}`,
    ]);
    expect(r.stdout.split(key).length - 1).toBe(1);
    expect(r.stdout).toContain("::add-mask::c2VjcmV0IGxpbmUgb25l\n");
    expect(r.stdout).toContain("::add-mask::-----BEGIN KEY-----\n");
  });

  it("bad input: a quoted command is refused with the reason, exit 2, nothing run", async () => {
    const dir = project();
    const r = await runAction(
      { config: "plinth.config.ts", command: 'plan "staging"', environments: "" },
      dir,
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("::error::the command input");
    expect(r.stdout).toContain("has quotes");
    expect(r.output).toMatch(/^exit-code<<(\S+)\n2\n\1$/m);
  });

  it("a problem with the config: plinth's message, exit code 2 as an output", async () => {
    const dir = project();
    const r = await runAction(
      { config: "plinth.config.ts", command: "plan preview --offline", environments: "" },
      dir,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown environment "preview"');
    expect(r.stdout).toContain("::error::plinth plan exited with 2");
    expect(r.output).toMatch(/^exit-code<<(\S+)\n2\n\1$/m);
  });
});

/** A git repository whose head commit turns redis off in one of two environments. */
function pullRequestRepository(): { dir: string; base: string; head: string } {
  const dir = mkdtempSync(join(tmpdir(), "plinth-pr-repo-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=t@example.invalid", "-c", "user.name=t", ...args], {
      cwd: dir,
      encoding: "utf8",
    }).trim();
  const config = (redis: boolean) => `import { defineConfig } from "plinth";
export default defineConfig({
  project: "acme",
  clusters: { bed: { type: "existing", kubeconfig: "/nonexistent/kubeconfig" } },
  environments: {
    acted: { kind: "ci", cluster: "bed", components: { redis: { enabled: ${redis} } } },
    quiet: { kind: "ci", cluster: "bed" },
  },
});
`;
  git("init", "-q", "-b", "main");
  writeFileSync(join(dir, "plinth.config.ts"), config(true));
  git("add", ".");
  git("commit", "-q", "-m", "base");
  const base = git("rev-parse", "HEAD");
  writeFileSync(join(dir, "plinth.config.ts"), config(false));
  git("commit", "-q", "-am", "head");
  return { dir, base, head: git("rev-parse", "HEAD") };
}

describe("the action on GitHub's webhook payloads, against the GitHub stand-in", { timeout: 180_000 }, () => {
  let gh: GitHubStandin;
  beforeAll(async () => {
    gh = await startGitHubStandin();
  });

  /** What the runner sets for an event: the payload file and the GITHUB_* variables. */
  function eventEnv(name: string, payload: unknown): Record<string, string> {
    const file = join(mkdtempSync(join(tmpdir(), "plinth-event-")), "event.json");
    writeFileSync(file, JSON.stringify(payload));
    const summary = join(dirname(file), "summary.md");
    writeFileSync(summary, "");
    return {
      GITHUB_EVENT_NAME: name,
      GITHUB_EVENT_PATH: file,
      GITHUB_REPOSITORY: `${gh.owner}/${gh.repo}`,
      GITHUB_API_URL: gh.url,
      GITHUB_SERVER_URL: "https://github.invalid",
      GITHUB_RUN_ID: "77",
      GITHUB_STEP_SUMMARY: summary,
    };
  }

  it("pull_request opened: the sticky plan comment for the environment that changed, no credentials", async () => {
    const { dir, base, head } = pullRequestRepository();
    gh.state.pulls.set(31, {
      number: 31,
      author: "alice",
      state: "open",
      merged: false,
      headSha: head,
      headRef: "no-redis",
      baseSha: base,
      baseRef: "main",
      fork: false,
      mergeable: true,
      behindBy: 0,
    });
    const payload = pullRequestEvent("opened", {
      owner: gh.owner,
      repo: gh.repo,
      pr: 31,
      headSha: head,
      baseSha: base,
      author: "alice",
    });
    const r = await runAction(
      { config: "plinth.config.ts", "github-token": gh.token, "plan-key": "", command: "", environments: "" },
      dir,
      eventEnv("pull_request", payload),
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const comments = gh.state.comments.filter((c) => c.issue === 31);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.user).toBe(gh.botLogin);
    expect(comments[0]?.body).toContain(STICKY_MARKER);
    expect(comments[0]?.body).toContain("acted");
    expect(gh.violations).toEqual([]);
  });

  it("issue_comment /help: a reply on the pull request", async () => {
    const { dir } = pullRequestRepository();
    const payload = commentEvent({ owner: gh.owner, repo: gh.repo, pr: 32, body: "/help", commenter: "bob" });
    const r = await runAction(
      { config: "plinth.config.ts", "github-token": gh.token, "plan-key": "", command: "", environments: "" },
      dir,
      eventEnv("issue_comment", payload),
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const replies = gh.state.comments.filter((c) => c.issue === 32);
    expect(replies).toHaveLength(1);
    expect(replies[0]?.body).toContain("/apply");
    expect(gh.violations).toEqual([]);
  });
});
