import type { ResolvedEnvironment } from "../model/types.js";
import type { CloudflareDnsProvider } from "../providers/cloudflare/provider.js";
import type { DnsRecordSpec } from "../providers/cloudflare/records.js";
import type { ProviderContext, ResourceChange } from "../providers/types.js";
import { planChange } from "./change.js";
import { type Change, finishPlan, type Plan } from "./plan.js";

/** The environment's DNS changes, planned, and how to carry them out. */
export interface DnsStep {
  changes: ResourceChange<DnsRecordSpec>[];
  apply(): Promise<void>;
}

/**
 * The environment's records against what its zones hold (`read` access is enough to plan);
 * touches nothing until `apply()`. The caller makes the provider, with its credential.
 */
export async function planDnsStep(
  env: ResolvedEnvironment,
  provider: CloudflareDnsProvider,
  pctx: ProviderContext,
  access: "read" | "write",
): Promise<DnsStep> {
  // Loaded on use: the Cloudflare SDK stays out of runs that manage no DNS (cold start).
  const { applyDns, planDns } = await import("../providers/cloudflare/dns.js");
  const changes = await planDns(env, provider, pctx, { access });
  return {
    changes,
    apply: async () => {
      await applyDns(changes, provider, pctx);
    },
  };
}

/**
 * A DNS change as a plan holds it: what the record points at, and whether Cloudflare proxies it.
 * No spec or version: apply plans the records again and compares (see changesMoved).
 */
export function dnsChange(c: ResourceChange<DnsRecordSpec>): Change {
  const {
    spec: _spec,
    liveVersion: _version,
    ...change
  } = planChange(
    c,
    c.spec ? { detail: `→ ${c.spec.content} (${c.spec.proxied ? "proxied" : "DNS only"})` } : {},
  );
  return change;
}

/** The plan with its DNS changes (hashed with the rest, so a saved plan carries them). */
export function withDns(plan: Plan, changes: readonly ResourceChange<DnsRecordSpec>[]): Plan {
  const { summary: _summary, hash: _hash, ...rest } = plan;
  return finishPlan({ ...rest, outside: { ...rest.outside, dns: changes.map(dnsChange) } });
}
