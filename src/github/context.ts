import type { ApplyOptions } from "../api/engine.js";
import type { GitHubSettings } from "../config/schema.js";
import type { CommentFacts, GitHubRepo } from "../providers/github/index.js";
import { type CommentParts, renderComment, replyMarker, STICKY_MARKER, withApplied } from "./comment.js";

/** What every handler of `plinth github` works with. */
export interface GitHubRun {
  gh: GitHubRepo;
  /** Environment variables (credentials included), passed in from the edge. */
  env: Readonly<Record<string, string | undefined>>;
  /** The workspace (a checkout of the trusted default branch, or of the pull request on `pull_request`). */
  cwd: string;
  configPath?: string;
  /** Only these environments; the others are left to another workflow. */
  only?: readonly string[];
  log: (line: string) => void;
  /** Adds Markdown to the job summary. */
  summary: (markdown: string) => Promise<void>;
  /** Passed to the apply (waits, health checks). */
  apply: Pick<ApplyOptions, "noWait" | "skipHealthChecks" | "maxWaitMs">;
}

/** `github.com/acme/platform#12`: a pull request as a reservation holder. */
export function holderOf(run: GitHubRun, pr: number): string {
  const host = new URL(run.env.GITHUB_SERVER_URL ?? "https://github.com").host;
  return `${host}/${run.gh.ref.owner}/${run.gh.ref.repo}#${pr}`;
}

export function pullUrl(run: GitHubRun, pr: number): string {
  const server = (run.env.GITHUB_SERVER_URL ?? "https://github.com").replace(/\/+$/, "");
  return `${server}/${run.gh.ref.owner}/${run.gh.ref.repo}/pull/${pr}`;
}

export type Settings = GitHubSettings | undefined;

const mineToEdit = (c: CommentFacts) => c.user.endsWith("[bot]");

/**
 * Writes the comment: the sticky one edited in place if it exists, a reply posted and older
 * replies on the same topic minimized (no flood). The full text, when cut, goes to the job summary.
 */
export async function postComment(
  run: GitHubRun,
  pr: number,
  parts: CommentParts,
  kind: { sticky: true } | { topic: string },
): Promise<void> {
  const { body, full, cut } = renderComment(parts);
  await run.summary(full);
  if (cut) run.log("the comment was cut to GitHub's limit; the whole text is in the job summary");
  try {
    await writeComment(run, pr, body, kind);
  } catch (e) {
    // A fork's pull request runs with a read-only token: the text is in the job summary instead.
    if ((e as { status?: number }).status !== 403) throw e;
    run.log(
      "the token may not comment on this pull request (a fork's gets a read-only token): the comment is in the job summary",
    );
  }
}

async function writeComment(
  run: GitHubRun,
  pr: number,
  body: string,
  kind: { sticky: true } | { topic: string },
): Promise<void> {
  if ("sticky" in kind) return upsertSticky(run, pr, body);
  const existing = await run.gh.comments(pr);
  const marker = replyMarker(kind.topic);
  await run.gh.comment(pr, body);
  // Older replies on the same topic are minimized as outdated (GraphQL's minimizeComment), as a
  // person would hide them: kept for the record, folded away, never a flood.
  const older = existing.filter((c) => mineToEdit(c) && c.body.startsWith(marker));
  try {
    const hidden = await run.gh.minimized(older.map((c) => c.nodeId));
    for (const old of older) if (!hidden.has(old.nodeId)) await run.gh.minimizeComment(old.nodeId);
  } catch (e) {
    // The reply is posted; older ones left visible are untidy, not a reason to fail the command.
    run.log(`older replies were not minimized: ${(e as Error).message}`);
  }
}

/** The pull request's one sticky comment: plinth's own edited in place, else posted. */
export async function upsertSticky(run: GitHubRun, pr: number, body: string): Promise<void> {
  const sticky = (await run.gh.comments(pr)).find((c) => mineToEdit(c) && c.body.startsWith(STICKY_MARKER));
  if (sticky) await run.gh.editComment(sticky.id, body);
  else await run.gh.comment(pr, body);
}

/** A short reply (help, refusal) on a topic: a newer `/apply staging` reply minimizes the older ones. */
export function reply(run: GitHubRun, pr: number, topic: string, title: string, text: string): Promise<void> {
  return postComment(run, pr, { marker: replyMarker(topic), title, rows: [], notes: [text] }, { topic });
}

/** Records an apply in the sticky comment (when there is one: a pull request planned before plinth ran has none). */
export async function markApplied(run: GitHubRun, pr: number, env: string, line: string): Promise<void> {
  const sticky = (await run.gh.comments(pr)).find((c) => mineToEdit(c) && c.body.startsWith(STICKY_MARKER));
  if (sticky) await run.gh.editComment(sticky.id, withApplied(sticky.body, env, line));
}
