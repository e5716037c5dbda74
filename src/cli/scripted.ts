import type { Command } from "./command.js";
import { domains } from "./commands/domains.js";
import { graph } from "./commands/graph.js";
import { plan } from "./commands/plan.js";
import { render } from "./commands/render.js";
import { validate } from "./commands/validate.js";
import { dispatch, processContext } from "./dispatch.js";

/**
 * The commands bin/plinth runs from a classic script with a V8 code cache written after the run
 * (scripts/bundle.mjs): `offline.cjs` for those that read only the config and the files beside
 * it, `plan.cjs` for a live plan, which needs the Kubernetes client, Vault and DNS besides. Every
 * other command runs from the bundle.
 */
export const SCRIPTED_COMMANDS: readonly Command[] = [validate, plan, render, graph, domains];

export type Script = "offline" | "plan";

/**
 * Which script runs `argv`, if one does. An argument equal to `--offline` is that flag
 * (parseArgs refuses it as another option's value) or an error either CLI reports alike.
 */
export function scriptFor(argv: readonly string[]): Script | undefined {
  const [name] = argv;
  if (name === "plan") return argv.includes("--offline") ? "offline" : "plan";
  return SCRIPTED_COMMANDS.some((c) => c.name === name) ? "offline" : undefined;
}

/** Runs `argv` if a script runs it (and says so); anything else is left to the whole CLI. */
export async function main(argv: string[]): Promise<boolean> {
  if (scriptFor(argv) === undefined) return false;
  process.exitCode = await dispatch(SCRIPTED_COMMANDS, argv, processContext());
  return true;
}
