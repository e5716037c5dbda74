import type { ParseArgsConfig } from "node:util";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface CommandContext {
  cwd: string;
  /** Environment variables, read only here at the edge (credentials, CI identity). */
  env: Record<string, string | undefined>;
  /** Whether stdout is a terminal (live progress view, confirmation prompts). */
  tty?: boolean;
  /** Reads one line of confirmation from the user (absent when there is no terminal). */
  prompt?: (question: string) => Promise<string>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface ParsedArgs {
  /** The command these arguments were given to, for messages that name it (`plinth destroy`). */
  command?: string;
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

/** A command as data (Wrangler-style): metadata, typed options, one handler returning an exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  /** How many positionals the command takes (names shown in errors). */
  positionals: string[];
  handler(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: Options = {
  config: { type: "string", short: "c" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};
