import { composePlan } from "../plan/compose.js";
import type { Plan } from "../plan/plan.js";
import type { CommandContext, ParsedArgs } from "./command.js";
import { planDnsChanges } from "./dns.js";
import { openSession } from "./session.js";
import { sessionVaultAccess } from "./vault-access.js";

/**
 * `plinth plan <env>` against the live cluster, Vault and DNS. Its own module, loaded on demand:
 * the offline commands (bin/plinth runs them as one script with a code cache) never hold the
 * Kubernetes client, Vault or the DNS provider.
 */
export async function livePlan(args: ParsedArgs, ctx: CommandContext, env: string): Promise<Plan> {
  const session = await openSession(args, ctx, env);
  const vault = sessionVaultAccess(session, args, ctx);
  // DNS is planned beside the cluster (read access is enough) and saved with it.
  const dns = planDnsChanges(session.env, ctx, "read");
  return composePlan(session, { ...(vault ? { vault } : {}), dns });
}
