import { dashboardRbac } from "../api-server-auth.js";
import { publishHosts } from "../gate.js";
import { helmChart, namespaceOf } from "../objects.js";
import type { Component } from "../types.js";
import { CHARTS } from "../versions.js";

/**
 * Phase 1.1: the cluster dashboard. Kubernetes Dashboard was archived upstream in January 2026 and
 * its chart repository is gone, so plinth installs Headlamp, its maintained successor.
 */
export const dashboard: Component = {
  id: "dashboard",
  title: "Cluster dashboard (Headlamp)",
  phase: "1",
  step: "1.1",
  layer: "L2",
  scope: "cluster",
  dependsOn: ["k3s"],
  stateful: false,
  namespace: (env) => namespaceOf(env, "dashboard", "platform"),
  objects(env) {
    const ns = namespaceOf(env, "dashboard", "platform");
    return [
      helmChart(env, "dashboard", {
        name: "dashboard",
        chart: CHARTS.headlamp,
        targetNamespace: namespaceOf(env, "dashboard", "platform"),
        stateful: false,
        values: {
          replicaCount: 1,
          // No cluster-admin binding: behind an OIDC login people sign in with the ID token the
          // gate passes on (api-server-auth.ts, bound to `view` below); else with a token of their own.
          clusterRoleBinding: { create: false },
          // plinth's own Ingress (below) carries the SSO gate; the chart's would not.
          ingress: { enabled: false },
        },
      }),
      // One chart per cluster, so one host: the primary environment's (see clusterHost).
      ...publishHosts(env, {
        component: "dashboard",
        scope: "cluster",
        namespace: ns,
        name: "dashboard",
        routes: [{ service: "dashboard", backend: { name: "dashboard-headlamp", port: 80 } }],
        passIdToken: true,
      }),
      ...dashboardRbac(env),
    ];
  },
  secrets: () => [],
  health: (env) => [
    {
      kind: "workload",
      objectKind: "Deployment",
      name: "dashboard-headlamp",
      namespace: namespaceOf(env, "dashboard", "platform"),
    },
  ],
  requests: () => ({ memory: "128Mi", cpu: "50m" }),
};
