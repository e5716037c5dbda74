import { isIP } from "node:net";
import type { ComponentId, ServiceId } from "../../config/ids.js";
import type { HostEntry, ResolvedEnvironment } from "../../model/types.js";
import type { DesiredResource } from "../types.js";

export const PROVIDER_NAME = "cloudflare";

/**
 * DNS records belong to the bootstrap step that brings the VPS up (L1 "DNS/certs"), so `plinth
 * bootstrap` points the names at the VPS before anything else is deployed.
 */
export const DNS_COMPONENT: ComponentId = "k3s";

/** Cloudflare's "automatic" TTL (300 s for DNS-only records; proxied records must use it). */
export const AUTO_TTL = 1;

export type RecordType = "A" | "AAAA" | "CNAME";

/** One DNS record plinth wants, in Cloudflare's terms, plus where it came from (for messages). */
export interface DnsRecordSpec {
  /** The Cloudflare zone the record lives in (one of the environment's `zones`). */
  zone: string;
  /** Fully qualified, lower case, no trailing dot. */
  name: string;
  type: RecordType;
  /** The VPS address (A/AAAA) or host name (CNAME), normalized. */
  content: string;
  proxied: boolean;
  ttl: number;
  service: ServiceId;
  /** `cluster` hosts (Vault, dashboard, k3s API) are shared by every environment of the cluster. */
  scope: HostEntry["scope"];
  cluster: string;
  /** Config path that produced the host, for diagnostics. */
  source: string;
  /** Set by plan: the ownership mark (record comment) apply writes. */
  comment?: string;
}

export function recordId(name: string, type: string): string {
  return `${PROVIDER_NAME}:record:${name}:${type}`;
}

/** `cloudflare:record:<name>:<type>` → name and type; undefined for any other identity. */
export function parseRecordId(id: string): { name: string; type: string } | undefined {
  const match = /^cloudflare:record:([^:]+):([A-Z]+)$/.exec(id);
  return match ? { name: match[1] as string, type: match[2] as string } : undefined;
}

export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, "");
}

/** The same address or name always compares equal: IPv6 in canonical form, names lower case. */
export function normalizeContent(type: string, content: string): string {
  if (type === "AAAA" && isIP(content) === 6) return new URL(`http://[${content}]/`).hostname.slice(1, -1);
  if (type === "CNAME") return normalizeName(content);
  return content.trim();
}

export function recordTypeFor(address: string): RecordType {
  const family = isIP(address);
  return family === 4 ? "A" : family === 6 ? "AAAA" : "CNAME";
}

/** The most specific of `zones` that `host` is in (the zone itself or below it). */
export function zoneOf(host: string, zones: readonly string[]): string | undefined {
  return zones
    .filter((zone) => host === zone || host.endsWith(`.${zone}`))
    .sort((a, b) => b.length - a.length)[0];
}

/**
 * The DNS records an environment's host table needs (pure): every host points at the cluster's VPS
 * (A for IPv4, AAAA for IPv6, CNAME for a host name), proxied per service (the k3s API and Vault
 * DNS-only, web UIs proxied). None for environments without public hosts (dev, ci) or on a
 * cluster without a VPS (an existing cluster's ingress is not plinth's to point at).
 */
export function dnsRecordsFor(env: ResolvedEnvironment): DesiredResource<DnsRecordSpec>[] {
  const address = env.cluster.vps?.host;
  if (!env.publicHosts || !address || env.zones.length === 0) return [];
  const type = recordTypeFor(address);
  const content = normalizeContent(type, address);
  const records: DesiredResource<DnsRecordSpec>[] = [];
  for (const [service, entry] of Object.entries(env.hosts) as [ServiceId, HostEntry][]) {
    const name = normalizeName(entry.host);
    const zone = zoneOf(name, env.zones);
    // validate refuses hosts outside the zones; a model that has one gets no record for it.
    if (!zone) continue;
    records.push({
      provider: PROVIDER_NAME,
      id: recordId(name, type),
      component: DNS_COMPONENT,
      spec: {
        zone,
        name,
        type,
        content,
        proxied: entry.proxied,
        ttl: AUTO_TTL,
        service,
        scope: entry.scope,
        cluster: env.cluster.name,
        source: entry.source,
      },
    });
  }
  return records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
