import { type LoadedConfig, loadConfig } from "../config/load.js";
import { error, UserError } from "../diagnostics/diagnostic.js";
import type { CommandContext, ParsedArgs } from "./command.js";
import { duration } from "./flags.js";

export async function loadFromArgs(args: ParsedArgs, ctx: CommandContext): Promise<LoadedConfig> {
  const configPath = typeof args.values.config === "string" ? args.values.config : undefined;
  const timeLimitMs = configTimeLimit(ctx.env);
  return loadConfig({
    cwd: ctx.cwd,
    ...(configPath ? { configPath } : {}),
    ...(timeLimitMs ? { timeLimitMs } : {}),
  });
}

/** `PLINTH_CONFIG_TIMEOUT` (a duration such as `90s`): how long the config may take to evaluate. */
function configTimeLimit(env: CommandContext["env"]): number | undefined {
  const raw = env.PLINTH_CONFIG_TIMEOUT;
  if (raw === undefined || raw === "") return undefined;
  try {
    return duration({ positionals: [], values: { timeout: raw } }, "timeout");
  } catch {
    throw new UserError(
      error(`is not a duration: ${JSON.stringify(raw)}`, {
        path: "PLINTH_CONFIG_TIMEOUT",
        fix: "give a positive duration such as 30s or 2m, or unset it (default 30s)",
      }),
    );
  }
}

export { inFile, resolveChecked } from "../validate/validate.js";

/**
 * The environment positional. The message names the command actually run (`args.command`), not
 * the helper's caller: `destroy` and `status` open their session through code shared with `apply`.
 */
export function requireEnvArg(args: ParsedArgs, fallback: string): string {
  const env = args.positionals[0];
  const command = args.command ?? fallback;
  if (!env) {
    throw new UserError({
      severity: "error",
      path: `plinth ${command}`,
      message: "needs an environment name",
      fix: `run plinth ${command} <env>, e.g. plinth ${command} staging`,
    });
  }
  return env;
}
