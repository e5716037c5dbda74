import { pluginManifest } from "../backups.js";
import { clusterEnvironments } from "../cluster.js";
import { helmChart } from "../objects.js";
import type { Component } from "../types.js";
import { CHARTS } from "../versions.js";

const NAMESPACE = "cnpg-system";

/** Phase 0.4: the CloudNativePG operator, shared by the platform and business PostgreSQL clusters. */
export const cnpgOperator: Component = {
  id: "cnpg-operator",
  title: "CloudNativePG operator",
  phase: "0",
  step: "0.4",
  layer: "L1",
  scope: "cluster",
  dependsOn: ["k3s"],
  stateful: false,
  namespace: () => NAMESPACE,
  objects: (env) => [
    helmChart(env, "cnpg-operator", {
      name: "cnpg-operator",
      chart: CHARTS.cloudnativePg,
      targetNamespace: NAMESPACE,
      stateful: false,
      values: {
        crds: { create: true },
        resources: { requests: { memory: "128Mi", cpu: "50m" } },
      },
    }),
  ],
  // Where the cluster's environments have backups, the Barman Cloud plugin, which must run beside
  // the operator (one per cluster, so every environment renders it alike).
  external: (env) => (clusterEnvironments(env).some((e) => e.backups) ? [pluginManifest()] : []),
  secrets: () => [],
  health: () => [
    {
      kind: "workload",
      objectKind: "Deployment",
      name: "cnpg-operator-cloudnative-pg",
      namespace: NAMESPACE,
    },
  ],
  requests: () => ({ memory: "128Mi", cpu: "50m" }),
};
