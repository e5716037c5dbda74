import type { Command } from "./command.js";
import { domains } from "./commands/domains.js";
import { graph } from "./commands/graph.js";
import { plan } from "./commands/plan.js";
import { render } from "./commands/render.js";
import { validate } from "./commands/validate.js";
import { dispatch, processContext } from "./dispatch.js";

/**
 * The commands that read only the config and the files beside it: no cluster, Vault, state or
 * API. bin/plinth runs these from one classic script with a code cache written after the command
 * (dist/bundle/offline.cjs, see scripts/bundle.mjs); every other command runs from the bundle.
 */
export const OFFLINE_COMMANDS: readonly Command[] = [validate, plan, render, graph, domains];

/**
 * Whether `argv` is an offline run. `plan` is one only with `--offline`: an argument equal to it is
 * that flag (parseArgs refuses it as another option's value) or an error either CLI reports alike.
 */
export function isOfflineRun(argv: readonly string[]): boolean {
  const [name] = argv;
  if (name === "plan") return argv.includes("--offline");
  return OFFLINE_COMMANDS.some((c) => c.name === name);
}

/** Runs `argv` if it is an offline run (and says so); anything else is left to the whole CLI. */
export async function main(argv: string[]): Promise<boolean> {
  if (!isOfflineRun(argv)) return false;
  process.exitCode = await dispatch(OFFLINE_COMMANDS, argv, processContext());
  return true;
}
