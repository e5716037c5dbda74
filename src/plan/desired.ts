import { CATALOG } from "../catalog/index.js";
import { labels, namespace as namespaceObject } from "../catalog/objects.js";
import type { ExternalResource, HealthCheck, KubeObject, SecretSpec } from "../catalog/types.js";
import { vaultDelivery } from "../catalog/vault-delivery.js";
import { deliveredByVault, secretEntries, usesVault } from "../catalog/vault-layout.js";
import type { ComponentId, PhaseId } from "../config/ids.js";
import type { Graph } from "../graph/graph.js";
import type { ResolvedEnvironment } from "../model/types.js";

export interface DesiredComponent {
  id: ComponentId;
  phase: PhaseId;
  namespace: string;
  placement: "local" | "cluster" | "external";
  cluster?: string;
  objects: KubeObject[];
  external: ExternalResource[];
  secrets: SecretSpec[];
  /** The catalog's checks that the component works, beyond its objects' readiness. */
  health: HealthCheck[];
}

/** Namespaces plinth never creates: they belong to the cluster. */
const SYSTEM_NAMESPACES = new Set(["kube-system", "default", "kube-public"]);

/**
 * Every component's desired objects in graph order. A Namespace object is attributed to the first
 * component (in apply order) whose objects live in it, so it is created before anything uses it.
 * Where Vault delivers a secret, the component gets the operator's objects for it instead of a
 * Secret plinth writes.
 */
export function desiredComponents(env: ResolvedEnvironment, graph: Graph): DesiredComponent[] {
  const seen = new Set<string>();
  const out: DesiredComponent[] = [];
  const fromVault = usesVault(env) ? secretEntries(env).filter((e) => deliveredByVault(env, e)) : [];
  for (const phase of graph.phases) {
    for (const node of phase.components) {
      const c = CATALOG[node.id];
      const external = node.placement === "external";
      const delivered = fromVault.filter((e) => e.component === node.id);
      const isDelivered = (s: SecretSpec) =>
        delivered.some((e) => e.spec.name === s.name && e.spec.namespace === s.namespace);
      const objects = external ? [] : [...vaultDelivery(env, node.id, delivered), ...c.objects(env)];
      const namespaces = [...new Set(objects.flatMap(namespacesUsedBy))].filter(
        (ns) => !SYSTEM_NAMESPACES.has(ns) && !seen.has(ns),
      );
      for (const ns of namespaces) seen.add(ns);
      out.push({
        id: node.id,
        phase: phase.id,
        namespace: node.namespace,
        placement: node.placement,
        ...(node.cluster ? { cluster: node.cluster } : {}),
        objects: [...namespaces.sort().map((ns) => namespaceObject(ns, labels(env, node.id))), ...objects],
        external: external ? [] : (c.external?.(env) ?? []),
        secrets: external ? [] : c.secrets(env).filter((s) => !isDelivered(s)),
        health: external ? [] : c.health(env),
      });
    }
  }
  return out;
}

function namespacesUsedBy(o: KubeObject): string[] {
  const spec = o.spec as { targetNamespace?: unknown } | undefined;
  const target =
    o.kind === "HelmChart" && typeof spec?.targetNamespace === "string" ? [spec.targetNamespace] : [];
  return [...(o.metadata.namespace ? [o.metadata.namespace] : []), ...target];
}
