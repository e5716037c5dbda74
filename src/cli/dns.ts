import type { ResolvedEnvironment } from "../model/types.js";
import { type Change, finishPlan, type Plan } from "../plan/plan.js";
import { needsCloudflare } from "../providers/cloudflare/dns.js";
import type { DnsRecordSpec } from "../providers/cloudflare/records.js";
import type { ProviderContext, ResourceChange } from "../providers/types.js";
import type { CommandContext } from "./command.js";
import { version } from "./version.js";

/** DNS changes as plan lines: each record with what it points at and whether Cloudflare proxies it. */
export function formatDns(changes: readonly Change[]): string {
  const symbol = { create: "+", update: "~", "no-op": "=", adopt: "+", delete: "-" };
  const todo = changes.filter((c) => c.action !== "no-op");
  if (todo.length === 0) return `DNS: ${changes.length} records, up to date\n`;
  const line = (c: Change) => {
    const target = c.detail && c.action !== "delete" ? ` ${c.detail}` : "";
    const fields = c.action === "update" ? `  [${(c.diff ?? []).map((d) => d.path).join(", ")}]` : "";
    return `  ${symbol[c.action]} ${c.kind} ${c.name}${target}${c.action === "adopt" ? "  (adopt: identical, not yet owned)" : ""}${fields}`;
  };
  return `DNS\n${todo.map(line).join("\n")}\n`;
}

/**
 * The environment's DNS changes against Cloudflare, when it has records and a token is set
 * (`read` access is enough for a plan); touches nothing. Undefined when DNS is not managed.
 */
export async function planDnsChanges(
  env: ResolvedEnvironment,
  ctx: CommandContext,
  access: "read" | "write",
): Promise<{ changes: ResourceChange<DnsRecordSpec>[]; apply(): Promise<void> } | undefined> {
  if (!needsCloudflare(env)) return undefined;
  const token = ctx.env.CLOUDFLARE_API_TOKEN;
  if (!token) {
    ctx.stderr(
      `DNS skipped: CLOUDFLARE_API_TOKEN is not set (records for ${env.zones.join(", ")} not managed)\n`,
    );
    return undefined;
  }
  const { cloudflareDnsProvider } = await import("../providers/cloudflare/provider.js");
  const { applyDns, planDns } = await import("../providers/cloudflare/dns.js");
  // The SDK's own variable: a proxy in front of Cloudflare, or the API stand-in in plinth's tests.
  const baseURL = ctx.env.CLOUDFLARE_BASE_URL;
  const provider = cloudflareDnsProvider({ apiToken: token, ...(baseURL ? { baseURL } : {}) });
  const pctx: ProviderContext = { env: env.name, tooling: `plinth/${version()}` };
  const changes = await planDns(env, provider, pctx, { access });
  return {
    changes,
    apply: async () => {
      await applyDns(changes, provider, pctx);
    },
  };
}

/** A DNS change as a plan holds it: what the record points at, and whether Cloudflare proxies it. */
export function dnsChange(c: ResourceChange<DnsRecordSpec>): Change {
  return {
    action: c.action,
    provider: "cloudflare",
    id: c.id,
    kind: c.kind,
    name: c.name,
    ...(c.diff.length ? { diff: c.diff } : {}),
    ...(c.spec ? { detail: `→ ${c.spec.content} (${c.spec.proxied ? "proxied" : "DNS only"})` } : {}),
  };
}

/** The plan with its DNS changes (hashed with the rest, so a saved plan carries them). */
export function withDns(plan: Plan, changes: readonly ResourceChange<DnsRecordSpec>[]): Plan {
  const { summary: _summary, hash: _hash, ...rest } = plan;
  return finishPlan({ ...rest, dns: changes.map(dnsChange) });
}
