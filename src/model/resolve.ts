import { ENVIRONMENT_KINDS, type EnvironmentKind, type ServiceId } from "../config/ids.js";
import type { Config, EnvironmentSettings } from "../config/schema.js";
import { type Diagnostic, error, UserError } from "../diagnostics/diagnostic.js";
import { resolveBackups, resolveClone } from "./backups.js";
import { resolveComponents } from "./components.js";
import { resolveDomains } from "./domains.js";
import { KIND_RANK, PRESETS } from "./presets.js";
import { parseQuantity } from "./quantity.js";
import { resolveSso, ssoHostProblems } from "./sso.js";
import type { HostEntry, Namespaces, ResolvedCluster, ResolvedEnvironment } from "./types.js";

export interface Resolution {
  environment?: ResolvedEnvironment;
  diagnostics: Diagnostic[];
}

/**
 * Resolves one environment: defaults merged with its overrides, its preset applied, hosts,
 * namespaces, components and placement computed. Pure and deterministic; throws a UserError
 * carrying every problem found.
 */
export function resolve(config: Config, env: string): ResolvedEnvironment {
  const { environment, diagnostics } = resolveEnvironment(config, env);
  if (!environment || diagnostics.some((d) => d.severity === "error")) throw new UserError(diagnostics);
  return environment;
}

export function environmentKind(config: Config, env: string): EnvironmentKind | undefined {
  const declared = config.environments[env]?.kind;
  if (declared) return declared;
  return (ENVIRONMENT_KINDS as readonly string[]).includes(env) ? (env as EnvironmentKind) : undefined;
}

export function assertEnvironment(config: Config, env: string): void {
  if (!(env in config.environments)) {
    const known = Object.keys(config.environments).join(", ");
    throw new UserError(
      error(`unknown environment "${env}"`, {
        path: "environments",
        fix: known
          ? `use one of: ${known}; or add environments.${env} to the config`
          : `add environments.${env} to the config`,
      }),
    );
  }
}

/**
 * `peers: false` resolves the environment alone: its cluster's other environments are resolved
 * that way to attach them as its peers (never their peers in turn).
 */
