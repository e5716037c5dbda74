import { writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { UserError } from "../diagnostics/diagnostic.js";
import { COMMON_OPTIONS, type Command, type CommandContext } from "./command.js";
import { renderDiagnostics } from "./output.js";

/** Runs one command of `commands` and returns its exit code: 0 ok, 1 a plinth bug, 2 the user's input. */
export async function dispatch(
  commands: readonly Command[],
  argv: string[],
  ctx: CommandContext,
): Promise<number> {
  const [name = "", ...rest] = argv;
  const command = commands.find((c) => c.name === name);
  const debug = rest.includes("--debug");
  try {
    if (!command) {
      throw new UserError({
        severity: "error",
        path: "plinth",
        message: `unknown command "${name}"`,
        fix: `use one of: ${commands.map((c) => c.name).join(", ")}`,
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

/** The context of a command run from a terminal or CI: this process's directory, variables and streams. */
export function processContext(): CommandContext {
  return {
    cwd: process.cwd(),
    env: process.env,
    // Asked only by the commands that show live progress or prompt: the answer makes the streams.
    get tty() {
      return Boolean(process.stdout.isTTY && process.stdin.isTTY);
    },
    prompt: async (question) => {
      const { createInterface } = await import("node:readline/promises");
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    stdout: (t) => writeStandard(1, t),
    stderr: (t) => writeStandard(2, t),
  };
}

/**
 * Writes to standard output or error through the descriptor. `process.stdout` is a stream whose
 * first use loads Node's stream and network modules (about 6 ms, a tenth of an offline command);
 * on Linux it writes files, pipes and terminals synchronously too, so the order is the same. A
 * descriptor that would block (one left non-blocking) gets the rest through the stream; a reader
 * that went away (`plinth plan | head`) gets nothing more.
 */
function writeStandard(fd: 1 | 2, text: string): void {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (throughStream.has(fd)) {
    stream.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  let at = 0;
  try {
    while (at < bytes.length) at += writeSync(fd, bytes, at);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EPIPE") return;
    if (code !== "EAGAIN") throw e;
    // From here on through the stream only, which keeps what it cannot write yet in order.
    throughStream.add(fd);
    stream.write(bytes.subarray(at));
  }
}

const throughStream = new Set<number>();
