import type { ResolvedEnvironment } from "../../model/types.js";
import { clusterHost } from "../cluster.js";
import { publishHosts, SSO_PORT, SSO_SERVICE, ssoCookieName, ssoNamespaceOf } from "../gate.js";
import { hostOf, labels } from "../objects.js";
import type { Component, KubeObject, SecretSpec } from "../types.js";
import { oidcClientPath, oidcIssuerPath } from "../vault-oidc.js";
import { IMAGES } from "../versions.js";

/** Secret holding the OAuth client secret, copied from the operator's variable at plan and apply. */
export const CLIENT_SECRET = "oauth2-proxy-client";
/** Secret holding the cookie secret: generated once (Vault or a plinth Secret), or from a variable. */
export const COOKIE_SECRET = "oauth2-proxy-cookie";
/**
 * The pod network of a k3s cluster, where Traefik's pod asks the gate from: k3s's default
 * `--cluster-cidr` (https://docs.k3s.io/cli/server, "10.42.0.0/16"), which plinth's install keeps.
 */
export const K3S_POD_CIDR = "10.42.0.0/16";

/** Where a secret value comes from: a key of a Kubernetes Secret, never the value itself. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/**
 * Everything OAuth2-Proxy's configuration depends on, as plain data. `gateSettings(env)` derives it
 * for an environment; a test may start from that and point it elsewhere (a local issuer, an
 * http:// redirect with `cookieSecure: false`).
 */
export type GateSettings = (
  | { provider: "github"; org: string; teams: readonly string[] }
  | { provider: "oidc"; issuer: string; allowedGroups: readonly string[] }
  /** This platform's Vault as the issuer: the client id Vault issued comes from a Secret too. */
  | { provider: "vault"; issuer: string; allowedGroups: readonly string[] }
) & {
  /** Given in config, or (vault) issued by Vault and read from a Secret. */
  clientId: string | SecretKeyRef;
  /** `https://auth-staging.example.org/oauth2/callback`: the one callback registered with the provider. */
  redirectUrl: string;
  /** The internal domain with a leading dot: the session cookie is valid on every UI host below it. */
  cookieDomain: string;
  /** Per environment, so staging's and prod's sessions on one internal domain never collide. */
  cookieName: string;
  cookieSecure: boolean;
  /** Where `rd` may send the browser after sign-in (the internal domain, leading dot). */
  whitelistDomains: readonly string[];
  /** Peers whose X-Forwarded-* headers are believed (Traefik's): `--trusted-proxy-ip`. */
  trustedProxies: readonly string[];
  clientSecret: SecretKeyRef;
  cookieSecret: SecretKeyRef;
};

/** OAuth2-Proxy's command line and environment: flags as `--name=value`, secrets as Secret refs. */
export interface OAuth2ProxyConfig {
  /** Container args, in a fixed order (the binary is the image's entrypoint). */
  args: string[];
  /** Environment variables from Secrets (OAUTH2_PROXY_CLIENT_SECRET, OAUTH2_PROXY_COOKIE_SECRET, and _CLIENT_ID from Vault). */
  env: { name: string; valueFrom: { secretKeyRef: SecretKeyRef } }[];
  /** The port `--http-address` listens on, served as `http`. */
  port: number;
}

/**
 * The OAuth2-Proxy configuration plinth renders, as a pure function of `GateSettings` (signature
 * stable: the gate test runs the real binary with it). ForwardAuth mode with a static upstream:
 * Traefik asks `/` for every request to a gated host; an anonymous one gets the redirect to the
 * provider's login (`--skip-provider-button`), a signed-in one 202 with X-Auth-Request-User, -Email
 * and -Groups (`--set-xauthrequest`), one outside the org/teams/groups 403. `--reverse-proxy` makes
 * it read the original host and path from Traefik's X-Forwarded-* headers, believed only from
 * `--trusted-proxy-ip` (unset, v7.15 trusts every peer: anyone reaching the pod could forge where a
 * request came from and where the sign-in sends the browser back). Sessions live in the
 * cookie itself (encrypted with the cookie secret), so they survive a restart without a store.
 */
