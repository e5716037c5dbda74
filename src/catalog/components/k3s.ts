import type { ResolvedEnvironment } from "../../model/types.js";
import { labels, STORAGE_CLASS } from "../objects.js";
import type { Component, KubeObject } from "../types.js";

/**
 * The StorageClass every stateful component uses: k3s's bundled local-path provisioner, volumes
 * kept when their claim goes (Retain), under the cluster's `storagePath` (k3s is configured with
 * the same `default-local-storage-path`, which the provisioner requires of a class's `nodePath`).
 */
function storageClass(env: ResolvedEnvironment): KubeObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: STORAGE_CLASS, labels: labels(env, "k3s") },
    provisioner: "rancher.io/local-path",
    parameters: { nodePath: env.cluster.storagePath },
    reclaimPolicy: "Retain",
    volumeBindingMode: "WaitForFirstConsumer",
  };
}

/** Phase 0.1: k3s on the VPS, installed over SSH, and the cluster's `local-path-retain` StorageClass. */
export const k3s: Component = {
  id: "k3s",
  title: "k3s",
  phase: "0",
  step: "0.1",
  layer: "L1",
  scope: "cluster",
  dependsOn: [],
  stateful: true,
  namespace: () => "kube-system",
  objects: (env) => [storageClass(env)],
  external(env) {
    const { vps, k3s: version } = env.cluster;
    if (!vps || !version) return [];
    return [
      {
        provider: "ssh",
        kind: "K3sInstall",
        name: env.cluster.name,
        detail: `k3s ${version.version} (${version.channel}) on ${vps.user}@${vps.host}:${vps.sshPort}, kubeconfig → ${env.cluster.kubeconfig}`,
      },
    ];
  },
  secrets: () => [],
  health: () => [
    { kind: "http", service: "kubernetes", namespace: "default", port: 443, path: "/readyz", expect: "ok" },
  ],
  // k3s server itself, with its bundled CoreDNS, local-path provisioner, metrics-server and Traefik.
  requests: () => ({ memory: "768Mi", cpu: "500m" }),
};
