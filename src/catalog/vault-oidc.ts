/**
 * The platform's Vault/OpenBao as the SSO gate's OpenID Connect issuer (`sso: { provider:
 * "vault" }`, README "SSO"): the names plinth gives its pieces in Vault, shared by the Vault
 * convergence (which makes them) and the sso component (which points OAuth2-Proxy at them).
 */
import { MANAGED_BY } from "./vault-hcl.js";

/** One provider, client, assignment and key per environment: `plinth-<env>-sso` (plinth's prefix). */
export function oidcName(env: string): string {
  return `plinth-${env}-sso`;
}

/** Where Vault serves the provider below its address: the issuer is `https://<vault host>` + this. */
export function oidcIssuerPath(env: string): string {
  return `/v1/identity/oidc/provider/${oidcName(env)}`;
}

/** The client Vault registers for the gate: its generated `client_id` and `client_secret` live here. */
export function oidcClientPath(env: string): string {
  return `identity/oidc/client/${oidcName(env)}`;
}

/** Where people sign in to Vault with a name and password, and so to the gate. */
export const USERPASS_PATH = "userpass";

/**
 * The scopes OAuth2-Proxy asks for and the claims each adds to the ID token. Scope names are
 * global in Vault, so every environment of a cluster shares these three. `email` comes from the
 * entity's metadata (set when the user is added), `groups` are its identity groups' names.
 */
export const OIDC_SCOPES: Readonly<Record<string, string>> = Object.freeze({
  email: '{"email": {{identity.entity.metadata.email}}}',
  profile: '{"preferred_username": {{identity.entity.name}}}',
  groups: '{"groups": {{identity.entity.groups.names}}}',
});

export const OIDC_DESCRIPTION = `${MANAGED_BY}: the SSO gate's OpenID Connect provider`;
