import {
  deliveredByVault,
  loginNamespaces,
  MANAGED_BY,
  roleName,
  type SecretEntry,
  secretEntries,
  serviceAccountName,
  type VaultLayout,
} from "../../catalog/vault-layout.js";
import type { ComponentId } from "../../config/ids.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { type DatabaseTarget, databaseResources } from "./database.js";
import { oidcResources } from "./oidc.js";
import type { VaultResource } from "./spec.js";

export type { DatabaseTarget } from "./database.js";

/** How Vault reaches the Kubernetes API for TokenReview. */
export interface KubernetesAuthTarget {
  /** Default `https://kubernetes.default.svc` (Vault running in the cluster). */
  host: string;
  /** PEM; absent: Vault uses its pod's own CA. */
  caCert?: string;
  /** Whether Vault reads its own pod's service account token and CA (true in the cluster). */
  useLocalToken: boolean;
}

export const IN_CLUSTER: Readonly<KubernetesAuthTarget> = Object.freeze({
  host: "https://kubernetes.default.svc",
  useLocalToken: true,
});

const description = (what: string) => `${MANAGED_BY}: ${what}`;

/**
 * A component's policy: read on exactly the KV paths it owns or consumes, nothing else (no list
 * of the folder, no wildcard, no other environment).
 */
export function policyFor(
  env: string,
  component: ComponentId,
  mount: string,
  entries: SecretEntry[],
): string | undefined {
  const paths = entries
    .filter((e) => e.component === component || e.spec.consumers.includes(component))
    .map((e) => e.path)
    .sort();
  if (paths.length === 0) return undefined;
  const lines = [`# ${MANAGED_BY} env=${env} component=${component}`];
  for (const p of paths) {
    lines.push(`path "${mount}/data/${p}" {`, `  capabilities = ["read"]`, "}");
    lines.push(`path "${mount}/metadata/${p}" {`, `  capabilities = ["read"]`, "}");
  }
  return `${lines.join("\n")}\n`;
}

/** Cluster-wide pieces first (mount, audit, auth), then per-environment policies, roles, secrets. */
export function desiredVault(
  env: ResolvedEnvironment,
  layout: VaultLayout,
  kubernetes: KubernetesAuthTarget = IN_CLUSTER,
  database?: DatabaseTarget,
  /** Where browsers reach Vault, for the SSO gate's issuer (default `https://<vault host>`). */
  oidcIssuer?: string,
): VaultResource[] {
  const entries = secretEntries(env);
  const out: VaultResource[] = [
    {
      provider: "vault",
      id: `vault:mount:${layout.mount}`,
      component: "vault",
      spec: {
        kind: "mount",
        path: layout.mount,
        type: "kv",
        version: "2",
        description: description("generated secrets, <env>/<component>/<secret>"),
      },
    },
    {
      provider: "vault",
      id: `vault:audit:${layout.auditPath}`,
      component: "vault",
      spec: {
        kind: "audit",
        path: layout.auditPath,
        type: "file",
        filePath: layout.auditFile,
        description: description("audit log"),
        declared: env.vaultEngine === "openbao",
      },
    },
    {
      provider: "vault",
      id: `vault:auth:${layout.authPath}`,
      component: "vault",
      spec: {
        kind: "auth",
        path: layout.authPath,
        type: "kubernetes",
        description: description(`kubernetes auth for cluster ${env.cluster.name}`),
        host: kubernetes.host,
        ...(kubernetes.caCert ? { caCert: kubernetes.caCert } : {}),
        useLocalToken: kubernetes.useLocalToken,
      },
    },
  ];
  const components = [...new Set(entries.flatMap((e) => [e.component, ...e.spec.consumers]))]
    .filter((c): c is ComponentId => c in env.components && env.components[c as ComponentId].enabled)
    .sort();
  for (const component of components) {
    const policy = policyFor(env.name, component, layout.mount, entries);
    if (!policy) continue;
    const name = roleName(env.name, component);
    out.push({
      provider: "vault",
      id: `vault:policy:${name}`,
      component,
      spec: { kind: "policy", name, policy },
    });
    out.push({
      provider: "vault",
      id: `vault:role:${layout.authPath}/${name}`,
      component,
      spec: {
        kind: "role",
        authPath: layout.authPath,
        name,
        serviceAccounts: [serviceAccountName(env.name, component)],
        namespaces: loginNamespaces(env, component, entries),
        policies: [name],
        ttlSeconds: 3600,
      },
    });
  }
  // The gate's OIDC client exists before the secret its issued id and secret are copied into.
  out.push(...oidcResources(env, oidcIssuer));
  for (const e of entries) {
    // Phase 0 runs before Vault exists: its secrets start as Kubernetes Secrets and move in once.
    const copyFrom = deliveredByVault(env, e)
      ? undefined
      : { namespace: e.spec.namespace, name: e.spec.name };
    out.push({
      provider: "vault",
      id: `vault:kv:${layout.mount}/${e.path}`,
      component: e.component,
      spec: {
        kind: "kv",
        mount: layout.mount,
        path: e.path,
        secret: e.spec,
        ...(copyFrom ? { copyFrom } : {}),
      },
    });
  }
  out.push(...databaseResources(env, layout, entries, database));
  return out;
}
