/**
 * plinth's GitHub calls (src/providers/github) through the real Octokit against the STAND-IN for
 * GitHub's API (test/github/standin.ts: api.github.com cannot run here), which checks every
 * request and answer against GitHub's OpenAPI description; and the stand-in's judge itself:
 * a wrong path, method, parameter or body field is refused with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitHubRepo, githubClient, type Octokit } from "../../src/providers/github/index.js";
import { type GitHubStandin, startGitHubStandin } from "./standin.js";

let gh: GitHubStandin;
let octokit: Octokit;
let repo: GitHubRepo;

describe("GitHub client against the stand-in", { timeout: 60_000 }, () => {
  beforeAll(async () => {
    gh = await startGitHubStandin();
    octokit = await githubClient({ token: gh.token, baseUrl: gh.url });
    repo = new GitHubRepo(octokit, { owner: gh.owner, repo: gh.repo });
    gh.state.pulls.set(7, {
      number: 7,
      author: "alice",
      state: "open",
      merged: false,
      headSha: "a".repeat(40),
      headRef: "feature",
      baseSha: "b".repeat(40),
      baseRef: "main",
      fork: false,
      mergeable: true,
      behindBy: 2,
    });
  });
  afterAll(async () => {
    await gh.close();
  });

  it("reads a pull request, its reviews, roles, teams, how far behind it is, and its checks", async () => {
    gh.state.reviews.push({ id: 1, pull: 7, user: "bob", state: "APPROVED", commitId: "a".repeat(40) });
    gh.state.roles.set("bob", "maintain");
    gh.state.teams.set("acme/platform", new Set(["bob"]));
    const pull = await repo.pull(7);
    expect(pull).toEqual({
      number: 7,
      author: "alice",
      state: "open",
      merged: false,
      headSha: "a".repeat(40),
      headRef: "feature",
      baseSha: "b".repeat(40),
      baseRef: "main",
      fromFork: false,
      mergeable: true,
    });
    expect(await repo.reviews(7)).toEqual([
      expect.objectContaining({ user: "bob", state: "APPROVED", commitId: "a".repeat(40) }),
    ]);
    expect(await repo.role("bob")).toBe("maintain");
    expect(await repo.role("mallory")).toBe("none");
    expect(await repo.inTeam("acme", "platform", "bob")).toBe(true);
    expect(await repo.inTeam("acme", "platform", "alice")).toBe(false);
    expect(await repo.behindBy("main", "a".repeat(40))).toBe(2);
    const id = await repo.setCheck({
      name: "plinth/staging",
      headSha: "a".repeat(40),
      status: "completed",
      conclusion: "success",
      title: "applied",
      summary: "3 changes",
    });
    expect(await repo.checks("a".repeat(40))).toEqual([
      { id, name: "plinth/staging", status: "completed", conclusion: "success" },
    ]);
    expect(gh.violations).toEqual([]);
  });

  it("pages through comments and edits one in place", async () => {
    for (let i = 0; i < 130; i++)
      gh.state.comments.push({ id: 5000 + i, issue: 7, user: "alice", body: `c${i}` });
    const made = await repo.comment(7, "hello");
    expect(made.user).toBe("github-actions[bot]");
    await repo.editComment(made.id, "edited");
    const all = await repo.comments(7);
    expect(all).toHaveLength(131);
    expect(all.at(-1)).toMatchObject({ id: made.id, body: "edited" });
    // Two pages of 100: Octokit followed the Link header.
    expect(gh.requests.filter((r) => r.operationId === "issues/list-comments")).toHaveLength(2);
    expect(gh.violations).toEqual([]);
  });

  it("refuses what GitHub's API does not take, saying why", async () => {
    const before = gh.violations.length;
    await expect(
      octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
        owner: gh.owner,
        repo: gh.repo,
        issue_number: 7,
        body: 42 as unknown as string,
      }),
    ).rejects.toMatchObject({ status: 500 });
    await expect(
      octokit.request("GET /repos/{owner}/{repo}/pullz/7", { owner: "acme", repo: "platform" }),
    ).rejects.toMatchObject({
      status: 500,
    });
    await expect(
      octokit.request("DELETE /repos/{owner}/{repo}/pulls/{pull_number}", {
        owner: "acme",
        repo: "platform",
        pull_number: 7,
      }),
    ).rejects.toMatchObject({ status: 500 });
    await expect(
      octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
        owner: "acme",
        repo: "platform",
        pull_number: "seven" as unknown as number,
      }),
    ).rejects.toMatchObject({ status: 500 });
    const seen = gh.violations.slice(before);
    expect(seen).toHaveLength(4);
    expect(seen[0]).toMatch(/issues\/create-comment: body: \/body must be string/);
    expect(seen[1]).toMatch(/no path of GitHub's REST API matches \/repos\/acme\/platform\/pullz\/7/);
    expect(seen[2]).toMatch(/but no DELETE on it/);
    expect(seen[3]).toMatch(/path parameter pull_number: .*must be integer/);
    gh.violations.splice(before);
  });

  it("answers 401 to a request without the token, as GitHub does", async () => {
    const stranger = await githubClient({ token: "wrong", baseUrl: gh.url });
    await expect(new GitHubRepo(stranger, { owner: "acme", repo: "platform" }).pull(7)).rejects.toMatchObject(
      {
        status: 401,
      },
    );
  });
});