export function oauth2ProxyConfig(s: GateSettings): OAuth2ProxyConfig {
  const identity =
    s.provider === "github"
      ? [
          "--provider=github",
          `--github-org=${s.org}`,
          ...(s.teams.length ? [`--github-team=${s.teams.join(",")}`] : []),
        ]
      : [
          "--provider=oidc",
          `--oidc-issuer-url=${s.issuer}`,
          "--oidc-groups-claim=groups",
          "--scope=openid email profile groups",
          "--code-challenge-method=S256",
          ...s.allowedGroups.map((g) => `--allowed-group=${g}`),
          // OIDC can refresh: membership is checked again hourly, not only at sign-in.
          "--cookie-refresh=1h",
          // The ID token as `Authorization: Bearer` on the auth answer; only the dashboard's
          // Middleware passes it on (Headlamp calls the API server with it; catalog/gate.ts).
          "--set-authorization-header=true",
        ];
  return {
    args: [
      `--http-address=0.0.0.0:${SSO_PORT}`,
      ...identity,
      ...(typeof s.clientId === "string" ? [`--client-id=${s.clientId}`] : []),
      `--redirect-url=${s.redirectUrl}`,
      // Who may pass is decided by org/teams or groups above, not by e-mail domain.
      "--email-domain=*",
      "--upstream=static://202",
      "--reverse-proxy=true",
      ...s.trustedProxies.map((p) => `--trusted-proxy-ip=${p}`),
      "--set-xauthrequest=true",
      "--skip-provider-button=true",
      "--session-store-type=cookie",
      `--cookie-name=${s.cookieName}`,
      `--cookie-domain=${s.cookieDomain}`,
      `--cookie-secure=${s.cookieSecure}`,
      "--cookie-samesite=lax",
      "--cookie-expire=168h",
      ...s.whitelistDomains.map((d) => `--whitelist-domain=${d}`),
      "--silence-ping-logging=true",
    ],
    env: [
      ...(typeof s.clientId === "string"
        ? []
        : [{ name: "OAUTH2_PROXY_CLIENT_ID", valueFrom: { secretKeyRef: s.clientId } }]),
      { name: "OAUTH2_PROXY_CLIENT_SECRET", valueFrom: { secretKeyRef: s.clientSecret } },
      { name: "OAUTH2_PROXY_COOKIE_SECRET", valueFrom: { secretKeyRef: s.cookieSecret } },
    ],
    port: SSO_PORT,
  };
}

/** The gate's settings for an environment with the sso component on (its `sso` and its hosts). */
export function gateSettings(env: ResolvedEnvironment): GateSettings {
  const sso = env.sso;
  const host = hostOf(env, "sso");
  if (!sso || !host || !env.internalDomain) {
    throw new Error(`gateSettings: environment ${env.name} has no sso settings or no auth host`);
  }
  const identity =
    sso.provider === "github"
      ? { provider: "github" as const, org: sso.org, teams: sso.teams, clientId: sso.clientId }
      : sso.provider === "oidc"
        ? {
            provider: "oidc" as const,
            issuer: sso.issuer,
            allowedGroups: sso.allowedGroups,
            clientId: sso.clientId,
          }
        : {
            provider: "vault" as const,
            issuer: vaultIssuer(env),
            allowedGroups: sso.allowedGroups,
            clientId: { name: CLIENT_SECRET, key: "client-id" },
          };
  return {
    ...identity,
    redirectUrl: `https://${host}/oauth2/callback`,
    cookieDomain: `.${env.internalDomain}`,
    cookieName: ssoCookieName(env.name),
    cookieSecure: true,
    whitelistDomains: [`.${env.internalDomain}`],
    trustedProxies: [K3S_POD_CIDR],
    clientSecret: { name: CLIENT_SECRET, key: "client-secret" },
    cookieSecret: { name: COOKIE_SECRET, key: "cookie-secret" },
  };
}

/**
 * The issuer of `provider: "vault"`: the cluster's Vault host and this environment's provider
 * (`https://secrets-staging.example.org/v1/identity/oidc/provider/plinth-staging-sso`).
 */
export function vaultIssuer(env: ResolvedEnvironment): string {
  const host = clusterHost(env, "vault");
  if (!host) throw new Error(`vaultIssuer: environment ${env.name}'s cluster has no Vault host`);
  return `https://${host}${oidcIssuerPath(env.name)}`;
}

function namespace(env: ResolvedEnvironment): string {
  return ssoNamespaceOf(env.name, env.cluster);
}

