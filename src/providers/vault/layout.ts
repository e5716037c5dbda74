import { CATALOG } from "../../catalog/index.js";
import type { SecretSpec } from "../../catalog/types.js";
import type { ComponentId } from "../../model/ids.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { templateSources } from "../../secrets/generate.js";

/** Where plinth keeps things in one Vault; defaults fit a fresh Vault or OpenBao. */
export interface VaultLayout {
  /** KV v2 mount: secrets live at `<mount>/<env>/<component>/<secret>`. */
  mount: string;
  /** Kubernetes auth mount path. */
  authPath: string;
  /** Audit device path. */
  auditPath: string;
  /** Where the file audit device writes (inside the Vault pod). */
  auditFile: string;
}

export const DEFAULT_LAYOUT: Readonly<VaultLayout> = Object.freeze({
  mount: "secret",
  authPath: "kubernetes",
  auditPath: "plinth",
  auditFile: "/vault/audit/audit.log",
});

/** The ownership mark plinth writes into descriptions, policies and KV custom metadata. */
export const MANAGED_BY = "managed-by=plinth";

/** One secret of one component of one environment, and its KV path (relative to the mount). */
export interface SecretEntry {
  component: ComponentId;
  /** The component's own namespace: its service account logs in from there. */
  namespace: string;
  spec: SecretSpec;
  path: string;
}

/** `plinth-<env>-<component>`: policies and kubernetes auth roles; the prefix marks ownership. */
export function roleName(env: string, component: string): string {
  return `plinth-${env}-${component}`;
}

export function ownedPrefix(env: string): string {
  return `plinth-${env}-`;
}

/**
 * Every secret the environment's enabled, in-cluster components need, at
 * `<env>/<component>/<secret>`. A cluster-scoped component (the platform PostgreSQL, Vault's own
 * storage) is one instance per cluster: its secrets are written by the cluster's primary
 * environment only, so two environments sharing a cluster never hold two passwords for one database.
 */
export function secretEntries(env: ResolvedEnvironment): SecretEntry[] {
  const out: SecretEntry[] = [];
  for (const [id, component] of Object.entries(CATALOG) as [ComponentId, (typeof CATALOG)[ComponentId]][]) {
    const resolved = env.components[id];
    if (!resolved?.enabled || resolved.placement.kind === "external") continue;
    if (component.scope === "cluster" && env.cluster.primaryEnvironment !== env.name) continue;
    for (const spec of component.secrets(env)) {
      out.push({
        component: id,
        namespace: component.namespace(env),
        spec,
        path: `${env.name}/${id}/${spec.name}`,
      });
    }
  }
  return dependencyOrder(out.sort((a, b) => a.path.localeCompare(b.path)));
}

/** Secrets whose templates read other secrets come after those (stable, by path otherwise). */
function dependencyOrder(entries: SecretEntry[]): SecretEntry[] {
  const names = new Set(entries.map((e) => e.spec.name));
  const needs = (e: SecretEntry) =>
    Object.values(e.spec.keys)
      .flatMap((k) => (k.template ? templateSources(k.template).map((s) => s.secret) : []))
      .filter((n) => n !== e.spec.name && names.has(n));
  const done = new Set<string>();
  const out: SecretEntry[] = [];
  let rest = entries;
  while (rest.length) {
    const ready = rest.filter((e) => needs(e).every((n) => done.has(n)));
    // A cycle cannot be filled at all; fillSecret names the missing value when it is reached.
    const next = ready.length ? ready : rest;
    for (const e of next) {
      out.push(e);
      done.add(e.spec.name);
    }
    rest = rest.filter((e) => !next.includes(e));
  }
  return out;
}

/** Whether Vault holds this environment's secrets (staging and prod by default). */
export function usesVault(env: ResolvedEnvironment): boolean {
  return env.components.vault?.enabled === true;
}
