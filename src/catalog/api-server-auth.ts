/**
 * The Kubernetes API server trusting the SSO gate's issuer, so the dashboard (Headlamp) signs in
 * with the ID token the gate hands it instead of a hand-copied ServiceAccount token. Upstream's
 * pattern for Headlamp behind OAuth2-Proxy (Headlamp v0.39.0, docs/installation/in-cluster/
 * aks-cluster-oauth): the proxy passes `Authorization: Bearer <token>`, Headlamp's backend calls
 * the API server with it, and the API server verifies it against the issuer.
 */
import type { ResolvedEnvironment } from "../model/types.js";
import { toYaml } from "../util/yaml.js";
import { clusterHost } from "./cluster.js";
import { gateOwner } from "./gate.js";
import { labels } from "./objects.js";
import type { KubeObject } from "./types.js";
import { oidcIssuerPath } from "./vault-oidc.js";

/** Users and groups from the login's tokens, kept apart from Kubernetes' own (`system:`…). */
export const OIDC_PREFIX = "oidc:";

/** Where plinth's k3s bootstrap writes the file (`--kube-apiserver-arg=authentication-config=…`). */
export const AUTHENTICATION_CONFIG_PATH = "/etc/rancher/k3s/plinth-authentication.yaml";

/** The built-in ClusterRole the allowed groups get in the dashboard: read everything but Secrets. */
export const DASHBOARD_ROLE = "view";

/** One issuer the API server trusts, for one audience (the gate's client id). */
export interface ApiServerTrust {
  issuer: string;
  /**
   * The gate's client id; absent for `provider: "vault"` until Vault has issued it (the Vault step
   * at apply writes the authenticator then, README "SSO").
   */
  audience?: string;
  /** `provider: "vault"`: the environment whose Vault client's id is the audience. */
  issuedFor?: string;
}

/**
 * The API server's AuthenticationConfiguration (`apiserver.config.k8s.io/v1beta1`, served by
 * Kubernetes 1.30 and later; reloaded by the API server when the file changes) trusting one
 * issuer for one audience (the gate's client id): the user is the token's `email`, its groups the
 * `groups` claim, both prefixed `oidc:`. With no audience yet, no authenticator: the API server
 * starts with an empty `jwt` list (checked against a real kube-apiserver, test/sso/vault-provider.test.ts)
 * and picks the authenticator up when it is written.
 */
export function authenticationConfiguration(issuer?: string, audience?: string): Record<string, unknown> {
  return {
    apiVersion: "apiserver.config.k8s.io/v1beta1",
    kind: "AuthenticationConfiguration",
    jwt:
      issuer && audience
        ? [
            {
              issuer: { url: issuer, audiences: [audience] },
              claimMappings: {
                username: { claim: "email", prefix: OIDC_PREFIX },
                groups: { claim: "groups", prefix: OIDC_PREFIX },
              },
            },
          ]
        : [],
  };
}

/** The file's whole text, as k3s's bootstrap and the Vault step write it (compared byte for byte). */
export function authenticationFile(
  cluster: string,
  trust?: Pick<ApiServerTrust, "issuer" | "audience">,
): string {
  const body = toYaml(authenticationConfiguration(trust?.issuer, trust?.audience));
  return `# Written by plinth for cluster ${cluster}: change plinth.config.ts, not this file.\n${body}`;
}

/**
 * The issuer and audience the cluster's API server trusts: the gate of the cluster's primary
 * environment (whose login guards the dashboard), when it is an OIDC issuer. `oidc`: the client id
 * from config. `vault`: Vault's provider URL, and the client id Vault issued once the Vault step
 * has read it (`issuedClientId`); without it no audience yet.
 */
export function apiServerTrust(
  env: ResolvedEnvironment,
  issuedClientId?: string,
): ApiServerTrust | undefined {
  const owner = gateOwner(env, "cluster");
  const sso = owner.components.sso.enabled ? owner.sso : undefined;
  if (sso?.provider === "oidc") return { issuer: sso.issuer, audience: sso.clientId };
  if (sso?.provider !== "vault") return undefined;
  const host = clusterHost(owner, "vault");
  if (!host) return undefined;
  return {
    issuer: `https://${host}${oidcIssuerPath(owner.name)}`,
    ...(issuedClientId ? { audience: issuedClientId } : {}),
    issuedFor: owner.name,
  };
}

/**
 * The dashboard's RBAC for people who pass the login: the gate's allowed groups (as the API
 * server names them, `oidc:<group>`) bound to the built-in `view` role. Nothing where the login
 * has no ID token (GitHub) or no groups.
 */
export function dashboardRbac(env: ResolvedEnvironment): KubeObject[] {
  const owner = gateOwner(env, "cluster");
  const sso = owner.components.sso.enabled ? owner.sso : undefined;
  if (!sso || sso.provider === "github") return [];
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "plinth-dashboard-sso", labels: labels(env, "dashboard") },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: DASHBOARD_ROLE },
      subjects: sso.allowedGroups.map((g) => ({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Group",
        name: `${OIDC_PREFIX}${g}`,
      })),
    },
  ];
}
