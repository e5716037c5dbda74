import { parseArgs } from "node:util";
import { UserError } from "../diagnostics/diagnostic.js";
import { version } from "../util/version.js";
import { COMMON_OPTIONS, type Command, type CommandContext } from "./command.js";
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
import { renderDiagnostics, table } from "./output.js";

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
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    ctx.stdout(help());
    return 0;
  }
  if (name === "--version" || name === "-v") {
    ctx.stdout(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const debug = rest.includes("--debug");
  try {
    if (!command) {
      throw new UserError({
        severity: "error",
        path: "plinth",
        message: `unknown command "${name}"`,
        fix: `use one of: ${COMMANDS.map((c) => c.name).join(", ")}`,
      });
    }
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...COMMON_OPTIONS, ...command.options },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UserError({
        severity: "error",
        path: `plinth ${command.name}`,
        message: (e as Error).message,
        fix: `usage: ${command.usage}`,
      });
    }
    if (parsed.values.help) {
      ctx.stdout(`${command.summary}\n\nUsage: ${command.usage}\n`);
      return 0;
    }
    if (parsed.positionals.length > command.positionals.length) {
      throw new UserError({
        severity: "error",
        path: `plinth ${command.name}`,
        message: `unexpected argument "${parsed.positionals[command.positionals.length]}"`,
        fix: `usage: ${command.usage}`,
      });
    }
    return await command.handler(
      { command: command.name, positionals: parsed.positionals, values: parsed.values },
      ctx,
    );
  } catch (e) {
    if (e instanceof UserError) {
      ctx.stderr(renderDiagnostics(e.diagnostics));
      return 2;
    }
    ctx.stderr(
      `plinth failed unexpectedly: this is a bug in plinth, please report it.\n${debug ? (e as Error).stack : `${(e as Error).message}\n(run again with --debug for the stack trace)`}\n`,
    );
    return 1;
  }
}

export async function main(argv: string[]): Promise<void> {
  const code = await run(argv, {
    cwd: process.cwd(),
    env: process.env,
    tty: Boolean(process.stdout.isTTY && process.stdin.isTTY),
    prompt: async (question) => {
      const { createInterface } = await import("node:readline/promises");
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
  process.exitCode = code;
}
