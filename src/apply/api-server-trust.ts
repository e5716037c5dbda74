/**
 * `sso: { provider: "vault" }`: the API server trusting Vault's issuer for the client id Vault
 * issued, written by the Vault step (the id exists only once Vault has made the client, after
 * k3s's bootstrap, which leaves the file with no authenticator; README "SSO").
 */
import { apiServerTrust, authenticationFile } from "../catalog/api-server-auth.js";
import { oidcName } from "../catalog/vault-oidc.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { VaultClient } from "../providers/vault/client.js";

/**
 * Replaces the API server's AuthenticationConfiguration on the cluster's host when its content
 * differs; says whether it wrote. The CLI gives it (over SSH, for k3s-vps clusters).
 */
export type ApiServerTrustWriter = (content: string) => Promise<boolean>;

/**
 * The file's content once Vault has issued the gate's client: issuer as Vault's provider reports
 * it (what its tokens carry as `iss`), audience the issued client id. Undefined where this
 * environment's Vault step has nothing to write: not the gate that guards the dashboard, not
 * `provider: "vault"`, or no client yet (a `--no-wait` or failed run).
 */
export async function issuedAuthentication(
  env: ResolvedEnvironment,
  client: VaultClient,
): Promise<string | undefined> {
  const wanted = apiServerTrust(env);
  if (wanted?.issuedFor !== env.name) return undefined;
  const name = oidcName(env.name);
  const issued = await client.read<{ data: { client_id?: string } }>(`identity/oidc/client/${name}`);
  const provider = await client.read<{ data: { issuer?: string } }>(`identity/oidc/provider/${name}`);
  const clientId = issued?.data.client_id;
  if (!clientId) return undefined;
  const trust = apiServerTrust(env, clientId);
  if (!trust?.audience) return undefined;
  return authenticationFile(env.cluster.name, {
    issuer: provider?.data.issuer ?? trust.issuer,
    audience: trust.audience,
  });
}
