import type { ResolvedEnvironment } from "../../model/types.js";
import type { ProviderContext, ResourceChange } from "../types.js";
import type { Access, CloudflareDnsProvider } from "./provider.js";
import { type DnsRecordSpec, dnsRecordsFor } from "./records.js";

/** Whether the environment has DNS for plinth to manage (so the CLI knows to ask for a token). */
export function needsCloudflare(env: ResolvedEnvironment): boolean {
  return env.publicHosts && env.zones.length > 0 && !!env.cluster.vps?.host;
}

/**
 * The environment's DNS changes: its records against what is live in its zones, ownership by
 * record comment. Validates every zone and the token's access first; a conflict with a record
 * plinth did not create is a UserError naming it. Touches nothing.
 */
export async function planDns(
  env: ResolvedEnvironment,
  provider: CloudflareDnsProvider,
  ctx: ProviderContext,
  options: { access?: Access } = {},
): Promise<ResourceChange<DnsRecordSpec>[]> {
  if (!needsCloudflare(env)) return [];
  const desired = dnsRecordsFor(env);
  const zoneSources: Record<string, string> = {};
  if (env.internalDomain) zoneSources[env.internalDomain] = `environments.${env.name}.internalDomain`;
  if (env.baseDomain) zoneSources[env.baseDomain] = `environments.${env.name}.baseDomain`;
  return provider.plan(desired, ctx, {
    zones: env.zones,
    zoneSources,
    project: env.project,
    cluster: env.cluster.name,
    pruneCluster: env.cluster.primaryEnvironment === env.name,
    access: options.access ?? "write",
  });
}

/**
 * Carries out planned DNS changes. Every zone and the token's edit permission are checked before
 * the first write; then deletes a new record needs out of its way, creates/updates/adopts, and
 * last the remaining deletes (a new name works before an old one goes). Stops at the first failure;
 * running the same plan again finishes it (every change is idempotent).
 */
export async function applyDns(
  changes: readonly ResourceChange<DnsRecordSpec>[],
  provider: CloudflareDnsProvider,
  ctx: ProviderContext,
  options: { onApplied?: (change: ResourceChange<DnsRecordSpec>) => void } = {},
): Promise<ResourceChange<DnsRecordSpec>[]> {
  const todo = changes.filter((c) => c.action !== "no-op");
  if (todo.length === 0) return [];
  const zones = [...new Set(todo.map((c) => c.spec?.zone ?? c.namespace ?? ""))].filter(Boolean).sort();
  await provider.preflight(zones, "write");
  const written = new Set(todo.filter((c) => c.action !== "delete").map((c) => c.name));
  const first = todo.filter((c) => c.action === "delete" && written.has(c.name));
  const last = todo.filter((c) => c.action === "delete" && !written.has(c.name));
  const middle = todo.filter((c) => c.action !== "delete");
  const done: ResourceChange<DnsRecordSpec>[] = [];
  for (const change of [...first, ...middle, ...last]) {
    ctx.signal?.throwIfAborted();
    await provider.apply(change, ctx);
    done.push(change);
    options.onApplied?.(change);
  }
  return done;
}
