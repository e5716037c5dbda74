/**
 * The gate in front of the internal UIs (README "SSO"): which host is a human UI behind the login
 * and which is a machine endpoint left open, with the reason, in one table that the Ingresses,
 * `plinth domains` and `plinth status` all read, so what is rendered, shown and checked agree.
 */
import type { ComponentId, ServiceId } from "../config/ids.js";
import type { ResolvedCluster, ResolvedEnvironment } from "../model/types.js";
import { clusterEnvironments, clusterHost } from "./cluster.js";
import { hostOf, labels } from "./objects.js";
import type { KubeObject } from "./types.js";

/** A path left open on a gated host, and why a login there would be wrong. */
export interface OpenPath {
  path: string;
  reason: string;
}

export type Exposure =
  /** A human UI: every path goes through the login except the listed ones. */
  | { kind: "gated"; open: readonly OpenPath[] }
  /** Not a human UI: no login, for the reason given. */
  | { kind: "open"; reason: string };

/**
 * Every service id's exposure: a Record, so a new host cannot be added without deciding here
 * whether it is gated. Exceptions are machine endpoints that carry their own authentication or
 * must accept anonymous traffic by design.
 */
export const EXPOSURE: Readonly<Record<ServiceId, Exposure>> = Object.freeze({
  frontend: {
    kind: "open",
    reason: "the product's own frontend, public by design (apps bring their own login)",
  },
  backend: { kind: "open", reason: "the product's own API, public by design (apps bring their own auth)" },
  "k3s-api": {
    kind: "open",
    reason: "the Kubernetes API: client certificates and tokens; DNS-only, not routed through Traefik",
  },
  vault: {
    kind: "gated",
    open: [
      {
        path: "/v1",
        reason:
          "Vault's API: every call carries a Vault token (its own auth); CLIs, the operator and the UI's own calls use it",
      },
    ],
  },
  dashboard: { kind: "gated", open: [] },
  kubero: { kind: "gated", open: [] },
  "kubero-api": {
    kind: "gated",
    open: [
      {
        path: "/api/repo/webhooks",
        reason: "Git providers' push webhooks, signed with KUBERO_WEBHOOK_SECRET",
      },
    ],
  },
  signoz: { kind: "gated", open: [] },
  "otel-collector": {
    kind: "open",
    reason: "OTLP ingest: apps and browsers send telemetry, machines not people",
  },
  openpanel: { kind: "gated", open: [] },
  "openpanel-api": {
    kind: "open",
    reason:
      "OpenPanel's public event API: the product's visitors' browsers send events (client id per project)",
  },
  backstage: { kind: "gated", open: [] },
  sso: { kind: "open", reason: "the login itself (OAuth2-Proxy's /oauth2/ sign-in and callback)" },
});

/**
 * Where Vault's (and OpenBao's) UI asks a user to sign in for its own OIDC provider, and the
 * scripts and styles that page loads (`/ui/assets/…`): behind the gate an anonymous browser would
 * get the login's redirect instead of them and the page would never start.
 */
const VAULT_OIDC_LOGIN: readonly OpenPath[] = [
  {
    path: "/ui/vault/identity/oidc/provider",
    reason:
      "the sign-in page of Vault's own OIDC provider, this login's issuer: behind the gate it would send every visitor round in a loop",
  },
  {
    path: "/ui/assets",
    reason: "the scripts and styles of Vault's sign-in page: its public UI code, the same in every Vault",
  },
];

/**
 * The open paths of a gated host: the table's, plus Vault's OIDC sign-in page where the gate's
 * issuer is this very Vault (`provider: "vault"`, or `"oidc"` with an issuer on the Vault host).
 */
export function openPathsOf(owner: ResolvedEnvironment, service: ServiceId, host: string): OpenPath[] {
  const exposure = EXPOSURE[service];
  if (exposure.kind === "open") return [];
  const sso = owner.components.sso.enabled ? owner.sso : undefined;
  // One Vault per cluster: any of its environments may sign people in through it.
  const vaultIssuer = clusterEnvironments(owner).some(
    (e) => e.components.sso.enabled && e.sso?.provider === "vault",
  );
  const ownIssuer =
    service === "vault" && (vaultIssuer || (sso?.provider === "oidc" && new URL(sso.issuer).host === host));
  return ownIssuer ? [...exposure.open, ...VAULT_OIDC_LOGIN] : [...exposure.open];
}