export function resolveEnvironment(config: Config, env: string, o: { peers?: boolean } = {}): Resolution {
  assertEnvironment(config, env);
  const raw = config.environments[env];
  const path = `environments.${env}`;
  const diagnostics: Diagnostic[] = [];
  const kind = environmentKind(config, env);
  if (!kind || !raw) {
    return {
      diagnostics: [
        error(`has no kind`, {
          path: `${path}.kind`,
          fix: `set kind to one of ${ENVIRONMENT_KINDS.join(", ")} (the preset it follows)`,
        }),
      ],
    };
  }
  const preset = PRESETS[kind];
  const settings = mergeSettings(config.defaults ?? {}, raw);

  const clusterName = settings.cluster;
  const clusterConfig = clusterName ? config.clusters[clusterName] : undefined;
  if (!clusterName || !clusterConfig) {
    const known = Object.keys(config.clusters).sort().join(", ") || "(none defined)";
    diagnostics.push(
      error(clusterName ? `cluster "${clusterName}" does not exist` : "has no cluster", {
        path: `${path}.cluster`,
        fix: `use one of: ${known}; or define clusters.${clusterName ?? env}`,
      }),
    );
    return { diagnostics };
  }
  const cluster = resolveCluster(config, clusterName);
  diagnostics.push(...checkCluster(cluster, clusterConfig));

  const { components, diagnostics: componentDiagnostics } = resolveComponents({
    env,
    settings,
    preset,
    cluster,
    clusters: config.clusters,
    clustersInUse: clustersInUse(config),
    written: raw.components,
  });
  diagnostics.push(...componentDiagnostics);

  // A preset environment (named as its kind) keeps its preset's prefix; any other name is its own
  // prefix, so `qa` (kind test) beside `test` gets `qa.BASE`, not test's `x-test.BASE`.
  const domainPrefix = settings.domainPrefix ?? (env === kind ? preset.domainPrefix : undefined) ?? env;
  const domains = resolveDomains({
    env,
    kind,
    hosting: preset.hosting,
    cluster,
    baseDomain: settings.baseDomain,
    internalDomain: settings.internalDomain,
    domainPrefix,
    overrides: settings.hosts ?? {},
    components,
  });
  diagnostics.push(...domains.diagnostics);
  const vaultEngine = settings.vault?.engine ?? "vault";
  const vaultUnseal = settings.vault?.unseal ?? "shamir";
  if (vaultUnseal === "static" && vaultEngine !== "openbao") {
    diagnostics.push(
      error("static-key auto-unseal is an OpenBao feature; Vault has no static seal", {
        path: `${path}.vault.unseal`,
        fix: `set ${path}.vault.engine to "openbao", or remove vault.unseal to keep Shamir keys`,
      }),
    );
  }

  const backups = resolveBackups(env, settings.backups);
  diagnostics.push(...backups.diagnostics);
  if (backups.backups && !components["cert-manager"].enabled) {
    // The Barman Cloud plugin talks to CloudNativePG over mTLS with certificates cert-manager issues.
    diagnostics.push(
      error("need cert-manager (the Barman Cloud plugin gets its certificates from it), which is off", {
        path: `${path}.backups`,
        fix: `set ${path}.backups.enabled to false, or turn components.cert-manager on`,
      }),
    );
  }
  if (backups.backups && !components["cnpg-operator"].extraDependsOn.includes("cert-manager")) {
    // The plugin is installed with the operator (catalog/backups.ts), and its Certificates need cert-manager.
    components["cnpg-operator"].extraDependsOn.push("cert-manager");
  }
  const sso = components.sso.enabled
    ? resolveSso(env, settings.sso, components.vault.enabled)
    : { diagnostics: [] };
  diagnostics.push(...sso.diagnostics);
  if (components.sso.enabled && preset.hosting === "public")
    diagnostics.push(...ssoHostProblems(env, domains.hosts, settings.internalDomain));
  if (components.sso.enabled && preset.hosting !== "public") {
    diagnostics.push(
      error("needs public hosts: the login and its cookies live on the internal domain", {
        path: `${path}.components.sso.enabled`,
        fix: "remove it: a dev or ci environment has no public internal UIs to protect",
      }),
    );
  }

  const environment: ResolvedEnvironment = {
    project: config.project,
    name: env,
    kind,
    cluster,
    ...(preset.hosting === "public"
      ? { baseDomain: settings.baseDomain, internalDomain: settings.internalDomain, domainPrefix }
      : {}),
    zones: domains.zones,
    hosts: domains.hosts,
    publicHosts: preset.hosting === "public",
    namespaces: namespacesFor(env, cluster),
    components,
    storage: { ...preset.storage, ...stripUndefined(settings.storage ?? {}) },
    vaultEngine,
    vaultUnseal,
    ...(settings.acmeEmail ? { acmeEmail: settings.acmeEmail } : {}),
    ...((settings.ownerEmail ?? settings.acmeEmail)
      ? { ownerEmail: settings.ownerEmail ?? settings.acmeEmail }
      : {}),
    ...(sso.sso ? { sso: sso.sso } : {}),
    ...(backups.backups ? { backups: backups.backups } : {}),
    ...(settings.backups?.clone ? { clone: resolveClone(settings.backups.clone) } : {}),
    componentResources: Object.fromEntries(
      Object.entries(settings.components ?? {})
        .filter(([, c]) => c?.resources)
        .map(([id, c]) => [id, c?.resources ?? {}]),
    ),
  };
  // What the catalog renders one object for the whole cluster from (catalog/cluster.ts).
  if (o.peers !== false) {
    environment.peers = peersOf(config, env, cluster);
    // A service the whole cluster shares (Vault, the dashboard, the k3s API) has one host, the
    // primary environment's: another environment with other zones would name one nothing serves.
    const primary = environment.peers.find((p) => p.name === cluster.primaryEnvironment);
    for (const [id, entry] of Object.entries(environment.hosts) as [ServiceId, HostEntry][]) {
      const shared = primary?.hosts[id];
      if (entry.scope === "cluster" && shared) environment.hosts[id] = shared;
    }
  }
  return { environment: deepFreeze(environment), diagnostics };
}

