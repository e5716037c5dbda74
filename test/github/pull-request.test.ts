/**
 * The pull-request workflow end to end: `plinth github` (the built CLI, as the action runs it)
 * fed GitHub's own webhook payloads (@octokit/webhooks-examples, repository, numbers, SHAs and
 * comment bodies overridden) at GITHUB_EVENT_PATH, in a real git repository, against the
 * STAND-IN for GitHub's API (test/github/standin.ts; api.github.com cannot run here, and every
 * call is checked against GitHub's OpenAPI description), with the test bed's real Kubernetes API
 * server for the cluster and its real S3 server (versitygw) for state, locks, stored plans and
 * reservations.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destroyEnvironment } from "../../src/index.js";
import { BIN, ensureStandInCrds, kubeconfig, kubectl, kubectlJson } from "../engine/bed.js";
import { rawClient, s3Env } from "../state/s3-place.js";
import { testbedEnv } from "../testbed/env.js";
import { commentEvent, pullRequestEvent } from "./examples.js";
import { type GitHubStandin, startGitHubStandin } from "./standin.js";

const ENV = "ghpr";
const OTHER = "ghquiet";
const PLAN_KEY = randomBytes(32).toString("hex");
const prefix = `gh-test-${process.pid}-${randomBytes(3).toString("hex")}/`;
const summaryFile = join(mkdtempSync(join(tmpdir(), "plinth-summary-")), "summary.md");
// The runner creates the job summary's file before the step runs.
writeFileSync(summaryFile, "");

let gh: GitHubStandin;
let repo: string;
/** The default branch's checkout: where the comment and clean-up workflows run (trusted config). */
let trusted: string;
let baseSha: string;
let headSha: string;