/** On an Ingress left open: why (the table's reason), for whoever reads the object. */
export const OPEN_ANNOTATION = "plinth.dev/open";
/** Traefik's annotation attaching middlewares to an Ingress's routers. */
export const MIDDLEWARES_ANNOTATION = "traefik.ingress.kubernetes.io/router.middlewares";
/** Headers the gate passes to the UI about who signed in. */
export const AUTH_RESPONSE_HEADERS = [
  "X-Auth-Request-User",
  "X-Auth-Request-Email",
  "X-Auth-Request-Groups",
  "X-Auth-Request-Preferred-Username",
] as const;

export const SSO_SERVICE = "oauth2-proxy";
export const SSO_PORT = 4180;

/** The sso component's namespace: like the per-environment ones, suffixed where environments share a cluster. */
export function ssoNamespaceOf(envName: string, cluster: ResolvedCluster): string {
  return cluster.environments.length > 1 ? `sso-${envName}` : "sso";
}

/**
 * The environment whose login guards a component's UI: its own, or, for a cluster-wide UI (Vault,
 * the dashboard), the cluster's primary environment's (the one naming its host), so every
 * environment of the cluster renders the same objects for it.
 */
export function gateOwner(env: ResolvedEnvironment, scope: "cluster" | "environment"): ResolvedEnvironment {
  if (scope === "environment") return env;
  return clusterEnvironments(env).find((e) => e.name === env.cluster.primaryEnvironment) ?? env;
}

/**
 * Where the gate sends its ForwardAuth requests: the owner's OAuth2-Proxy, which answers `/` with
 * the sign-in redirect or, signed in, 202 and the X-Auth-Request headers (`--upstream=static://202`).
 */
/** The session cookie's name: one per environment, so staging's session never opens prod. */
export function ssoCookieName(envName: string): string {
  return `_plinth_sso_${envName.replaceAll("-", "_")}`;
}

export function gateAddress(owner: ResolvedEnvironment): string {
  return `http://${SSO_SERVICE}.${ssoNamespaceOf(owner.name, owner.cluster)}.svc.cluster.local:${SSO_PORT}/`;
}

export function middlewareName(component: ComponentId): string {
  return `plinth-sso-${component}`;
}

/** The value of Traefik's router.middlewares annotation for a middleware CRD object. */
export function middlewareRef(namespace: string, name: string): string {
  return `${namespace}-${name}@kubernetescrd`;
}

export interface HostRoute {
  service: ServiceId;
  /** The Service (in `namespace`) serving the host, and its port (number or name). */
  backend: { name: string; port: number | string };
}

export interface PublishOptions {
  component: ComponentId;
  scope: "cluster" | "environment";
  namespace: string;
  /** Base name of the Ingress objects (`<name>`, `<name>-open`). */
  name: string;
  routes: readonly HostRoute[];
  /**
   * Hand the UI the signed-in user's ID token (`Authorization: Bearer`) where the login has one
   * (an OIDC issuer, not GitHub): the dashboard calls the Kubernetes API with it.
   */
  passIdToken?: boolean;
}

/** Whether the login holds an OpenID Connect ID token it can hand on (GitHub's OAuth has none). */
export function gateHasIdToken(owner: ResolvedEnvironment): boolean {
  return owner.components.sso.enabled && (owner.sso?.provider === "oidc" || owner.sso?.provider === "vault");
}

/**
 * The objects that publish a component's hosts: one Ingress for what the login guards (with the
 * ForwardAuth middleware attached when the environment has the sso component), one Ingress for
 * what the exposure table leaves open, annotated with the reason, and the Middleware itself.
 * Two Ingresses because Traefik attaches middlewares per Ingress, not per path.
 */
