import { toYaml } from "../../util/yaml.js";
import { clusterHasPublicHosts } from "../cluster.js";
import { labels, WILDCARD_TLS_SECRET } from "../objects.js";
import type { Component } from "../types.js";

/**
 * Phase 0.2: k3s's bundled Traefik, tuned through a HelmChartConfig (k3s keeps owning the chart).
 * One config per cluster: it serves the wildcard certificate by default when any environment of the
 * cluster has public hosts, whichever environment renders it.
 */
export const traefik: Component = {
  id: "traefik",
  title: "Traefik (k3s bundled, tuned)",
  phase: "0",
  step: "0.2",
  layer: "L1",
  scope: "cluster",
  dependsOn: ["k3s"],
  stateful: false,
  namespace: () => "kube-system",
  objects(env) {
    const values: Record<string, unknown> = {
      ports: {
        web: { redirections: { entryPoint: { to: "websecure", scheme: "https", permanent: true } } },
      },
      logs: { access: { enabled: true } },
      providers: { kubernetesIngress: { publishedService: { enabled: true } } },
      ...(clusterHasPublicHosts(env)
        ? { tlsStore: { default: { defaultCertificate: { secretName: WILDCARD_TLS_SECRET } } } }
        : {}),
    };
    return [
      {
        apiVersion: "helm.cattle.io/v1",
        kind: "HelmChartConfig",
        metadata: { name: "traefik", namespace: "kube-system", labels: labels(env, "traefik") },
        spec: { valuesContent: toYaml(values) },
      },
    ];
  },
  secrets: () => [],
  health: () => [{ kind: "workload", objectKind: "Deployment", name: "traefik", namespace: "kube-system" }],
  requests: () => ({ memory: "128Mi", cpu: "100m" }),
};
