import { error, UserError } from "../diagnostics/diagnostic.js";

/**
 * The events `plinth github` acts on, as the few facts it needs. GitHub's payloads are large and
 * differ by event; everything else in them is ignored.
 */
export type GitHubEvent =
  | {
      kind: "pull_request";
      action: "opened" | "synchronize" | "reopened" | "closed";
      pr: number;
      merged: boolean;
      headSha: string;
      baseSha: string;
      author: string;
      /** The head branch lives in another repository. */
      fromFork: boolean;
    }
  | { kind: "comment"; pr: number; commentId: number; body: string; commenter: string; commenterType: string }
  | { kind: "review"; pr: number; state: string; reviewer: string; headSha: string }
  | { kind: "schedule" | "workflow_dispatch" }
  /**
   * A `pull_request` run of the autoplan workflow finished (`workflow_run` completed): its
   * comment, saved as an artifact by a fork's read-only run, is posted from here.
   */
  | {
      kind: "workflow_run";
      runId: number;
      workflow: string;
      headSha: string;
      headBranch: string;
      /** `owner/name` of the head's repository: a fork's, for the runs this is for. */
      headRepo: string;
      /** The pull requests GitHub links to the run: none for a fork's (matched by head instead). */
      pulls: number[];
    }
  /** An event or action plinth has nothing to do for (a comment on an issue, a label added). */
  | { kind: "ignored"; why: string };

const PR_ACTIONS = ["opened", "synchronize", "reopened", "closed"] as const;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {};
const str = (v: unknown): string => (typeof v === "string" ? v : "");

function malformed(name: string, what: string): UserError {
  return new UserError(
    error(`the ${name} event's payload has no ${what}`, {
      path: "GITHUB_EVENT_PATH",
      fix: "run plinth github from a workflow triggered by that event (it writes the payload to GITHUB_EVENT_PATH)",
    }),
  );
}

function number(v: unknown, name: string, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw malformed(name, what);
  return v;
}

function sha(v: unknown, name: string, what: string): string {
  const s = str(v);
  if (!/^[0-9a-f]{40}$/.test(s)) throw malformed(name, what);
  return s;
}

/**
 * GITHUB_EVENT_NAME and the parsed JSON at GITHUB_EVENT_PATH → what plinth does. `pull_request_target`
 * is read as `pull_request` (its closed action cleans up from the default branch's workflow).
 */
export function parseEvent(name: string, payload: unknown): GitHubEvent {
  const p = obj(payload);
  switch (name) {
    case "pull_request":
    case "pull_request_target": {
      const action = str(p.action);
      if (!(PR_ACTIONS as readonly string[]).includes(action)) {
        return { kind: "ignored", why: `pull_request ${action || "(no action)"}: nothing to plan` };
      }
      const pr = obj(p.pull_request);
      const head = obj(pr.head);
      const base = obj(pr.base);
      return {
        kind: "pull_request",
        action: action as (typeof PR_ACTIONS)[number],
        pr: number(pr.number ?? p.number, name, "pull_request.number"),
        merged: pr.merged === true,
        headSha: sha(head.sha, name, "pull_request.head.sha"),
        baseSha: sha(base.sha, name, "pull_request.base.sha"),
        author: str(obj(pr.user).login),
        fromFork: str(obj(head.repo).full_name) !== str(obj(base.repo).full_name),
      };
    }
    case "issue_comment": {
      if (str(p.action) !== "created") return { kind: "ignored", why: `issue_comment ${str(p.action)}` };
      const issue = obj(p.issue);
      if (!issue.pull_request) return { kind: "ignored", why: "a comment on an issue, not a pull request" };
      const comment = obj(p.comment);
      const user = obj(comment.user);
      return {
        kind: "comment",
        pr: number(issue.number, name, "issue.number"),
        commentId: number(comment.id, name, "comment.id"),
        body: str(comment.body),
        commenter: str(user.login),
        commenterType: str(user.type),
      };
    }
    case "pull_request_review": {
      const review = obj(p.review);
      const pr = obj(p.pull_request);
      return {
        kind: "review",
        pr: number(pr.number, name, "pull_request.number"),
        state: str(review.state).toLowerCase(),
        reviewer: str(obj(review.user).login),
        headSha: sha(obj(pr.head).sha, name, "pull_request.head.sha"),
      };
    }
    case "schedule":
    case "workflow_dispatch":
      return { kind: name };
    case "workflow_run": {
      const r = obj(p.workflow_run);
      if (str(p.action) !== "completed") return { kind: "ignored", why: `workflow_run ${str(p.action)}` };
      if (str(r.event) !== "pull_request")
        return {
          kind: "ignored",
          why: `workflow_run of a ${str(r.event) || "(no)"} run, not a pull request's`,
        };
      return {
        kind: "workflow_run",
        runId: number(r.id, name, "workflow_run.id"),
        workflow: str(r.name),
        headSha: sha(r.head_sha, name, "workflow_run.head_sha"),
        headBranch: str(r.head_branch),
        headRepo: str(obj(r.head_repository).full_name),
        pulls: (Array.isArray(r.pull_requests) ? r.pull_requests : [])
          .map((x) => obj(x).number)
          .filter((n): n is number => typeof n === "number"),
      };
    }
    default:
      return { kind: "ignored", why: `plinth github does not act on ${name || "(no event name)"} events` };
  }
}
