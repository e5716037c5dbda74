/**
 * The pure parts of the pull-request workflow: GitHub's own webhook payloads parsed into events,
 * the comment grammar, who may apply, and what a pull request must have first.
 */
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { parseComment } from "../../src/github/commands.js";
import { parseEvent } from "../../src/github/event.js";
import { allowed, applyRule, requirementsFor, unmet } from "../../src/github/rights.js";
import { commentEvent, example, pullRequestEvent } from "./examples.js";

const SHA = "a".repeat(40);
const BASE = "b".repeat(40);
const base = { owner: "acme", repo: "platform", pr: 12, headSha: SHA, baseSha: BASE, author: "alice" };

describe("events from GitHub's webhook examples", () => {
  it("reads pull_request opened, synchronize, reopened and closed, and tells a fork", () => {
    for (const action of ["opened", "synchronize", "reopened"]) {
      expect(parseEvent("pull_request", pullRequestEvent(action, base))).toEqual({
        kind: "pull_request",
        action,
        pr: 12,
        merged: false,
        headSha: SHA,
        baseSha: BASE,
        author: "alice",
        fromFork: false,
      });
    }
    expect(parseEvent("pull_request", pullRequestEvent("closed", { ...base, merged: true }))).toMatchObject({
      action: "closed",
      merged: true,
    });
    expect(parseEvent("pull_request", pullRequestEvent("opened", { ...base, fork: true }))).toMatchObject({
      fromFork: true,
    });
    expect(parseEvent("pull_request", example("pull_request", "labeled"))).toMatchObject({ kind: "ignored" });
  });

  it("reads a comment on a pull request, and ignores one on an issue", () => {
    const e = commentEvent({ ...base, body: "/apply staging", commenter: "bob" });
    expect(parseEvent("issue_comment", e)).toMatchObject({
      kind: "comment",
      pr: 12,
      body: "/apply staging",
      commenter: "bob",
    });
    expect(parseEvent("issue_comment", example("issue_comment", "created"))).toMatchObject({
      kind: "ignored",
      why: "a comment on an issue, not a pull request",
    });
  });

  it("reads reviews, schedule and workflow_dispatch", () => {
    // GitHub's first submitted example is a comment review.
    expect(parseEvent("pull_request_review", example("pull_request_review", "submitted"))).toMatchObject({
      kind: "review",
      state: "commented",
    });
    expect(parseEvent("schedule", { schedule: "0 6 * * *" })).toEqual({ kind: "schedule" });
    expect(parseEvent("workflow_dispatch", example("workflow_dispatch"))).toEqual({
      kind: "workflow_dispatch",
    });
    expect(parseEvent("push", {})).toMatchObject({ kind: "ignored" });
  });

  it("refuses a payload missing what plinth needs, naming the field", () => {
    const broken = pullRequestEvent("opened", base);
    (broken.pull_request as { head: { sha: string } }).head.sha = "nope";
    expect(() => parseEvent("pull_request", broken)).toThrow(UserError);
    expect(() => parseEvent("pull_request", broken)).toThrow(/pull_request\.head\.sha/);
  });
});

describe("comment grammar", () => {
  const envs = ["staging", "prod"];
  it("reads every command, also after /plinth", () => {
    expect(parseComment("/plan", envs)).toEqual({ kind: "plan", envs: [] });
    expect(parseComment("/plan staging prod\nplease", envs)).toEqual({
      kind: "plan",
      envs: ["staging", "prod"],
    });
    expect(parseComment("/apply staging", envs)).toEqual({
      kind: "apply",
      env: "staging",
      deleteData: false,
    });
    expect(parseComment("/plinth apply prod --delete-data", envs)).toEqual({
      kind: "apply",
      env: "prod",
      deleteData: true,
    });
    expect(parseComment("/unlock prod", envs)).toEqual({ kind: "unlock", env: "prod" });
    expect(parseComment("/help", envs)).toEqual({ kind: "help" });
    expect(parseComment("/plinth", envs)).toEqual({ kind: "help" });
  });

  it("leaves comments that are not for plinth alone", () => {
    expect(parseComment("LGTM", envs)).toEqual({ kind: "none" });
    expect(parseComment("/deploy now", envs)).toEqual({ kind: "none" });
    expect(parseComment("see /apply staging below", envs)).toEqual({ kind: "none" });
  });

  it("answers what it cannot read, saying why", () => {
    const reply = (body: string) => {
      const c = parseComment(body, envs);
      return c.kind === "invalid" ? c.reply : `not refused: ${c.kind}`;
    };
    expect(reply("/apply staging prod")).toMatch(/one environment per comment/);
    expect(reply("/apply")).toMatch(/needs an environment/);
    expect(reply("/apply qa")).toMatch(/no environment `qa`.*`staging`, `prod`/);
    expect(reply("/plan staging --force")).toMatch(/does not take `--force`/);
    expect(reply("/unlock staging --delete-data")).toMatch(/does not take `--delete-data`/);
    expect(reply("/plan staging --delete-data")).toMatch(/does not take `--delete-data`/);
    expect(reply("/plinth deploy")).toMatch(/`deploy` is not a plinth command/);
    expect(reply("/plinth deploy")).toMatch(/\/apply <env>/);
  });
});

