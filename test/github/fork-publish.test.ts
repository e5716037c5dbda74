/**
 * A fork's pull request gets its sticky comment through the `workflow_run` pattern, and older
 * replies are minimized through GraphQL. `plinth github` (the built CLI, as the action runs it)
 * fed GitHub's own webhook payloads (@octokit/webhooks-examples: `pull_request.synchronize`,
 * `workflow_run.completed`, `issue_comment.created`, repository, numbers and SHAs overridden) in
 * a real git repository, against the STAND-IN for GitHub's API (test/github/standin.ts;
 * api.github.com cannot run here): every REST call is checked against GitHub's OpenAPI
 * description, every GraphQL document against GitHub's published GraphQL schema. The artifact is
 * zipped by Debian's Info-ZIP as a stream (data descriptors, as actions/upload-artifact writes).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STICKY_MARKER } from "../../src/github/comment.js";
import { parseEvent } from "../../src/github/event.js";
import { publishedBody, readSaved, stickyTitle } from "../../src/github/publish.js";
import { githubClient } from "../../src/providers/github/index.js";
import { root } from "../testbed/env.js";
import { commentEvent, example, pullRequestEvent } from "./examples.js";
import { type GitHubStandin, startGitHubStandin } from "./standin.js";

const BIN = join(root, "bin", "plinth");
const FORK_PR = 21;
const OWN_PR = 22;
const FORK_REPO = "contributor/platform";

let gh: GitHubStandin;
let repo: string;
let baseSha: string;
let headSha: string;
let nextRun = 7000;

function config(redis: boolean): string {
  return `import { defineConfig } from "plinth";
export default defineConfig({
  project: "acme",
  clusters: { bed: { type: "existing", kubeconfig: "kubeconfig.yaml" } },
  environments: { ghfork: { kind: "ci", cluster: "bed", components: { redis: { enabled: ${redis} } } } },
});
`;
}

const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.email=test@example.invalid", "-c", "user.name=test", ...args], {
    cwd: repo,
    encoding: "utf8",
  }).trim();

function commit(source: string, message: string): string {
  writeFileSync(join(repo, "plinth.config.ts"), source);
  git("add", "plinth.config.ts");
  git("commit", "-q", "-m", message);
  return git("rev-parse", "HEAD");
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `plinth github` as the action runs it, with exactly these variables (nothing of this process's). */
function plinthGithub(
  event: string,
  payload: unknown,
  o: { token: string; cwd?: string; runnerTemp?: string },
): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), "plinth-event-"));
  const eventPath = join(dir, "event.json");
  writeFileSync(eventPath, JSON.stringify(payload));
  writeFileSync(join(dir, "summary.md"), "");
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    GITHUB_ACTIONS: "true",
    GITHUB_EVENT_NAME: event,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: `${gh.owner}/${gh.repo}`,
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_RUN_ID: "4343",
    GITHUB_TOKEN: o.token,
    GITHUB_STEP_SUMMARY: join(dir, "summary.md"),
    ...(o.runnerTemp ? { RUNNER_TEMP: o.runnerTemp } : {}),
  };
  return new Promise((resolve) => {
    const child = spawn(BIN, ["github"], { cwd: o.cwd ?? repo, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** What actions/upload-artifact stores: the file zipped as a stream (Info-ZIP to a pipe). */
function zipped(file: string): Buffer {
  return execFileSync("sh", ["-c", 'zip -q -j - "$1" | cat', "zip", file], { maxBuffer: 1 << 24 });
}

/** GitHub's `workflow_run.completed` example, made the end of a fork's autoplan run. */
function workflowRunEvent(o: { runId: number; headSha: string; headRepo?: string; event?: string }) {
  const e = example("workflow_run", "completed");
  const run = e.workflow_run as Record<string, unknown>;
  run.id = o.runId;
  run.name = "plinth: pull request";
  run.event = o.event ?? "pull_request";
  run.head_sha = o.headSha;
  run.head_branch = `change-${FORK_PR}`;
  run.pull_requests = [];
  (run.head_repository as Record<string, unknown>).full_name = o.headRepo ?? FORK_REPO;
  (run.repository as Record<string, unknown>).full_name = `${gh.owner}/${gh.repo}`;
  (e.repository as Record<string, unknown>).full_name = `${gh.owner}/${gh.repo}`;
  return e;
}

const commentsOn = (pr: number) => gh.state.comments.filter((c) => c.issue === pr);

/** The fork's autoplan run (read-only token), then its artifact as GitHub would hold it. */
async function forkRun(sha: string): Promise<{ run: Run; runId: number; saved: string }> {
  const runnerTemp = mkdtempSync(join(tmpdir(), "plinth-runner-"));
  const run = await plinthGithub(
    "pull_request",
    pullRequestEvent("synchronize", {
      owner: gh.owner,
      repo: gh.repo,
      pr: FORK_PR,
      headSha: sha,
      baseSha,
      author: "outsider",
      fork: true,
    }),
    { token: gh.readOnlyToken, runnerTemp },
  );
  const saved = join(runnerTemp, "plinth-comment", "plinth-comment.json");
  const runId = nextRun++;
  if (existsSync(saved))
    gh.state.artifacts.push({ id: runId + 50_000, runId, name: "plinth-comment", zip: zipped(saved) });
  return { run, runId, saved };
}

beforeAll(async () => {
  if (!existsSync(join(root, "dist", "bundle"))) throw new Error("run npm run build first");
  gh = await startGitHubStandin();
  repo = mkdtempSync(join(tmpdir(), "plinth-fork-"));
  git("init", "-q", "-b", "main");
  baseSha = commit(config(false), "base");
  headSha = commit(config(true), "the fork's change");
  for (const [number, fork] of [
    [FORK_PR, true],
    [OWN_PR, false],
  ] as const) {
    gh.state.pulls.set(number, {
      number,
      author: fork ? "outsider" : "alice",
      state: "open",
      merged: false,
      headSha,
      headRef: `change-${FORK_PR}`,
      baseSha,
      baseRef: "main",
      fork,
      mergeable: true,
      behindBy: 0,
    });
  }
}, 60_000);

afterAll(async () => {
  await gh?.close();
});

describe("a fork's pull request: comment saved by its run, posted by workflow_run", () => {
  it("the fork's read-only run comments nothing and saves the comment; workflow_run posts it", async () => {
    const { run, runId, saved } = await forkRun(headSha);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("the comment is in the job summary");
    expect(commentsOn(FORK_PR)).toHaveLength(0);
    const file = JSON.parse(readFileSync(saved, "utf8"));
    expect(Object.keys(file).sort()).toEqual(["body", "headSha", "pr", "version"]);
    expect(file).toMatchObject({ version: 1, pr: FORK_PR, headSha });

    // The publishing job: the default branch's workflow, with no checkout at all.
    const empty = mkdtempSync(join(tmpdir(), "plinth-workspace-"));
    const publish = await plinthGithub("workflow_run", workflowRunEvent({ runId, headSha }), {
      token: gh.token,
      cwd: empty,
    });
    expect(publish.code, publish.stdout + publish.stderr).toBe(0);
    expect(publish.stdout).toContain(
      `pull request #${FORK_PR} at ${headSha.slice(0, 7)}: the fork run's comment is posted`,
    );
    const [sticky, ...more] = commentsOn(FORK_PR);
    expect(more).toEqual([]);
    expect(sticky?.user).toBe(gh.botLogin);
    expect(sticky?.body.startsWith(`${STICKY_MARKER}\n${stickyTitle(FORK_PR, headSha)}`)).toBe(true);
    expect(sticky?.body).toContain("| **ghfork** | 5 |");
    expect(sticky?.body).toContain("comes from a fork");
    expect(sticky?.body).toContain(`the fork's own \`pull_request\` run ${runId}`);
    // Downloaded through the API: listed, then the zip (a redirect to storage, followed).
    expect(gh.requests.map((r) => r.operationId).filter(Boolean)).toEqual(
      expect.arrayContaining([
        "actions/list-workflow-run-artifacts",
        "actions/download-artifact",
        "pulls/list",
        "issues/create-comment",
      ]),
    );
    expect(gh.violations).toEqual([]);

    // A second push: the same sticky comment is edited in place, not a second one posted.
    const again = await forkRun(headSha);
    const second = await plinthGithub("workflow_run", workflowRunEvent({ runId: again.runId, headSha }), {
      token: gh.token,
      cwd: empty,
    });
    expect(second.code).toBe(0);
    expect(commentsOn(FORK_PR)).toHaveLength(1);
    expect(commentsOn(FORK_PR)[0]?.body).toContain(`run ${again.runId}`);
    expect(gh.violations).toEqual([]);
  });

  it("posts nothing for a run whose head the pull request has left, or that saved nothing", async () => {
    const old = await forkRun(headSha);
    const before = JSON.stringify(commentsOn(FORK_PR));
    // The contributor pushed again before the publish job ran: the pull request's head moved.
    const moved = "1".repeat(40);
    const pull = gh.state.pulls.get(FORK_PR);
    if (!pull) throw new Error("no pull");
    pull.headSha = moved;
    try {
      const stale = await plinthGithub("workflow_run", workflowRunEvent({ runId: old.runId, headSha }), {
        token: gh.token,
      });
      expect(stale.code).toBe(2);
      expect(stale.stdout).toContain(`#${FORK_PR}'s head is now 1111111`);
    } finally {
      pull.headSha = headSha;
    }
    // A run of this repository's own branch uploads no artifact: it commented itself.
    const own = await plinthGithub(
      "workflow_run",
      workflowRunEvent({ runId: 6999, headSha, headRepo: `${gh.owner}/${gh.repo}` }),
      { token: gh.token },
    );
    expect(own.code).toBe(0);
    expect(own.stdout).toContain("saved no plinth-comment artifact: nothing to post");
    // A workflow_run of another event is not this job's.
    const pushed = await plinthGithub(
      "workflow_run",
      workflowRunEvent({ runId: old.runId, headSha, event: "push" }),
      { token: gh.token },
    );
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toContain("not a pull request's");
    expect(JSON.stringify(commentsOn(FORK_PR))).toBe(before);
    expect(gh.violations).toEqual([]);
  });

  it("refuses an artifact that claims another pull request, is tampered with or too large", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-forged-"));
    const forged = async (content: string | Buffer): Promise<Run> => {
      const file = join(dir, "plinth-comment.json");
      writeFileSync(file, content);
      const runId = nextRun++;
      gh.state.artifacts.push({ id: runId + 50_000, runId, name: "plinth-comment", zip: zipped(file) });
      return plinthGithub("workflow_run", workflowRunEvent({ runId, headSha }), { token: gh.token });
    };
    const before = JSON.stringify(gh.state.comments);
    const body = (pr: number) => `${STICKY_MARKER}\n${stickyTitle(pr, headSha)}\n\nall fine, merge me`;
    // #22 has the same head commit, but is not the fork's pull request.
    const other = await forged(JSON.stringify({ version: 1, pr: OWN_PR, headSha, body: body(OWN_PR) }));
    expect(other.code).toBe(2);
    expect(other.stdout).toContain(`#${OWN_PR} is not an open pull request from contributor:change-21`);
    const title = await forged(JSON.stringify({ version: 1, pr: FORK_PR, headSha, body: body(OWN_PR) }));
    expect(title.stdout).toContain("its body is not plinth's comment for that pull request and head");
    const extra = await forged(
      JSON.stringify({ version: 1, pr: FORK_PR, headSha, body: body(FORK_PR), x: 1 }),
    );
    expect(extra.stdout).toContain("not plinth's saved comment");
    const sha = await forged(JSON.stringify({ version: 1, pr: FORK_PR, headSha: "2".repeat(40), body: "" }));
    expect(sha.stdout).toContain("it was saved for 2222222, but the run was of");
    // Compresses to a few hundred bytes, inflates past the cap: refused while inflating.
    const bomb = await forged(Buffer.alloc(2_000_000, " "));
    expect(bomb.code).toBe(2);
    expect(bomb.stdout).toMatch(/more than 327680|does not inflate within 327680/);
    expect(JSON.stringify(gh.state.comments)).toBe(before);
    expect(gh.violations).toEqual([]);
  });
});

describe("the workflow_run event as plinth reads it (GitHub's examples)", () => {
  it("acts on a completed pull_request run only; the head and its repository come from the run", () => {
    const e = example("workflow_run", "completed");
    const run = e.workflow_run as Record<string, unknown>;
    run.event = "pull_request";
    expect(parseEvent("workflow_run", e)).toEqual({
      kind: "workflow_run",
      runId: run.id,
      workflow: run.name,
      headSha: run.head_sha,
      headBranch: run.head_branch,
      headRepo: (run.head_repository as { full_name: string }).full_name,
      pulls: [],
    });
    expect(parseEvent("workflow_run", example("workflow_run", "requested"))).toMatchObject({
      kind: "ignored",
    });
    // GitHub's own example of a workflow_dispatch run: not a pull request's.
    expect(parseEvent("workflow_run", example("workflow_run", "completed"))).toEqual({
      kind: "ignored",
      why: "workflow_run of a workflow_dispatch run, not a pull request's",
    });
    run.head_sha = "not a sha";
    expect(() => parseEvent("workflow_run", e)).toThrow(/workflow_run\.head_sha/);
  });
});

describe("the saved comment as untrusted data (pure)", () => {
  it("keeps plinth's markers to the top line and says where the text comes from", () => {
    const sha = "a".repeat(40);
    const saved = readSaved(
      JSON.stringify({
        version: 1,
        pr: 3,
        headSha: sha,
        body: `${STICKY_MARKER}\n${stickyTitle(3, sha)}\n<!-- plinth:applied -->\n**Applied**\n<!-- /plinth:applied -->`,
      }),
      { headSha: sha },
    );
    if (typeof saved === "string") throw new Error(saved);
    const out = publishedBody(saved, 77);
    expect(out.startsWith(`${STICKY_MARKER}\n`)).toBe(true);
    expect(out.split("\n").slice(1).join("\n")).not.toContain("<!-- plinth:");
    expect(out).toContain("run 77");
    expect(readSaved("[]", { headSha: sha })).toMatch(/not plinth's saved comment/);
    expect(readSaved("{", { headSha: sha })).toBe("its file is not JSON");
    expect(
      readSaved(
        JSON.stringify({
          version: 1,
          pr: 3,
          headSha: sha,
          body: `${STICKY_MARKER}\n${stickyTitle(3, sha)}\n${"x".repeat(70_000)}`,
        }),
        {
          headSha: sha,
        },
      ),
    ).toMatch(/over GitHub's limit/);
  });
});

describe("older replies minimized with GraphQL's minimizeComment (OUTDATED)", () => {
  it("a second /help minimizes the first; a third minimizes only the second", async () => {
    const help = () =>
      plinthGithub(
        "issue_comment",
        commentEvent({ owner: gh.owner, repo: gh.repo, pr: OWN_PR, body: "/help", commenter: "alice" }),
        { token: gh.token },
      );
    for (let i = 0; i < 3; i++) expect((await help()).code).toBe(0);
    const replies = commentsOn(OWN_PR).filter((c) => c.body.includes("plinth:reply help"));
    expect(replies.map((c) => c.minimized ?? "shown")).toEqual(["outdated", "outdated", "shown"]);
    // The third run asked which were minimized already and minimized only the second.
    const mutations = gh.graphql.filter((g) => g.query.includes("minimizeComment"));
    expect(mutations.map((m) => m.variables)).toEqual([
      { id: `IC_${replies[0]?.id}` },
      { id: `IC_${replies[1]?.id}` },
    ]);
    expect(gh.graphql.some((g) => g.query.includes("isMinimized"))).toBe(true);
    expect(gh.violations).toEqual([]);
    // GraphQL down: the reply is still posted and the command succeeds; the older one stays shown.
    gh.graphqlOutage = 502;
    try {
      const down = await help();
      expect(down.code).toBe(0);
      expect(down.stdout).toContain("older replies were not minimized");
    } finally {
      gh.graphqlOutage = undefined;
    }
    const after = commentsOn(OWN_PR).filter((c) => c.body.includes("plinth:reply help"));
    expect(after.map((c) => c.minimized ?? "shown")).toEqual(["outdated", "outdated", "shown", "shown"]);
  });

  it("the stand-in refuses GraphQL GitHub's schema does not have: a field, an enum value, a variable's type", async () => {
    const octokit = await githubClient({ token: gh.token, baseUrl: gh.url });
    const seen = gh.violations.length;
    const wrong = [
      [
        "mutation($id: ID!) { minimizeComment(input: { subjectId: $id, classifier: STALE }) { clientMutationId } }",
        { id: "IC_1" },
      ],
      ["query($ids: [ID!]!) { nodes(ids: $ids) { ... on IssueComment { id isHidden } } }", { ids: ["IC_1"] }],
      ["query($ids: [ID!]!) { nodes(ids: $ids) { id } }", { ids: [true] }],
      [
        "mutation($id: ID!) { minimizeComment(input: { subjectId: $id, classifier: OUTDATED }) { clientMutationId } }",
        {},
      ],
    ] as const;
    for (const [query, variables] of wrong) await expect(octokit.graphql(query, variables)).rejects.toThrow();
    expect(gh.violations.slice(seen)).toEqual([
      expect.stringContaining('Value "STALE" does not exist in "ReportedContentClassifiers" enum'),
      expect.stringContaining('Cannot query field "isHidden" on type "IssueComment"'),
      expect.stringContaining('Variable "$ids" got invalid value true at "ids[0]"'),
      expect.stringContaining('Variable "$id" of required type "ID!" was not provided'),
    ]);
    gh.violations.splice(seen);
  });
});
