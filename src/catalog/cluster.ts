import type { ComponentId, ServiceId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";

/**
 * Objects one per cluster (cert-manager's issuer and wildcard certificate, Traefik's config, the
 * ClickHouse operator, the cluster services' charts) are rendered by every environment of the
 * cluster. Each renders them from all the config's environments on that cluster, never from its
 * own settings alone: every environment then sends the same object, so the order of applies does
 * not matter and each one's plan settles at zero changes after the others apply.
 */
export function clusterEnvironments(env: ResolvedEnvironment): readonly ResolvedEnvironment[] {
  return [env, ...(env.peers ?? [])].sort((a, b) => a.name.localeCompare(b.name));
}

/** Whether the component runs on this cluster for this environment (not off, not placed elsewhere). */
export function runsHere(env: ResolvedEnvironment, component: ComponentId): boolean {
  const c = env.components[component];
  return c?.enabled === true && c.placement.kind === "local";
}

/** Every Cloudflare zone of the cluster's environments: one certificate and one issuer cover them all. */
export function clusterZones(env: ResolvedEnvironment): string[] {
  return [...new Set(clusterEnvironments(env).flatMap((e) => e.zones))].sort();
}

/** Whether any environment of the cluster serves public hosts (Traefik then serves the wildcard certificate). */
export function clusterHasPublicHosts(env: ResolvedEnvironment): boolean {
  return clusterEnvironments(env).some((e) => e.publicHosts);
}

/**
 * The ACME account's email: the one the cluster's environments set. Environments that set two
 * different ones render two issuers, which `plinth validate` refuses, naming both.
 */
export function clusterAcmeEmail(env: ResolvedEnvironment): string | undefined {
  const emails = [...new Set(clusterEnvironments(env).flatMap((e) => (e.acmeEmail ? [e.acmeEmail] : [])))];
  return emails.length === 1 ? emails[0] : env.acmeEmail;
}

/**
 * The host of a service the whole cluster shares (Vault, the dashboard): the cluster's primary
 * environment's, the one that names it (`dashboard-staging.`), else the first environment that has
 * one. Environments with other zones would otherwise each point the one chart at their own host.
 */
export function clusterHost(env: ResolvedEnvironment, service: ServiceId): string | undefined {
  const primary = env.cluster.primaryEnvironment;
  const ordered = [...clusterEnvironments(env)].sort(
    (a, b) => Number(b.name === primary) - Number(a.name === primary),
  );
  return ordered.find((e) => e.hosts[service])?.hosts[service]?.host;
}
