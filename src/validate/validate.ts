import type { ServiceId } from "../config/ids.js";
import type { LoadedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { type Diagnostic, error, UserError } from "../diagnostics/diagnostic.js";
import { buildGraph } from "../graph/graph.js";
import { assertEnvironment, resolveEnvironment } from "../model/resolve.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { checkCapacity } from "./capacity.js";

export interface Validation {
  environments: ResolvedEnvironment[];
  diagnostics: Diagnostic[];
}

/**
 * Checks the whole config: every environment resolves, graphs have no cycle, no two environments
 * claim one host (except a cluster-wide service shared on the same cluster), and every sized
 * cluster can hold what is placed on it.
 */
export function validateAll(config: Config): Validation {
  const diagnostics: Diagnostic[] = [];
  const environments: ResolvedEnvironment[] = [];
  for (const name of Object.keys(config.environments).sort()) {
    const r = resolveEnvironment(config, name);
    diagnostics.push(...r.diagnostics);
    if (!r.environment) continue;
    environments.push(r.environment);
    diagnostics.push(...buildGraph(r.environment).diagnostics);
  }
  diagnostics.push(...checkSharedHosts(environments));
  diagnostics.push(...checkCapacity(config, environments));
  return { environments, diagnostics };
}

function checkSharedHosts(environments: ResolvedEnvironment[]): Diagnostic[] {
  const owners = new Map<string, { env: ResolvedEnvironment; service: ServiceId }>();
  const diagnostics: Diagnostic[] = [];
  for (const env of environments) {
    for (const [service, entry] of Object.entries(env.hosts) as [
      ServiceId,
      NonNullable<ResolvedEnvironment["hosts"][ServiceId]>,
    ][]) {
      if (env.kind === "dev") continue; // localhost hosts are per machine
      const first = owners.get(entry.host);
      if (!first) {
        owners.set(entry.host, { env, service });
        continue;
      }
      const sameInstance =
        entry.scope === "cluster" && first.service === service && first.env.cluster.name === env.cluster.name;
      if (!sameInstance) {
        diagnostics.push(
          error(
            `host ${entry.host} (${service}) is also used by environment ${first.env.name} (${first.service})`,
            {
              path: entry.source,
              fix: `give environment ${env.name} its own domainPrefix or set environments.${env.name}.hosts.${service}`,
            },
          ),
        );
      }
    }
  }
  return diagnostics;
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
