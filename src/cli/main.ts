import { version } from "../util/version.js";
import type { Command, CommandContext } from "./command.js";
import { apply, destroy } from "./commands/apply.js";
import { backup, restoreDrill } from "./commands/backup.js";
import { bootstrap } from "./commands/bootstrap.js";
import { data } from "./commands/data.js";
import { domains } from "./commands/domains.js";
import { drift } from "./commands/drift.js";
import { github } from "./commands/github.js";
import { graph } from "./commands/graph.js";
import { init } from "./commands/init.js";
import { plan } from "./commands/plan.js";
import { refresh } from "./commands/refresh.js";
import { render } from "./commands/render.js";
import { restore } from "./commands/restore.js";
import { secrets } from "./commands/secrets.js";
import { status } from "./commands/status.js";
import { unlock } from "./commands/unlock.js";
import { validate } from "./commands/validate.js";
import { dispatch, processContext } from "./dispatch.js";
import { table } from "./output.js";

/** Every command, in the order `plinth --help` lists them. */
export const COMMANDS: readonly Command[] = [
  validate,
  plan,
  bootstrap,
  apply,
  destroy,
  refresh,
  unlock,
  secrets,
  status,
  backup,
  restoreDrill,
  restore,
  data,
  render,
  domains,
  graph,
  init,
  github,
  drift,
];

function help(): string {
  return [
    "plinth: stand up and keep converged a small-company platform on k3s, from code.",
    "",
    "Usage: plinth <command> [options]",
    "",
    table(COMMANDS.map((c) => [`  ${c.name}`, c.summary])),
    "",
    "Options for every command: --config PATH (default: ./plinth.config.ts), --debug, --help",
    "",
  ].join("\n");
}

/** Runs the CLI and returns its exit code: 0 ok, 1 a plinth bug, 2 the user's input. */
export async function run(argv: string[], ctx: CommandContext): Promise<number> {
  const [name] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    ctx.stdout(help());
    return 0;
  }
  if (name === "--version" || name === "-v") {
    ctx.stdout(`${version()}\n`);
    return 0;
  }
  return dispatch(COMMANDS, argv, ctx);
}

export async function main(argv: string[]): Promise<void> {
  process.exitCode = await run(argv, processContext());
}
