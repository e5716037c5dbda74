import { type LoadedConfig, loadConfig } from "../config/load.js";
import { type Diagnostic, UserError } from "../diagnostics/diagnostic.js";
import { assertEnvironment, resolveEnvironment } from "../model/resolve.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { validateAll } from "../model/validate.js";
import type { CommandContext, ParsedArgs } from "./command.js";

export async function loadFromArgs(args: ParsedArgs, ctx: CommandContext): Promise<LoadedConfig> {
  const configPath = typeof args.values.config === "string" ? args.values.config : undefined;
  return loadConfig({ cwd: ctx.cwd, ...(configPath ? { configPath } : {}) });
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

export function requireEnvArg(args: ParsedArgs, command: string): string {
  const env = args.positionals[0];
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
