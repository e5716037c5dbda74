import { dirname } from "node:path";
import { loadConfig } from "../config/load.js";
import { releaseReservation, reservationsOf, stateBackend } from "../state/index.js";
import { type GitHubRun, holderOf, reply } from "./context.js";
import { checkoutAt } from "./git.js";
import { deletePlans } from "./store.js";

/**
 * `pull_request` closed (merged or not), from a workflow that holds the state's credentials and
 * runs the default branch's code (`pull_request_target`): the environments the pull request
 * reserved are given back and the plans stored for it deleted. Nothing of the pull request runs.
 */
export async function onClosed(run: GitHubRun, e: { pr: number; merged: boolean }): Promise<number> {
  const trusted = await loadConfig({
    cwd: run.cwd,
    ...(run.configPath ? { configPath: run.configPath } : {}),
  });
  const state = stateBackend(trusted.config, { configDir: dirname(trusted.file), env: { ...run.env } });
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
