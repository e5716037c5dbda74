import { type LoadedConfig, loadConfig } from "../config/load.js";
import { type Diagnostic, error, UserError } from "../diagnostics/diagnostic.js";
import { assertEnvironment, resolveEnvironment } from "../model/resolve.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { validateAll } from "../validate/validate.js";
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

/** Diagnostics from the model carry config paths; the CLI adds the file they come from. */
export function inFile(diagnostics: readonly Diagnostic[], file: string): Diagnostic[] {
  return diagnostics.map((d) => (d.file || d.path?.startsWith("--") ? d : { ...d, file }));
}

/**
 * Resolves one environment and checks it together with the rest of the config (a host clash or
 * an over-full shared cluster is this environment's problem too).
 */
export function resolveChecked(loaded: LoadedConfig, env: string): ResolvedEnvironment {
  try {
    assertEnvironment(loaded.config, env);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(inFile(e.diagnostics, loaded.displayFile));
    throw e;
  }
  const own = resolveEnvironment(loaded.config, env);
  const cluster = loaded.config.environments[env]?.cluster ?? loaded.config.defaults?.cluster;
  // Problems elsewhere in the config that concern this environment: its hosts, its cluster's capacity.
  const related = validateAll(loaded.config).diagnostics.filter(
    (d) =>
      (d.path?.startsWith(`environments.${env}.`) || d.path?.startsWith(`clusters.${cluster}.`)) &&
      !own.diagnostics.some((o) => sameDiagnostic(o, d)),
  );
  const errors = [...own.diagnostics, ...related].filter((d) => d.severity === "error");
  if (errors.length > 0 || !own.environment) throw new UserError(inFile(errors, loaded.displayFile));
  return own.environment;
}

function sameDiagnostic(a: Diagnostic, b: Diagnostic): boolean {
  return a.path === b.path && a.message === b.message;
}

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
