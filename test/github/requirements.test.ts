/**
 * `/apply prod`'s requirements through `runGitHub` in process, against the STAND-IN for GitHub's
 * API (test/github/standin.ts; every call checked against GitHub's OpenAPI description): an
 * approval by someone other than the author, no conflicts, every check passed but plinth's own,
 * and a branch up to date. Each refusal happens before anything of the pull request runs, so
 * the cluster in this config (a kubeconfig that does not exist) is never reached.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGitHub } from "../../src/github/index.js";
import { commentEvent } from "./examples.js";
import { type GitHubStandin, startGitHubStandin } from "./standin.js";

const HEAD = "c".repeat(40);
let gh: GitHubStandin;
let dir: string;

async function apply(commenter: string): Promise<{ code: number; log: string[] }> {
  const event = join(dir, "event.json");
  writeFileSync(
    event,
    JSON.stringify(commentEvent({ owner: gh.owner, repo: gh.repo, pr: 5, body: "/apply prod", commenter })),
  );
  const log: string[] = [];
  const code = await runGitHub({
    env: {
      GITHUB_EVENT_NAME: "issue_comment",
      GITHUB_EVENT_PATH: event,
      GITHUB_REPOSITORY: `${gh.owner}/${gh.repo}`,
      GITHUB_API_URL: gh.url,
      GITHUB_TOKEN: gh.token,
    },
    cwd: dir,
    log: (l) => log.push(l),
  });
  return { code, log };
}

const last = () => gh.state.comments.at(-1)?.body ?? "";

describe("/apply prod: what a pull request needs first", { timeout: 60_000 }, () => {
  beforeAll(async () => {
    gh = await startGitHubStandin();
    dir = mkdtempSync(join(tmpdir(), "plinth-req-"));
    writeFileSync(
      join(dir, "plinth.config.ts"),
      `import { defineConfig } from "plinth";
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { prod: { type: "existing", kubeconfig: "does-not-exist.yaml" } },
  environments: { prod: { kind: "prod", cluster: "prod", domainPrefix: "" } },
  github: { apply: { prod: ["team:platform"] } },
});
`,
    );
    gh.state.roles.set("bob", "write");
    gh.state.roles.set("dan", "admin");
    gh.state.teams.set("acme/platform", new Set(["bob"]));
    gh.state.pulls.set(5, {
      number: 5,
      author: "alice",
      state: "open",
      merged: false,
      headSha: HEAD,
      headRef: "change",
      baseSha: "d".repeat(40),
      baseRef: "main",
      fork: false,
      mergeable: false,
      behindBy: 2,
    });
    gh.state.checks.push(
      {
        id: 1,
        name: "plinth/prod",
        headSha: HEAD,
        status: "queued",
        conclusion: null,
        title: "",
        summary: "",
      },
      {
        id: 2,
        name: "test",
        headSha: HEAD,
        status: "completed",
        conclusion: "failure",
        title: "",
        summary: "",
      },
    );
  });
  afterAll(async () => {
    await gh.close();
  });

  it("refuses an admin outside the team the config names", async () => {
    const r = await apply("dan");
    expect(r.code).toBe(2);
    expect(last()).toContain("@dan may not /apply prod: that needs a member of team platform");
  });

  it("lists every unmet requirement, ignoring plinth's own pending check", async () => {
    gh.state.reviews.push({ id: 1, pull: 5, user: "alice", state: "APPROVED", commitId: HEAD });
    const r = await apply("bob");
    expect(r.code).toBe(2);
    const body = last();
    expect(body).toContain("- an approving review of the head commit ccccccc by someone other than @alice");
    expect(body).toContain("- no merge conflicts");
    expect(body).toContain("- passing checks: test (failure)");
    expect(body).not.toContain("plinth/prod");
    expect(body).toContain("- a branch up to date with its base (2 commits behind)");
    expect(body).toContain("Nothing was run.");
  });

  it("gets past the requirements once they hold (and then needs the plan key to plan)", async () => {
    gh.state.reviews.push({ id: 2, pull: 5, user: "carol", state: "APPROVED", commitId: HEAD });
    const pull = gh.state.pulls.get(5);
    if (pull) Object.assign(pull, { mergeable: true, behindBy: 0 });
    const test = gh.state.checks.find((c) => c.name === "test");
    if (test) Object.assign(test, { conclusion: "success" });
    const r = await apply("bob");
    expect(r.code).toBe(2);
    expect(last()).not.toContain("requires, before it is applied");
    expect(last()).toMatch(/PLINTH_PLAN_KEY: is not set: plans stored for a pull request are signed with it/);
    // Every call plinth made, including compare and the check runs, kept GitHub's contract.
    expect(gh.requests.map((q) => q.operationId)).toEqual(
      expect.arrayContaining([
        "repos/get-collaborator-permission-level",
        "teams/get-membership-for-user-in-org",
        "pulls/list-reviews",
        "repos/compare-commits-with-basehead",
        "checks/list-for-ref",
      ]),
    );
    expect(gh.violations).toEqual([]);
  });
});