function deployment(env: ResolvedEnvironment): KubeObject {
  const config = oauth2ProxyConfig(gateSettings(env));
  const selector = { "app.kubernetes.io/name": SSO_SERVICE };
  const probe = { httpGet: { path: "/ping", port: "http" }, periodSeconds: 10 };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: SSO_SERVICE,
      namespace: namespace(env),
      labels: { ...labels(env, "sso"), ...selector },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: { ...labels(env, "sso"), ...selector } },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            {
              name: SSO_SERVICE,
              image: IMAGES.oauth2Proxy,
              args: config.args,
              env: config.env,
              ports: [{ name: "http", containerPort: config.port, protocol: "TCP" }],
              readinessProbe: probe,
              livenessProbe: probe,
              resources: { requests: { memory: "32Mi", cpu: "10m" }, limits: { memory: "128Mi" } },
              securityContext: {
                runAsNonRoot: true,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
            },
          ],
        },
      },
    },
  };
}

function service(env: ResolvedEnvironment): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: SSO_SERVICE, namespace: namespace(env), labels: labels(env, "sso") },
    spec: {
      selector: { "app.kubernetes.io/name": SSO_SERVICE },
      ports: [{ name: "http", port: SSO_PORT, targetPort: "http", protocol: "TCP" }],
    },
  };
}

function secrets(env: ResolvedEnvironment): SecretSpec[] {
  const sso = env.sso;
  if (!sso) return [];
  const fromEnv = (variable: string, what: string) => ({
    length: 0,
    alphabet: "alphanumeric" as const,
    fromEnv: { variable, what },
  });
  const fromVault = (field: string) => ({
    length: 0,
    alphabet: "alphanumeric" as const,
    fromVault: { path: oidcClientPath(env.name), field },
  });
  const client: SecretSpec =
    sso.provider === "vault"
      ? {
          name: CLIENT_SECRET,
          namespace: namespace(env),
          // Issued by Vault to plinth's OIDC client, copied into KV at apply, delivered like the rest.
          keys: { "client-id": fromVault("client_id"), "client-secret": fromVault("client_secret") },
          consumers: ["sso"],
          notRotated: `Vault issues it to the OIDC client ${oidcClientPath(env.name)}; delete that client and apply to get a new one`,
        }
      : {
          name: CLIENT_SECRET,
          namespace: namespace(env),
          keys: {
            "client-secret": fromEnv(
              sso.clientSecretVariable,
              `${sso.provider === "github" ? "the GitHub OAuth app's" : `the OIDC client's (${sso.issuer})`} client secret for ${sso.clientId}`,
            ),
          },
          consumers: ["sso"],
        };
  return [
    client,
    {
      name: COOKIE_SECRET,
      namespace: namespace(env),
      // 32 bytes: OAuth2-Proxy's AES-256 key for the session cookie.
      keys: {
        "cookie-secret": sso.cookieSecretVariable
          ? fromEnv(sso.cookieSecretVariable, "a 32-character cookie secret (openssl rand -hex 16)")
          : { length: 32, alphabet: "alphanumeric" },
      },
      consumers: ["sso"],
    },
  ];
}

/**
 * Phase 1.4: the login in front of every internal UI (OAuth2-Proxy on `auth.INTERNAL`). The UIs'
 * own components attach the ForwardAuth middleware to their Ingresses (catalog/gate.ts).
 */
export const sso: Component = {
  id: "sso",
  title: "SSO gate (OAuth2-Proxy)",
  phase: "1",
  step: "1.4",
  layer: "L2",
  scope: "environment",
  dependsOn: ["traefik"],
  stateful: false,
  namespace,
  objects: (env) => [
    deployment(env),
    service(env),
    ...publishHosts(env, {
      component: "sso",
      scope: "environment",
      namespace: namespace(env),
      name: SSO_SERVICE,
      routes: [{ service: "sso", backend: { name: SSO_SERVICE, port: SSO_PORT } }],
    }),
  ],
  secrets,
  health: (env) => [
    { kind: "workload", objectKind: "Deployment", name: SSO_SERVICE, namespace: namespace(env) },
    { kind: "http", service: SSO_SERVICE, namespace: namespace(env), port: SSO_PORT, path: "/ping" },
  ],
  requests: () => ({ memory: "32Mi", cpu: "10m" }),
};