export function publishHosts(env: ResolvedEnvironment, o: PublishOptions): KubeObject[] {
  const gated: Rule[] = [];
  const open: Rule[] = [];
  const reasons = new Set<string>();
  for (const route of o.routes) {
    // A cluster-wide UI has one host for the cluster (see clusterHost).
    const host = o.scope === "cluster" ? clusterHost(env, route.service) : hostOf(env, route.service);
    if (!host) continue;
    const exposure = EXPOSURE[route.service];
    if (exposure.kind === "open") {
      open.push(rule(host, ["/"], route.backend));
      reasons.add(`${route.service}: ${exposure.reason}`);
      continue;
    }
    gated.push(rule(host, ["/"], route.backend));
    const paths = openPathsOf(gateOwner(env, o.scope), route.service, host);
    if (paths.length) {
      open.push(
        rule(
          host,
          paths.map((p) => p.path),
          route.backend,
        ),
      );
      for (const p of paths) reasons.add(`${route.service} ${p.path}: ${p.reason}`);
    }
  }
  const owner = gateOwner(env, o.scope);
  const gate = owner.components.sso.enabled && gated.length > 0;
  const middleware = middlewareName(o.component);
  const out: KubeObject[] = [];
  if (gate) {
    out.push({
      apiVersion: "traefik.io/v1alpha1",
      kind: "Middleware",
      metadata: { name: middleware, namespace: o.namespace, labels: labels(env, o.component) },
      spec: {
        forwardAuth: {
          address: gateAddress(owner),
          authResponseHeaders: [
            ...AUTH_RESPONSE_HEADERS,
            ...(o.passIdToken && gateHasIdToken(owner) ? ["Authorization"] : []),
          ],
          // Traefik drops Set-Cookie from a 2xx auth answer unless named here, and OAuth2-Proxy
          // refreshes the session (--cookie-refresh) in exactly such an answer.
          addAuthCookiesToResponse: [ssoCookieName(owner.name)],
        },
      },
    });
  }
  if (gated.length) {
    // Without the gate the Ingress still says why it is open, so no Ingress is open silently.
    const annotations: Record<string, string> = gate
      ? { [MIDDLEWARES_ANNOTATION]: middlewareRef(o.namespace, middleware) }
      : { [OPEN_ANNOTATION]: ungatedReason(owner) };
    out.push(ingress(env, o, o.name, gated, annotations));
  }
  if (open.length) {
    out.push(ingress(env, o, `${o.name}-open`, open, { [OPEN_ANNOTATION]: [...reasons].join("; ") }));
  }
  return out;
}

interface Rule {
  host: string;
  http: { paths: { path: string; pathType: "Prefix"; backend: unknown }[] };
}

function rule(host: string, paths: string[], backend: HostRoute["backend"]): Rule {
  const port = typeof backend.port === "number" ? { number: backend.port } : { name: backend.port };
  return {
    host,
    http: {
      paths: paths.map((path) => ({
        path,
        pathType: "Prefix",
        backend: { service: { name: backend.name, port } },
      })),
    },
  };
}

function ingress(
  env: ResolvedEnvironment,
  o: PublishOptions,
  name: string,
  rules: Rule[],
  annotations: Record<string, string>,
): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name,
      namespace: o.namespace,
      labels: labels(env, o.component),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    // TLS from Traefik's default certificate (the wildcard), as the charts' Ingresses had it.
    spec: { ingressClassName: "traefik", rules, tls: [{ hosts: [...new Set(rules.map((r) => r.host))] }] },
  };
}

/** Why a human UI has no login: a local environment, or no sso settings where it is public. */
export function ungatedReason(owner: ResolvedEnvironment): string {
  return owner.publicHosts
    ? `a human UI without a login: ${owner.name} has no sso settings (README "SSO")`
    : `${owner.name} serves on localhost only: no login in front of its UIs`;
}

/** How one host is reached, for `plinth domains` and `plinth status`. */
export interface HostAccess {
  service: ServiceId;
  host: string;
  /** `gated`: behind the login except the `open` paths; `open`: no login, for `reason`. */
  access: "gated" | "open";
  reason: string;
  /** Paths of a gated host left open, each with its reason. */
  open: readonly OpenPath[];
  /** Where an anonymous visitor of a gated host is sent (the login host). */
  login?: string;
}

/** Every host of the environment with its access and why, in host-table order. */
export function hostAccess(env: ResolvedEnvironment): HostAccess[] {
  const out: HostAccess[] = [];
  for (const [service, entry] of Object.entries(env.hosts) as [
    ServiceId,
    NonNullable<ResolvedEnvironment["hosts"][ServiceId]>,
  ][]) {
    const exposure = EXPOSURE[service];
    const base = { service, host: entry.host };
    if (exposure.kind === "open") {
      out.push({ ...base, access: "open", reason: exposure.reason, open: [] });
      continue;
    }
    const owner = gateOwner(env, entry.scope);
    const login = hostOf(owner, "sso");
    if (!owner.components.sso.enabled || !owner.sso || !login) {
      out.push({ ...base, access: "open", reason: ungatedReason(owner), open: [] });
      continue;
    }
    const who =
      owner.sso.provider === "github"
        ? `GitHub org ${owner.sso.org}${owner.sso.teams.length ? `, teams ${owner.sso.teams.join(", ")}` : ""}`
        : owner.sso.provider === "oidc"
          ? `groups ${owner.sso.allowedGroups.join(", ")} at ${owner.sso.issuer}`
          : `Vault groups ${owner.sso.allowedGroups.join(", ")}`;
    const open = openPathsOf(owner, service, entry.host);
    out.push({ ...base, access: "gated", reason: `login at ${login} (${who})`, open, login });
  }
  return out;
}
