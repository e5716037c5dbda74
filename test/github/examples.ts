/**
 * GitHub's own webhook payload examples (`@octokit/webhooks-examples`, not written here), with
 * the fields a test needs overridden (repository, numbers, SHAs, comment body): what a workflow
 * finds at GITHUB_EVENT_PATH.
 */
import { createRequire } from "node:module";

interface Example {
  name: string;
  examples: Record<string, unknown>[];
}

const all = createRequire(import.meta.url)(
  "@octokit/webhooks-examples/api.github.com/index.json",
) as Example[];

type Json = Record<string, unknown>;

/** The first of GitHub's examples for the event and action (a deep copy, free to change). */
export function example(name: string, action?: string): Json {
  const found = all
    .find((e) => e.name === name)
    ?.examples.find((x) => action === undefined || x.action === action);
  if (!found)
    throw new Error(`@octokit/webhooks-examples has no ${name}${action ? `.${action}` : ""} example`);
  return structuredClone(found);
}

export interface PullOverrides {
  owner: string;
  repo: string;
  pr: number;
  headSha: string;
  baseSha: string;
  author: string;
  /** The head in another repository. */
  fork?: boolean;
  merged?: boolean;
}

function setRepo(target: Json, full: string): void {
  const [owner = "", name = ""] = full.split("/");
  target.full_name = full;
  target.name = name;
  (target.owner as Json).login = owner;
}

/** GitHub's `pull_request.<action>` example, made this repository's pull request. */
export function pullRequestEvent(action: string, o: PullOverrides): Json {
  const e = example("pull_request", action);
  const pr = e.pull_request as Json;
  const head = pr.head as Json;
  const base = pr.base as Json;
  e.number = o.pr;
  pr.number = o.pr;
  (pr.user as Json).login = o.author;
  head.sha = o.headSha;
  base.sha = o.baseSha;
  base.ref = "main";
  setRepo(base.repo as Json, `${o.owner}/${o.repo}`);
  // GitHub's examples share one repository object: head's gets its own copy before a fork renames it.
  head.repo = structuredClone(base.repo);
  setRepo(head.repo as Json, o.fork ? `contributor/${o.repo}` : `${o.owner}/${o.repo}`);
  setRepo(e.repository as Json, `${o.owner}/${o.repo}`);
  if (action === "closed") pr.merged = o.merged ?? false;
  return e;
}

/** GitHub's `issue_comment.created` example, made a comment on this repository's pull request. */
export function commentEvent(o: {
  owner: string;
  repo: string;
  pr: number;
  body: string;
  commenter: string;
}): Json {
  const e = example("issue_comment", "created");
  const issue = e.issue as Json;
  issue.number = o.pr;
  // The example's issue is a plain issue: the field GitHub sets on pull requests' issues.
  issue.pull_request = {
    url: `https://api.github.com/repos/${o.owner}/${o.repo}/pulls/${o.pr}`,
    html_url: `https://github.com/${o.owner}/${o.repo}/pull/${o.pr}`,
  };
  const comment = e.comment as Json;
  comment.body = o.body;
  comment.id = 900_000 + Math.floor(Math.random() * 90_000);
  (comment.user as Json).login = o.commenter;
  (comment.user as Json).type = "User";
  setRepo(e.repository as Json, `${o.owner}/${o.repo}`);
  return e;
}