/** The config's other environments on the cluster, resolved alone (in name order). */
function peersOf(config: Config, env: string, cluster: ResolvedCluster): ResolvedEnvironment[] {
  return cluster.environments
    .filter((name) => name !== env)
    .flatMap((name) => resolveEnvironment(config, name, { peers: false }).environment ?? []);
}

/** Per-environment namespaces carry the environment's name only where environments share a cluster. */
export function namespacesFor(env: string, cluster: ResolvedCluster): Namespaces {
  const suffix = cluster.environments.length > 1 ? `-${env}` : "";
  return {
    platform: "platform",
    data: `data${suffix}`,
    kubero: `kubero${suffix}`,
    apps: `apps${suffix}`,
    observability: `observability${suffix}`,
  };
}

export function resolveCluster(config: Config, name: string): ResolvedCluster {
  const c = config.clusters[name];
  if (!c) throw new Error(`resolveCluster: unknown cluster ${name}`);
  const environments = Object.keys(config.environments)
    .filter((e) => mergeSettings(config.defaults ?? {}, config.environments[e] ?? {}).cluster === name)
    .sort();
  // Of one kind, the preset-named environment (`test`) names the cluster's hosts before a custom
  // one (`qa`), so adding `qa` beside `test` renames none of test's hosts.
  const ranked = [...environments].sort(
    (a, b) =>
      rank(config, a) - rank(config, b) ||
      Number(environmentKind(config, b) === b) - Number(environmentKind(config, a) === a) ||
      a.localeCompare(b),
  );
  const declared = c.vps ? { memory: c.vps.memory, cores: c.vps.cores } : c.capacity;
  return {
    name,
    type: c.type,
    ...(c.vps ? { vps: c.vps } : {}),
    ...(c.k3s ? { k3s: c.k3s } : {}),
    kubeconfig: c.kubeconfig ?? `.plinth/kubeconfig/${name}.yaml`,
    ...(c.context ? { context: c.context } : {}),
    storagePath: c.storagePath ?? "/var/lib/plinth/volumes",
    ...(declared ? { capacity: { memory: parseQuantity(declared.memory), cores: declared.cores } } : {}),
    environments,
    primaryEnvironment: ranked[0] ?? name,
    hostsProd: environments.some((e) => environmentKind(config, e) === "prod"),
  };
}

/** The clusters some environment runs on: only those get bootstrapped and their prerequisites. */
function clustersInUse(config: Config): ReadonlySet<string> {
  const names = Object.keys(config.environments).map(
    (e) => mergeSettings(config.defaults ?? {}, config.environments[e] ?? {}).cluster,
  );
  return new Set(names.filter((n): n is string => n !== undefined));
}

function rank(config: Config, env: string): number {
  const kind = environmentKind(config, env);
  return kind ? KIND_RANK[kind] : 99;
}

function checkCluster(cluster: ResolvedCluster, raw: Config["clusters"][string]): Diagnostic[] {
  const path = `clusters.${cluster.name}`;
  const out: Diagnostic[] = [];
  if (raw.type === "k3s-vps") {
    if (!raw.vps)
      out.push(
        error("is required for a k3s-vps cluster", {
          path: `${path}.vps`,
          fix: "add host, user, sshPort, sshKey, memory and cores",
        }),
      );
    if (!raw.k3s)
      out.push(
        error("is required for a k3s-vps cluster", {
          path: `${path}.k3s`,
          fix: 'add { channel: "stable", version: "v1.33.5+k3s1" }',
        }),
      );
  }
  return out;
}

/** Defaults and an environment's overrides: nested objects merge, everything else is replaced. */
export function mergeSettings(defaults: EnvironmentSettings, env: EnvironmentSettings): EnvironmentSettings {
  return mergeObjects(defaults, env) as EnvironmentSettings;
}

function mergeObjects(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? mergeObjects(prev, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
