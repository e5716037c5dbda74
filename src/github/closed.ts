import { dirname } from "node:path";
import { loadConfig } from "../config/load.js";
import { releaseReservation, reservationsOf, stateBackend } from "../state/index.js";
import { type GitHubRun, holderOf, reply } from "./context.js";
import { checkoutAt } from "./git.js";
import { deletePlans } from "./store.js";

/**
 * `pull_request` closed (merged or not): the environments the pull request reserved are given
 * back and the plans stored for it deleted. The job needs the state's credentials; the config is
 * read from the base commit (the default branch's), never from the workspace, which may hold the
 * closed pull request's code: nothing of it runs with those credentials.
 */
export async function onClosed(
  run: GitHubRun,
  e: { pr: number; merged: boolean; baseSha: string },
): Promise<number> {
  const base = await checkoutAt(run.cwd, e.baseSha);
  let state: ReturnType<typeof stateBackend>;
  try {
    const trusted = await loadConfig({
      cwd: base.cwd,
      ...(run.configPath ? { configPath: run.configPath } : {}),
    });
    state = stateBackend(trusted.config, { configDir: dirname(trusted.file), env: { ...run.env } });
  } finally {
    await base.dispose();
  }
  const holder = holderOf(run, e.pr);
  const released: string[] = [];
  for (const r of await reservationsOf(state, holder)) {
    if (await releaseReservation(state, r.env, holder)) released.push(r.env);
  }
  const plans = await deletePlans(state, e.pr);
  const what = `${released.length ? `released ${released.join(", ")}` : "no environment was reserved"}; ${plans} stored plan${plans === 1 ? "" : "s"} deleted`;
  run.log(`pull request #${e.pr} ${e.merged ? "merged" : "closed"}: ${what}`);
  if (released.length || plans) {
    await reply(
      run,
      e.pr,
      "closed",
      `plinth: pull request ${e.merged ? "merged" : "closed"}`,
      `${what[0]?.toUpperCase()}${what.slice(1)}.`,
    );
  }
  return 0;
}