function config(o: { redis: boolean; marker?: string }): string {
  return `import { defineConfig } from "plinth";
// ${o.marker ?? "base"}
export default defineConfig({
  project: "acme",
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig())} } },
  environments: {
    ${ENV}: { kind: "ci", cluster: "bed", components: { redis: { enabled: ${o.redis} } } },
    ${OTHER}: { kind: "ci", cluster: "bed" },
  },
  state: {
    backend: "s3",
    endpoint: ${JSON.stringify(testbedEnv("S3_ENDPOINT"))},
    bucket: ${JSON.stringify(testbedEnv("S3_BUCKET"))},
    prefix: ${JSON.stringify(prefix)},
    region: ${JSON.stringify(testbedEnv("AWS_REGION"))},
  },
  github: { require: { ${ENV}: ["approved"] } },
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

function openPull(pr: number, o: { head: string; author?: string; fork?: boolean }): void {
  gh.state.pulls.set(pr, {
    number: pr,
    author: o.author ?? "alice",
    state: "open",
    merged: false,
    headSha: o.head,
    headRef: `change-${pr}`,
    baseSha,
    baseRef: "main",
    fork: o.fork ?? false,
    mergeable: true,
    behindBy: 0,
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `plinth github` as the action runs it, with exactly the variables given: nothing of this
 * process's environment leaks in, so a run without credentials has none.
 */
function plinthGithub(
  event: string,
  payload: unknown,
  o: { credentials?: boolean; args?: string[]; cwd?: string; token?: string } = {},
): Promise<Run> {
  const eventPath = join(mkdtempSync(join(tmpdir(), "plinth-event-")), "event.json");
  writeFileSync(eventPath, JSON.stringify(payload));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    GITHUB_ACTIONS: "true",
    GITHUB_EVENT_NAME: event,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: `${gh.owner}/${gh.repo}`,
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_RUN_ID: "4242",
    GITHUB_TOKEN: o.token ?? gh.token,
    GITHUB_STEP_SUMMARY: summaryFile,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...(o.credentials ? { ...s3Env(), PLINTH_PLAN_KEY: PLAN_KEY } : {}),
  };
  return new Promise((resolve) => {
    const child = spawn(BIN, ["github", "--no-wait", ...(o.args ?? [])], { cwd: o.cwd ?? repo, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `/apply` as a person would: other engine runs share the API server and may move a cluster-wide
 * object (an operator's chart) between plan and apply; plinth refuses that plan, as documented,
 * and posts a fresh one, which is applied on the next try.
 */
async function applyAsBob(pr: number): Promise<Run> {
  for (let attempt = 1; ; attempt++) {
    const run = await comment(pr, `/apply ${ENV}`, "bob");
    if (run.code !== 2 || attempt >= 3 || !lastComment(pr).includes("The stored plan was refused at apply"))
      return run;
  }
}

const comment = (pr: number, body: string, commenter: string) =>
  plinthGithub("issue_comment", commentEvent({ owner: gh.owner, repo: gh.repo, pr, body, commenter }), {
    credentials: true,
    cwd: trusted,
  });

const commentsOn = (pr: number) => gh.state.comments.filter((c) => c.issue === pr);
const lastComment = (pr: number) => commentsOn(pr).at(-1)?.body ?? "";

async function stored(): Promise<string[]> {
  const s3 = rawClient();
  try {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: testbedEnv("S3_BUCKET"), Prefix: `${prefix}_blobs/` }),
    );
    return (listed.Contents ?? []).map((o) => (o.Key ?? "").slice(`${prefix}_blobs/`.length)).sort();
  } finally {
    s3.destroy();
  }
}

describe.sequential("plinth github: a pull request from plan comment to apply", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    await ensureStandInCrds();
    gh = await startGitHubStandin();
    gh.state.roles.set("bob", "write");
    gh.state.roles.set("carol", "maintain");
    gh.state.roles.set("mallory", "read");
    repo = mkdtempSync(join(tmpdir(), "plinth-pr-repo-"));
    git("init", "-q", "-b", "main");
    baseSha = commit(config({ redis: false }), "base");
    git("checkout", "-q", "-b", "change-12");
    headSha = commit(config({ redis: true, marker: "head" }), "turn redis on in ghpr");
    trusted = join(mkdtempSync(join(tmpdir(), "plinth-pr-main-")), "main");
    git("worktree", "add", "-q", trusted, "main");
    openPull(12, { head: headSha });
  });

  afterAll(async () => {
    const variables = { ...s3Env() };
    await destroyEnvironment({ env: ENV, cwd: repo, variables, deleteData: true, holder: "gh@bed" }).catch(
      (e: unknown) => console.error(`cleanup of ${ENV}: ${String(e)}`),
    );
    const s3 = rawClient();
    const { DeleteObjectCommand } = await import("@aws-sdk/client-s3");
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: testbedEnv("S3_BUCKET"), Prefix: prefix }),
    );
    for (const o of listed.Contents ?? [])
      await s3.send(new DeleteObjectCommand({ Bucket: testbedEnv("S3_BUCKET"), Key: o.Key }));
    s3.destroy();
    await gh.close();
  });

  it("comments the desired-state diff on pull_request, with no credentials at all", async () => {
    const run = await plinthGithub(
      "pull_request",
      pullRequestEvent("opened", {
        owner: gh.owner,
        repo: gh.repo,
        pr: 12,
        headSha,
        baseSha,
        author: "alice",
      }),
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const sticky = commentsOn(12);
    expect(sticky).toHaveLength(1);
    const body = sticky[0]?.body ?? "";
    expect(body.startsWith("<!-- plinth:pull-request -->")).toBe(true);
    expect(body).toMatch(new RegExp(`\\| \\*\\*${ENV}\\*\\* \\| \\d+ \\|`));
    expect(body).toContain(`No changes: ${OTHER}.`);
    expect(body).toMatch(/\+ create Redis data-ghpr\/redis/);
    expect(body).toContain("`/apply <env>`");
    // The job summary holds the whole text (@actions/core's summary, GITHUB_STEP_SUMMARY).
    expect(readFileSync(summaryFile, "utf8")).toContain(`| **${ENV}** |`);
    // Nothing reached state: no credentials were there to reach it with.
    expect(await stored()).toEqual([]);

    // A new push updates the same comment in place: one comment, never a flood.
    const again = await plinthGithub(
      "pull_request",
      pullRequestEvent("synchronize", {
        owner: gh.owner,
        repo: gh.repo,
        pr: 12,
        headSha,
        baseSha,
        author: "alice",
      }),
    );
    expect(again.code).toBe(0);
    expect(commentsOn(12)).toHaveLength(1);
    expect(gh.violations).toEqual([]);
  });

  it("plans a fork's pull request from its desired state only, and never runs it with credentials", async () => {
    openPull(13, { head: headSha, author: "outsider", fork: true });
    const run = await plinthGithub(
      "pull_request",
      pullRequestEvent("opened", {
        owner: gh.owner,
        repo: gh.repo,
        pr: 13,
        headSha,
        baseSha,
        author: "outsider",
        fork: true,
      }),
    );
    expect(run.code).toBe(0);
    expect(lastComment(13)).toContain("comes from a fork");
    expect(lastComment(13)).toContain("with no credentials");
    // As GitHub runs it: a fork's token may only read. The comment goes to the job summary.
    const before = commentsOn(13).length;
    writeFileSync(summaryFile, "");
    const readOnly = await plinthGithub(
      "pull_request",
      pullRequestEvent("synchronize", {
        owner: gh.owner,
        repo: gh.repo,
        pr: 13,
        headSha,
        baseSha,
        author: "outsider",
        fork: true,
      }),
      { token: gh.readOnlyToken },
    );
    expect(readOnly.code).toBe(0);
    expect(readOnly.stdout).toContain("the comment is in the job summary");
    expect(commentsOn(13)).toHaveLength(before);
    expect(readFileSync(summaryFile, "utf8")).toContain("comes from a fork");
    // Even someone with apply rights cannot make it run with credentials.
    const plan = await comment(13, `/plan ${ENV}`, "carol");
    expect(plan.code).toBe(2);
    expect(lastComment(13)).toMatch(
      /comes from a fork: its code never runs with this repository's credentials/,
    );
    expect(await stored()).toEqual([]);
    expect(gh.violations).toEqual([]);
  });

  it("refuses /apply by a commenter without apply rights, before anything runs", async () => {
    const run = await comment(12, `/apply ${ENV}`, "mallory");
    expect(run.code).toBe(2);
    expect(lastComment(12)).toMatch(
      /@mallory may not \/apply ghpr: that needs write access .* @mallory has read access/,
    );
    expect(await stored()).toEqual([]);
  });

  it("answers /help and commands it cannot read", async () => {
    expect((await comment(12, "/help", "bob")).code).toBe(0);
    expect(lastComment(12)).toContain("| `/apply <env>` |");
    expect((await comment(12, `/apply ${ENV} ${OTHER}`, "bob")).code).toBe(2);
    expect(lastComment(12)).toMatch(/one environment per comment/);
    expect((await comment(12, "Looks good to me", "bob")).code).toBe(0);
    expect(lastComment(12)).toMatch(/one environment per comment/);
  });

  it("plans live on /plan, stores the signed plan under the head commit, and applies it on /apply", async () => {
    const plan = await comment(12, `/plan ${ENV}`, "bob");
    expect(plan.stderr).toBe("");
    expect(plan.code).toBe(0);
    expect(await stored()).toEqual([`github/pr-12/${headSha}/${ENV}.json`]);
    expect(lastComment(12)).toMatch(/live plan of [0-9a-f]{7}/);
    expect(gh.state.checks.at(-1)).toMatchObject({ name: `plinth/${ENV}`, headSha, status: "queued" });

    // ghpr requires an approving review of this head.
    const early = await comment(12, `/apply ${ENV}`, "bob");
    expect(early.code).toBe(2);
    expect(lastComment(12)).toMatch(
      /requires, before it is applied:\n- an approving review of the head commit/,
    );

    gh.state.reviews.push({ id: 1, pull: 12, user: "carol", state: "APPROVED", commitId: headSha });
    const applied = await applyAsBob(12);
    expect(applied.stderr).toBe("");
    expect(applied.code, lastComment(12)).toBe(0);
    expect(lastComment(12)).toMatch(/applied to ghpr at [0-9a-f]{7}/);
    // The sticky comment says what is live now.
    expect(commentsOn(12)[0]?.body).toMatch(
      /\*\*Applied\*\*\n\n- \*\*ghpr\*\*: plan `[0-9a-f]{12}` of [0-9a-f]{7} applied by @bob/,
    );
    expect(gh.state.checks.at(-1)).toMatchObject({
      name: `plinth/${ENV}`,
      status: "completed",
      conclusion: "success",
    });
    const live = await kubectlJson<{ items: { kind: string }[] }>(
      "get",
      "redis.redis.redis.opstreelabs.in",
      "-A",
      "-l",
      `plinth.dev/environment=${ENV}`,
    );
    expect(live.items.length).toBe(1);
    expect(await stored()).toContain(`github/reservations/${ENV}.json`);
    expect(gh.violations).toEqual([]);
  });

  it("refuses /apply after a new push (no plan for the moved head) and posts a fresh plan", async () => {
    const moved = commit(config({ redis: true, marker: "second push" }), "a comment only");
    openPull(12, { head: moved });
    gh.state.reviews.push({ id: 2, pull: 12, user: "carol", state: "APPROVED", commitId: moved });
    const run = await comment(12, `/apply ${ENV}`, "bob");
    expect(run.code).toBe(2);
    const body = lastComment(12);
    expect(body).toContain(`There is no plan of ${ENV} for the head commit ${moved.slice(0, 7)}`);
    expect(body).toMatch(/live plan of/);
    expect(await stored()).toContain(`github/pr-12/${moved}/${ENV}.json`);
    headSha = moved;
  });

  it("refuses a stale plan (the cluster moved since /plan), changing nothing, and posts a fresh one", async () => {
    // A hand edit after the plan stored for this head (by the previous test's refusal).
    await kubectl("label", "configmap", "redis-config", "-n", `data-${ENV}`, "hand=edit", "--overwrite");
    const run = await comment(12, `/apply ${ENV}`, "bob");
    expect(run.code).toBe(2);
    const body = lastComment(12);
    expect(body).toContain("The stored plan was refused at apply, nothing was changed");
    expect(body).toMatch(/ConfigMap data-ghpr\/redis-config: was at version \d+, now at version \d+/);
    expect(body).toMatch(/live plan of/);
    // The check follows the fresh plan: a label plinth does not manage leaves nothing to change
    // (green at once), unless another test's run moved a cluster-wide object meanwhile (queued).
    const check = gh.state.checks.at(-1);
    expect(check).toMatchObject({ name: `plinth/${ENV}`, headSha });
    expect([`completed/success`, "queued/null"]).toContain(`${check?.status}/${check?.conclusion}`);
    // Older replies on /apply ghpr are minimized as outdated (GraphQL), not left as a flood.
    const applies = commentsOn(12).filter((c) => c.body.includes("plinth:reply apply ghpr"));
    expect(applies.filter((c) => c.minimized === undefined)).toHaveLength(1);
    expect(applies.filter((c) => c.minimized !== undefined).every((c) => c.minimized === "outdated")).toBe(
      true,
    );
    expect(applies.length).toBeGreaterThan(2);
    // ...and the fresh plan applies.
    const applied = await applyAsBob(12);
    expect(applied.code).toBe(0);
    expect(lastComment(12)).toMatch(/applied to ghpr/);
  });

  it("keeps the environment for the pull request: another pull request and the CLI are told who holds it", async () => {
    openPull(14, { head: headSha, author: "dave" });
    gh.state.reviews.push({ id: 3, pull: 14, user: "carol", state: "APPROVED", commitId: headSha });
    const other = await comment(14, `/apply ${ENV}`, "bob");
    expect(other.code).toBe(2);
    expect(lastComment(14)).toMatch(/ghpr is reserved by https:\/\/github.com\/acme\/platform\/pull\/12/);
    // A later plan of the same pull request does not drop the reservation.
    expect((await comment(12, `/plan ${ENV}`, "bob")).code).toBe(0);
    expect(await stored()).toContain(`github/reservations/${ENV}.json`);
    // The CLI, from a laptop: refused, naming the pull request.
    const cli = await new Promise<Run>((resolve) => {
      const child = spawn(BIN, ["apply", ENV, "--yes", "--no-wait"], {
        cwd: trusted,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          ...s3Env(),
          PLINTH_HOLDER: "ops@laptop",
        },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(
      /environment ghpr is reserved by pull request https:\/\/github.com\/acme\/platform\/pull\/12/,
    );
  });

  it("gives the environment back and deletes the stored plans when the pull request closes", async () => {
    const closed = await plinthGithub(
      "pull_request",
      pullRequestEvent("closed", {
        owner: gh.owner,
        repo: gh.repo,
        pr: 12,
        headSha,
        baseSha,
        author: "alice",
        merged: true,
      }),
      { credentials: true, cwd: trusted },
    );
    expect(closed.stderr).toBe("");
    expect(closed.code).toBe(0);
    expect(await stored()).toEqual([]);
    expect(lastComment(12)).toMatch(/Released ghpr; 2 stored plans deleted/);
    // Commands on a closed pull request run nothing; /unlock still answers.
    gh.state.pulls.set(12, {
      ...(gh.state.pulls.get(12) as NonNullable<ReturnType<typeof gh.state.pulls.get>>),
      state: "closed",
      merged: true,
    });
    expect((await comment(12, `/plan ${ENV}`, "bob")).code).toBe(2);
    expect(lastComment(12)).toContain("This pull request is closed: nothing was run.");
    expect((await comment(12, `/unlock ${ENV}`, "bob")).code).toBe(0);
    expect(lastComment(12)).toContain(`${ENV} is not reserved.`);
    expect(gh.violations).toEqual([]);
  });
});
