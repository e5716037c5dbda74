import type { Component } from "../types.js";

/** Phase 0.1: k3s on the VPS, installed over SSH; renders no Kubernetes objects of its own. */
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
  objects: () => [],
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
