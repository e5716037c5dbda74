import type { ParseArgsConfig, parseArgs } from "node:util";

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

/**
 * The values node:util's parseArgs gives for these options (with the common ones, strict): a
 * boolean option is `boolean | undefined`, a string option `string | undefined`, a name that is
 * not an option does not compile.
 */
export type ValuesOf<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O & typeof COMMON_OPTIONS; allowPositionals: true; strict: true }>
>["values"];

/** Any command's arguments, as the shared helpers (confirm, flags, session) read them. */
export interface ParsedArgs {
  /** The command these arguments were given to, for messages that name it (`plinth destroy`). */
  command?: string;
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

/** Arguments as one command declared them: each flag typed; a structural ParsedArgs for the helpers. */
export interface ArgsOf<O extends Options> {
  command?: string;
  positionals: string[];
  values: ValuesOf<O>;
}

/** A command as data (Wrangler-style): metadata, typed options, one handler returning an exit code. */
export interface Command<O extends Options = Options> {
  name: string;
  summary: string;
  usage: string;
  options: O;
  /** How many positionals the command takes (names shown in errors). */
  positionals: string[];
  handler(args: Options extends O ? ParsedArgs : ArgsOf<O>, ctx: CommandContext): Promise<number>;
}

/**
 * A command whose handler reads its flags typed from its own `options` (declared `as const`):
 * `args.values["no-wait"]` is `boolean | undefined`, a misspelt flag does not compile.
 */
export function defineCommand<const O extends Options>(command: Command<O>): Command {
  // The registry holds every command as one type; main parses each command's arguments with that
  // command's own options (and the common ones), so its handler gets the values its type says.
  return command as unknown as Command;
}

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  config: { type: "string", short: "c" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;
