import type { ComponentId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { byCodeUnit } from "../util/order.js";
import { VAULT_CONNECTION, VSO_NAMESPACE } from "./components/vault-secrets-operator.js";
import { CATALOG } from "./index.js";
import { labels } from "./objects.js";
import type { KubeObject } from "./types.js";
import { DEFAULT_LAYOUT, roleName, type SecretEntry, serviceAccountName } from "./vault-layout.js";

const API_VERSION = "secrets.hashicorp.com/v1beta1";

/**
 * What stands in for a component's plinth-written Secrets where Vault holds them: in each namespace
 * a Secret goes to, the ServiceAccount its Vault role is bound to (the operator logs in with a
 * token of an account in the Secret's own namespace) and a VaultAuth for that role; and per secret a
 * VaultStaticSecret writing the same Secret name, type and keys the charts already read, so no
 * chart value changes between environments with and without Vault.
 */
export function vaultDelivery(
  env: ResolvedEnvironment,
  component: ComponentId,
  entries: readonly SecretEntry[],
): KubeObject[] {
  if (entries.length === 0) return [];
  const role = roleName(env.name, component);
  const account = serviceAccountName(env.name, component);
  const objectLabels = labels(env, component);
  const out: KubeObject[] = [];
  for (const namespace of [...new Set(entries.map((e) => e.spec.namespace))].sort()) {
    out.push(
      {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: account, namespace, labels: objectLabels },
        // No pod runs as it: the operator asks the TokenRequest API for short-lived tokens.
        automountServiceAccountToken: false,
      },
      {
        apiVersion: API_VERSION,
        kind: "VaultAuth",
        metadata: { name: role, namespace, labels: objectLabels },
        spec: {
          vaultConnectionRef: `${VSO_NAMESPACE}/${VAULT_CONNECTION}`,
          method: "kubernetes",
          mount: DEFAULT_LAYOUT.authPath,
          kubernetes: { role, serviceAccount: account },
        },
      },
    );
  }
  for (const e of entries) {
    out.push({
      apiVersion: API_VERSION,
      kind: "VaultStaticSecret",
      metadata: { name: e.spec.name, namespace: e.spec.namespace, labels: objectLabels },
      spec: {
        vaultAuthRef: role,
        mount: DEFAULT_LAYOUT.mount,
        type: "kv-v2",
        path: e.path,
        // A rotated value (`plinth secrets rotate`) reaches its Secret within a minute, and the
        // workloads reading it restart (operators such as CloudNativePG watch their Secrets).
        refreshAfter: "1m",
        ...withTargets(restartTargets(env, e)),
        destination: {
          name: e.spec.name,
          create: true,
          type: e.spec.type ?? "Opaque",
          labels: {
            "plinth.dev/component": component,
            "plinth.dev/environment": env.name,
          },
          transformation: { excludeRaw: true },
        },
      },
    });
  }
  return out;
}

type Workload = { kind: "Deployment" | "StatefulSet"; name: string };

/**
 * The Deployments and StatefulSets of a secret's consumers in the secret's namespace: the ones
 * plinth renders itself and the ones their charts make (named by the catalog's health checks).
 */
export function restartTargets(env: ResolvedEnvironment, e: SecretEntry): Workload[] {
  const out = new Map<string, Workload>();
  for (const consumer of e.spec.consumers) {
    const component = CATALOG[consumer as ComponentId];
    if (!component) continue;
    for (const o of component.objects(env)) {
      if ((o.kind === "Deployment" || o.kind === "StatefulSet") && o.metadata.namespace === e.spec.namespace)
        out.set(`${o.kind}/${o.metadata.name}`, { kind: o.kind, name: o.metadata.name });
    }
    for (const h of component.health?.(env) ?? []) {
      if (h.kind === "workload" && h.namespace === e.spec.namespace)
        out.set(`${h.objectKind}/${h.name}`, { kind: h.objectKind, name: h.name });
    }
  }
  return [...out.values()].sort((a, b) => byCodeUnit(`${a.kind}/${a.name}`, `${b.kind}/${b.name}`));
}

function withTargets(targets: Workload[]): { rolloutRestartTargets?: Workload[] } {
  return targets.length > 0 ? { rolloutRestartTargets: targets } : {};
}
