/**
 * A fork's pull request gets its sticky comment in two steps, the usual safe pattern for it:
 * the fork's `pull_request` run (its own code, no secrets, a read-only token) saves the comment
 * it rendered as an artifact, and a `workflow_run` job of the default branch's workflow (which
 * may write, and checks out and runs nothing of the pull request) posts it. Everything in that
 * artifact was made by the fork's code, so it is read as untrusted data: size-capped, only a
 * comment body and two numbers, each checked against GitHub's API before anything is written.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unzipEntry } from "../util/unzip.js";
import { COMMENT_LIMIT, STICKY_MARKER } from "./comment.js";
import { type GitHubRun, upsertSticky } from "./context.js";
import { COMMENT_ARTIFACT as ARTIFACT } from "./workflows.js";

/** Far above any comment GitHub accepts (65,536 characters, at most 4 bytes each), and no more. */
export const COMMENT_ARTIFACT_MAX_BYTES = 320 * 1024;

/** What the fork's run saves: the rendered comment and what it is for. */
export interface SavedComment {
  version: 1;
  pr: number;
  headSha: string;
  body: string;
}

/** Where the fork's run writes the artifact's file: `$RUNNER_TEMP/plinth-comment/`. */
export function commentArtifactDir(env: GitHubRun["env"]): string | undefined {
  return env.RUNNER_TEMP ? join(env.RUNNER_TEMP, ARTIFACT.name) : undefined;
}

/**
 * The fork's side: the comment saved for the `workflow_run` job to post. Outside a runner
 * (no RUNNER_TEMP) there is no artifact to upload, and nothing is written.
 */
export function saveForPublisher(run: GitHubRun, saved: Omit<SavedComment, "version">): void {
  const dir = commentArtifactDir(run.env);
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, ARTIFACT.file);
  writeFileSync(file, `${JSON.stringify({ version: 1, ...saved } satisfies SavedComment)}\n`);
  run.log(`the comment is saved for the ${ARTIFACT.name} artifact (${file}), posted by the workflow_run job`);
}

/** The title autoplan gives the sticky comment: the body must carry exactly this one. */
export const stickyTitle = (pr: number, headSha: string) =>
  `### plinth: what pull request #${pr} changes at ${headSha.slice(0, 7)}`;

/** Why the artifact's text is not a saved comment for this run, or the comment. */
export function readSaved(text: string, run: { headSha: string }): SavedComment | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "its file is not JSON";
  }
  const o = (typeof v === "object" && v !== null && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !["version", "pr", "headSha", "body"].includes(k));
  if (o.version !== 1 || extra.length) return "its file is not plinth's saved comment (version 1)";
  if (typeof o.pr !== "number" || !Number.isSafeInteger(o.pr) || o.pr <= 0)
    return "its pull request number is not a positive whole number";
  if (typeof o.headSha !== "string" || !/^[0-9a-f]{40}$/.test(o.headSha)) return "its head SHA is not one";
  if (o.headSha !== run.headSha)
    return `it was saved for ${o.headSha.slice(0, 7)}, but the run was of ${run.headSha.slice(0, 7)}`;
  if (typeof o.body !== "string") return "it has no comment body";
  const lines = o.body.split("\n");
  if (lines[0] !== STICKY_MARKER || lines[1] !== stickyTitle(o.pr, o.headSha))
    return "its body is not plinth's comment for that pull request and head";
  // Room for the line added below it.
  if (o.body.length > COMMENT_LIMIT - 1000)
    return `its body is ${o.body.length} characters, over GitHub's limit`;
  return { version: 1, pr: o.pr, headSha: o.headSha, body: o.body };
}

/**
 * The body as posted: plinth's own markers are the fork's text's only at the top (a marker
 * further down could pose as an applied record or a reply plinth edits later), and a last line
 * says where the text comes from.
 */
export function publishedBody(saved: SavedComment, runId: number): string {
  const [marker, ...rest] = saved.body.split("\n");
  const kept = rest.map((l) => l.replaceAll("<!-- plinth:", "<!-- (fork) plinth:"));
  return [
    marker,
    ...kept,
    "",
    `<sub>Rendered by the fork's own \`pull_request\` run ${runId} (its code, no credentials) and posted by this repository's \`workflow_run\` job, which checked its pull request, head commit and size, not its text.</sub>`,
  ].join("\n");
}

/**
 * `workflow_run` completed, for a `pull_request` run: the comment the run saved is posted on its
 * pull request, once the artifact's numbers agree with GitHub's: the run's head commit, and an
 * open pull request of that number whose head is that commit of that repository (a fork's run
 * has no linked pull requests; the pull request is found by its head branch and owner). A run
 * that saved nothing (a pull request of this repository, which commented itself) is left alone.
 * Returns 0 posted or nothing to post, 2 refused (the reason in the log).
 */
export async function publishSavedComment(
  run: GitHubRun,
  e: { runId: number; headSha: string; headBranch: string; headRepo: string },
): Promise<number> {
  const refuse = (why: string) => {
    run.log(`the ${ARTIFACT.name} artifact of run ${e.runId} is not posted: ${why}`);
    return 2;
  };
  const artifacts = (await run.gh.runArtifacts(e.runId, ARTIFACT.name)).filter(
    (a) => a.name === ARTIFACT.name,
  );
  const artifact = artifacts[0];
  if (!artifact) {
    run.log(`run ${e.runId} saved no ${ARTIFACT.name} artifact: nothing to post`);
    return 0;
  }
  if (artifacts.length > 1) return refuse(`the run has ${artifacts.length} of that name`);
  if (artifact.expired) return refuse("it has expired");
  if (artifact.sizeInBytes > COMMENT_ARTIFACT_MAX_BYTES)
    return refuse(`it is ${artifact.sizeInBytes} bytes, more than ${COMMENT_ARTIFACT_MAX_BYTES}`);
  const zip = await run.gh.downloadArtifact(artifact.id);
  if (zip.length > COMMENT_ARTIFACT_MAX_BYTES)
    return refuse(`its archive is ${zip.length} bytes, more than ${COMMENT_ARTIFACT_MAX_BYTES}`);
  let text: string;
  try {
    const file = unzipEntry(zip, ARTIFACT.file, COMMENT_ARTIFACT_MAX_BYTES);
    if (!file) return refuse(`it holds no ${ARTIFACT.file}`);
    text = new TextDecoder("utf-8", { fatal: true }).decode(file);
  } catch (err) {
    return refuse(`it cannot be read: ${(err as Error).message}`);
  }
  const saved = readSaved(text, e);
  if (typeof saved === "string") return refuse(saved);
  const [owner] = e.headRepo.split("/");
  if (!owner || !e.headBranch) return refuse("the run names no head repository and branch");
  const open = await run.gh.openPullsFrom(owner, e.headBranch);
  const pull = open.find((p) => p.number === saved.pr);
  if (!pull) return refuse(`#${saved.pr} is not an open pull request from ${owner}:${e.headBranch}`);
  if (pull.headRepo !== e.headRepo || pull.headSha !== e.headSha)
    return refuse(
      `#${saved.pr}'s head is now ${pull.headSha.slice(0, 7)} of ${pull.headRepo ?? "a deleted repository"}, not the run's ${e.headSha.slice(0, 7)} of ${e.headRepo} (a newer run posts its own)`,
    );
  const body = publishedBody(saved, e.runId);
  await run.summary(body);
  await upsertSticky(run, saved.pr, body);
  run.log(`pull request #${saved.pr} at ${e.headSha.slice(0, 7)}: the fork run's comment is posted`);
  return 0;
}
