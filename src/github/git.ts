import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { error, UserError } from "../diagnostics/diagnostic.js";

async function git(cwd: string, ...args: string[]): Promise<string> {
  // Promisified here, not at module load: reading execFile loads child_process, which every
  // command (offline ones too) would otherwise pay at start-up in the bundle (~6 M instructions).
  const { stdout } = await promisify(execFile)("git", args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** A commit's tree, checked out beside the workspace (a detached worktree), and how to remove it. */
export interface Checkout {
  /** The workspace's working directory, as it is in that commit. */
  cwd: string;
  dispose(): Promise<void>;
}

/**
 * Checks out `sha` of the repository `cwd` is in, into a temporary worktree, and gives the same
 * working directory inside it: the base's config for the desired-state diff, the head's for a live
 * plan. A commit not fetched yet is fetched from `origin` (the pull request's head by its ref).
 */
export async function checkoutAt(cwd: string, sha: string, pr?: number): Promise<Checkout> {
  let top: string;
  try {
    top = await git(cwd, "rev-parse", "--show-toplevel");
  } catch {
    throw new UserError(
      error(`${cwd} is not in a git checkout`, {
        path: "plinth github",
        fix: "run it after actions/checkout (fetch-depth: 0, so the base commit is there too)",
      }),
    );
  }
  const present = () =>
    git(top, "cat-file", "-e", `${sha}^{commit}`).then(
      () => true,
      () => false,
    );
  if (!(await present())) {
    await git(top, "fetch", "--no-tags", "origin", sha).catch(() => undefined);
    if (!(await present()) && pr)
      await git(top, "fetch", "--no-tags", "origin", `refs/pull/${pr}/head`).catch(() => undefined);
    if (!(await present())) {
      throw new UserError(
        error(`commit ${sha} is not in the checkout and could not be fetched`, {
          path: "plinth github",
          fix: "check out with fetch-depth: 0 (actions/checkout), so base and head commits are there",
        }),
      );
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "plinth-pr-"));
  await git(top, "worktree", "add", "--detach", "--force", dir, sha);
  return {
    cwd: join(dir, relative(top, cwd)),
    async dispose() {
      await git(top, "worktree", "remove", "--force", dir).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