describe("who may apply, and what a pull request needs first", () => {
  const settings = { apply: { prod: ["team:platform", "user:carol"] as ("team:platform" | "user:carol")[] } };
  const who = (login: string, role: "read" | "write" | "admin", teams: string[] = []) => ({
    login,
    role,
    teams: new Set(teams),
  });

  it("maps roles and teams through the config; write access by default", () => {
    expect(applyRule(settings, "staging")).toBe("write");
    expect(allowed(applyRule(settings, "staging"), who("bob", "write"), "acme")).toBe(true);
    expect(allowed(applyRule(settings, "staging"), who("eve", "read"), "acme")).toBe(false);
    const prod = applyRule(settings, "prod");
    expect(allowed(prod, who("bob", "write"), "acme")).toBe(false);
    expect(allowed(prod, who("bob", "write", ["acme/platform"]), "acme")).toBe(true);
    expect(allowed(prod, who("carol", "write"), "acme")).toBe(true);
    // A listed reader is still a reader: no credentials for someone who cannot push.
    expect(allowed(prod, who("carol", "read"), "acme")).toBe(false);
  });

  it("requires by kind (staging reviewed, prod approved by another, mergeable, up to date), configurable", () => {
    expect(requirementsFor(undefined, { name: "staging", kind: "staging" })).toEqual(["approved"]);
    expect(requirementsFor(undefined, { name: "prod", kind: "prod" })).toEqual([
      "approved-by-other",
      "mergeable",
      "up-to-date",
    ]);
    expect(requirementsFor(undefined, { name: "dev", kind: "dev" })).toEqual([]);
    expect(requirementsFor({ require: { staging: [] } }, { name: "staging", kind: "staging" })).toEqual([]);
  });

  it("ignores plinth's own checks when judging mergeable (no apply/merge deadlock)", () => {
    const pull = {
      author: "alice",
      headSha: SHA,
      reviews: [{ user: "bob", state: "APPROVED", commitId: SHA, submittedAt: "" }],
      mergeable: true,
      behindBy: 0,
      checks: [
        { id: 1, name: "plinth/prod", status: "queued", conclusion: null },
        { id: 2, name: "test", status: "completed", conclusion: "success" },
      ],
    };
    expect(unmet(["approved-by-other", "mergeable", "up-to-date"], pull)).toEqual([]);
    expect(
      unmet(["mergeable"], {
        ...pull,
        checks: [...pull.checks, { id: 3, name: "lint", status: "completed", conclusion: "failure" }],
      }),
    ).toEqual(["passing checks: lint (failure)"]);
    expect(unmet(["up-to-date"], { ...pull, behindBy: 3 })).toEqual([
      "a branch up to date with its base (3 commits behind)",
    ]);
  });

  it("counts approvals of the head commit only, and not the author's own", () => {
    const pull = { author: "alice", headSha: SHA, mergeable: true, behindBy: 0, checks: [] };
    const old = { user: "bob", state: "APPROVED", commitId: BASE, submittedAt: "" };
    const own = { user: "alice", state: "APPROVED", commitId: SHA, submittedAt: "" };
    expect(unmet(["approved"], { ...pull, reviews: [old] })).toEqual([
      "an approving review of the head commit aaaaaaa",
    ]);
    expect(unmet(["approved"], { ...pull, reviews: [own] })).toEqual([]);
    expect(unmet(["approved-by-other"], { ...pull, reviews: [own] })).toEqual([
      "an approving review of the head commit aaaaaaa by someone other than @alice",
    ]);
    const blocked = { user: "dan", state: "CHANGES_REQUESTED", commitId: SHA, submittedAt: "" };
    expect(unmet(["approved"], { ...pull, reviews: [own, blocked] })).toEqual(["changes requested by @dan"]);
  });
});
