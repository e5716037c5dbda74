import type { ComponentId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { fromEnvironment } from "../secrets/environment.js";
import { templateSources } from "../secrets/generate.js";
import { byCodeUnit } from "../util/order.js";
import { clickhouseOperatorSecret } from "./components/clickhouse.js";
import { UNSEAL_KEY_SECRET } from "./components/vault.js";
import { CATALOG } from "./index.js";
import type { SecretSpec } from "./types.js";

/** Where plinth keeps things in one Vault; defaults fit a fresh Vault or OpenBao. */
export interface VaultLayout {
  /** KV v2 mount: secrets live at `<mount>/<env>/<component>/<secret>`. */
  mount: string;
  /** Kubernetes auth mount path. */
  authPath: string;
  /** Audit device path. */
  auditPath: string;
  /**
   * Where the file audit device writes: `stdout` on k3s, so the kubelet rotates it with the pod's
   * log and the log collector ships it (a file would need its own volume and rotation).
   */
  auditFile: string;
  /** Database secrets engines are mounted per environment at `<database>/<env>`. */
  database: string;
}

export const DEFAULT_LAYOUT: Readonly<VaultLayout> = Object.freeze({
  mount: "secret",
  authPath: "kubernetes",
  auditPath: "plinth",
  auditFile: "stdout",
  database: "database",
});

/** One database secrets engine per environment: environments never share a connection or a role. */
export function databaseMount(layout: VaultLayout, env: string): string {
  return `${layout.database}/${env}`;
}

export { MANAGED_BY } from "./vault-hcl.js";

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

/**
 * The ServiceAccount that logs in as a component's role (the Vault Secrets Operator uses it, in the
 * namespace of each Secret it delivers). Named after the role, not the component: operators make
 * ServiceAccounts named after their resources (CloudNativePG's `postgres`), and a namespace such as
 * kube-system is shared by every environment of the cluster.
 */
export function serviceAccountName(env: string, component: string): string {
  return roleName(env, component);
}

/**
 * Namespaces a component's role accepts logins from: its own, and each namespace one of its
 * secrets is delivered to (SigNoz's values Secret sits beside its HelmChart in kube-system).
 */
export function loginNamespaces(
  env: ResolvedEnvironment,
  component: ComponentId,
  entries: SecretEntry[],
): string[] {
  const own = entries.filter((e) => e.component === component);
  return [
    ...new Set([own[0]?.namespace ?? CATALOG[component].namespace(env), ...own.map((e) => e.spec.namespace)]),
  ].sort();
}

export function ownedPrefix(env: string): string {
  return `plinth-${env}-`;
}

/**
 * Secrets one per cluster that environment-scoped components render: every environment of the
 * cluster renders the same spec, so plinth writes them as plain Secrets (the first environment
 * creates one, the others find it complete and leave it). Through Vault each environment would
 * deliver its own value into the one Secret, two writers taking turns.
 */
const CLUSTER_SECRETS: ReadonlySet<string> = new Set(
  [clickhouseOperatorSecret()].map((s) => `${s.namespace}/${s.name}`),
);

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
    // A copy of an operator's credential (CLOUDFLARE_API_TOKEN) goes straight to its consumer, not to Vault.
    // The key that unseals Vault never goes into the Vault it unseals.
    const own = (s: SecretSpec) =>
      (id === "vault" && s.name === UNSEAL_KEY_SECRET) || CLUSTER_SECRETS.has(`${s.namespace}/${s.name}`);
    for (const spec of component.secrets(env).filter((s) => !fromEnvironment(s) && !own(s))) {
      out.push({
        component: id,
        namespace: component.namespace(env),
        spec,
        path: `${env.name}/${id}/${spec.name}`,
      });
    }
  }
  return dependencyOrder(out.sort((a, b) => byCodeUnit(a.path, b.path)));
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

/**
 * Whether Vault delivers this secret into the cluster (the Vault Secrets Operator writes the
 * Kubernetes Secret) instead of plinth writing it. Phase 0 runs before Vault and the operator are
 * up, so its secrets (the platform PostgreSQL's, Vault's own storage URL) stay plinth's.
 */
export function deliveredByVault(env: ResolvedEnvironment, entry: SecretEntry): boolean {
  return usesVault(env) && CATALOG[entry.component].phase !== "0";
}

/** Whether Vault holds this environment's secrets (staging and prod by default). */
export function usesVault(env: ResolvedEnvironment): boolean {
  return env.components.vault?.enabled === true;
}
