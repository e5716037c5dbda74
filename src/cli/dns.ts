import type { ResolvedEnvironment } from "../model/types.js";
import { type DnsStep, planDnsStep } from "../plan/dns.js";
import type { Change } from "../plan/plan.js";
import { needsCloudflare } from "../providers/cloudflare/dns.js";
import { version } from "../util/version.js";
import type { CommandContext } from "./command.js";
import { symbolOf } from "./output.js";

/** DNS changes as plan lines: each record with what it points at and whether Cloudflare proxies it. */
export function formatDns(changes: readonly Change[]): string {
  const todo = changes.filter((c) => c.action !== "no-op");
  if (todo.length === 0) return `DNS: ${changes.length} records, up to date\n`;
  const line = (c: Change) => {
    const target = c.detail && c.action !== "delete" ? ` ${c.detail}` : "";
    const fields = c.action === "update" ? `  [${(c.diff ?? []).map((d) => d.path).join(", ")}]` : "";
    return `  ${symbolOf(c.action)} ${c.kind} ${c.name}${target}${c.action === "adopt" ? "  (adopt: identical, not yet owned)" : ""}${fields}`;
  };
  return `DNS\n${todo.map(line).join("\n")}\n`;
}

/**
 * The environment's DNS step with the token from the operator's environment, when it has records
 * and `CLOUDFLARE_API_TOKEN` is set; undefined (said on stderr) when DNS is not managed.
 */
export async function planDnsChanges(
  env: ResolvedEnvironment,
  ctx: CommandContext,
  access: "read" | "write",
): Promise<DnsStep | undefined> {
  if (!needsCloudflare(env)) return undefined;
  const token = ctx.env.CLOUDFLARE_API_TOKEN;
  if (!token) {
    ctx.stderr(
      `DNS skipped: CLOUDFLARE_API_TOKEN is not set (records for ${env.zones.join(", ")} not managed)\n`,
    );
    return undefined;
  }
  const { cloudflareDnsProvider } = await import("../providers/cloudflare/provider.js");
  // The SDK's own variable: a proxy in front of Cloudflare, or the API stand-in in plinth's tests.
  const baseURL = ctx.env.CLOUDFLARE_BASE_URL;
  const provider = cloudflareDnsProvider({ apiToken: token, ...(baseURL ? { baseURL } : {}) });
  return planDnsStep(env, provider, { env: env.name, tooling: `plinth/${version()}` }, access);
}
