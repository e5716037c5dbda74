import { existsSync } from "node:fs";
import { findConfigFile } from "../config/find.js";
import { type LoadedConfig, loadConfig } from "../config/load.js";
import { UserError } from "../diagnostics/diagnostic.js";
import { renderComment, rowsFromDesired, STICKY_MARKER } from "./comment.js";
import type { GitHubRun } from "./context.js";
import { postComment } from "./context.js";
import { type DesiredState, desiredState, diffDesired, type EnvDiff } from "./desired-diff.js";
import { checkoutAt } from "./git.js";
import { saveForPublisher } from "./publish.js";

export const FORK_NOTICE =
  "This pull request comes from a fork. plinth compared its desired state only, with no credentials: its `plinth.config.ts` is code, and code from a fork never runs here with access to a cluster, Vault, DNS or state. It cannot be planned live or applied from this pull request; a maintainer can push its commits to a branch of this repository to do that.";

export const HOW_TO_APPLY =
  "These are the changes of the desired state (the config resolved, no cluster contacted). Someone with apply rights comments `/plan [env…]` for a live plan of this head commit, then `/apply <env>` to apply exactly that plan. `/help` lists the commands.";

/** A config as the workspace holds it; none (a new repository's base) is an empty desired state. */
async function loadAt(cwd: string, configPath: string | undefined): Promise<LoadedConfig | undefined> {
  try {
    findConfigFile(cwd, configPath);
  } catch (e) {
    if (e instanceof UserError && !existsSync(cwd)) return undefined;
    if (e instanceof UserError) return undefined;
    throw e;
  }
  return loadConfig({ cwd, ...(configPath ? { configPath } : {}) });
}

/** The desired-state diff between two commits of the workspace's repository. */
export async function diffCommits(
  run: Pick<GitHubRun, "cwd" | "configPath">,
  baseSha: string,
  head: { sha: string; pr: number } | "workspace",
): Promise<EnvDiff[]> {
  const base = await checkoutAt(run.cwd, baseSha);
  const headCheckout = head === "workspace" ? undefined : await checkoutAt(run.cwd, head.sha, head.pr);
  try {
    const before = await loadAt(base.cwd, run.configPath);
    const after = await loadAt(headCheckout?.cwd ?? run.cwd, run.configPath);
    const empty = new Map<string, DesiredState>();
    return diffDesired(before ? desiredState(before) : empty, after ? desiredState(after) : empty);
  } finally {
    await base.dispose();
    await headCheckout?.dispose();
  }
}

/**
 * `pull_request` opened, synchronize, reopened: the workspace is the pull request's code, and
 * the job has no secrets. Only the desired state is compared; nothing is contacted but GitHub.
 */
export async function autoplan(
  run: GitHubRun,
  e: { pr: number; headSha: string; baseSha: string; fromFork: boolean },
): Promise<number> {
  const diffs = (await diffCommits(run, e.baseSha, "workspace")).filter(
    (d) => !run.only || run.only.includes(d.env),
  );
  const { rows, unchanged } = rowsFromDesired(diffs);
  run.log(
    `pull request #${e.pr} at ${e.headSha.slice(0, 7)}: ${rows.length ? rows.map((r) => r.env).join(", ") : "no environment"} changed; ${unchanged.length} unchanged`,
  );
  const parts = {
    marker: STICKY_MARKER,
    title: `plinth: what pull request #${e.pr} changes at ${e.headSha.slice(0, 7)}`,
    rows,
    unchanged,
    notes: [e.fromFork ? FORK_NOTICE : HOW_TO_APPLY],
  };
  await postComment(run, e.pr, parts, { sticky: true });
  // A fork's token cannot comment: the default branch's workflow_run job posts what is saved here.
  if (e.fromFork) saveForPublisher(run, { pr: e.pr, headSha: e.headSha, body: renderComment(parts).body });
  return rows.some((r) => r.note) ? 2 : 0;
}
