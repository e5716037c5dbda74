import type { ResolvedEnvironment } from "../../model/types.js";
import { runsHere } from "../cluster.js";
import { publishHosts } from "../gate.js";
import { helmChart, namespaceOf, STORAGE_CLASS } from "../objects.js";
import { ownerSecret } from "../owners.js";
import type { Component } from "../types.js";
import { CHARTS } from "../versions.js";
import { clickhouseOperatorChart, clickhouseOperatorSecret } from "./clickhouse.js";

/**
 * The Secret helm-controller merges into the chart's values (its ClickHouse password), beside the
 * HelmChart in kube-system: one per environment, since each SigNoz has its own ClickHouse.
 */
export function signozValuesSecret(env: ResolvedEnvironment): string {
  return `signoz-${env.name}-values`;
}

/**
 * Where this environment runs no ClickHouse of its own, SigNoz still needs plinth's operator chart
 * applied first: it is the cluster's one source of the ClickHouse CRDs (see clickhouse.ts).
 */
function operatorFirst(env: ResolvedEnvironment): boolean {
  return !runsHere(env, "clickhouse");
}

function namespace(env: ResolvedEnvironment): string {
  return namespaceOf(env, "signoz", "observability");
}

/**
 * Phase 3.1: SigNoz with its OTel collector and its own ClickHouse. Its documented minimum is
 * 8 GB / 4 cores, which the capacity check enforces. The chart's default ClickHouse password is a
 * fixed, public value: plinth overrides it through `valuesSecrets`, never in values.
 *
 * The chart's ClickHouse subchart also runs its own Altinity operator (0.21.2), and chart 0.130.1
 * has no value that turns it off (its Deployment is not conditional): it stays, confined to
 * SigNoz's namespace by the namespaced Role the subchart gives it, while plinth's operator (0.25.0)
 * never watches that namespace. The CRDs are plinth's operator's, one version per cluster.
 */
export const signoz: Component = {
  id: "signoz",
  title: "SigNoz + OTel collector",
  phase: "3",
  step: "3.1",
  layer: "L2",
  scope: "environment",
  dependsOn: ["k3s"],
  stateful: true,
  namespace,
  objects: (env) => [
    ...(operatorFirst(env) ? [clickhouseOperatorChart(env)] : []),
    helmChart(env, "signoz", {
      name: `signoz-${env.name}`,
      chart: CHARTS.signoz,
      targetNamespace: namespace(env),
      stateful: true,
      timeout: "30m0s",
      values: {
        // The chart's ClickHouse takes global.storageClass before its own persistence.storageClass
        // (`default .Values.persistence.storageClass .Values.global.storageClass`), so only the
        // global one is set.
        global: { storageClass: STORAGE_CLASS },
        clickhouse: { persistence: { size: env.storage.signoz } },
        // plinth's own Ingresses (objects below): the UI behind the SSO gate, OTLP ingest open.
        signoz: { ingress: { enabled: false } },
        otelCollector: {
          ingress: { enabled: false },
          // The chart serves its health_check extension (13133) to the pod's probes only; on the
          // Service too, plinth's health check reaches it through the API server's service proxy.
          ports: {
            "health-check": { enabled: true, containerPort: 13133, servicePort: 13133, protocol: "TCP" },
          },
        },
      },
      valuesSecrets: [{ name: signozValuesSecret(env), keys: ["values.yaml"] }],
    }),
    ...publishHosts(env, {
      component: "signoz",
      scope: "environment",
      namespace: namespace(env),
      name: "signoz",
      routes: [
        { service: "signoz", backend: { name: `signoz-${env.name}`, port: 8080 } },
        { service: "otel-collector", backend: { name: `signoz-${env.name}-otel-collector`, port: 4318 } },
      ],
    }),
  ],
  secrets: (env) => [
    ...(operatorFirst(env) ? [clickhouseOperatorSecret()] : []),
    // Its first sign-up becomes the admin: plinth signs up first, as this account (owners.ts).
    ownerSecret(env, "signoz"),
    {
      name: signozValuesSecret(env),
      namespace: "kube-system",
      keys: {
        password: { length: 32, alphabet: "alphanumeric" },
        "values.yaml": {
          length: 0,
          alphabet: "alphanumeric",
          template: `clickhouse:\n  password: {${signozValuesSecret(env)}.password}\n`,
        },
      },
      consumers: ["signoz"],
    },
  ],
  health: (env) => [
    {
      kind: "http",
      service: `signoz-${env.name}`,
      namespace: namespace(env),
      port: 8080,
      path: "/api/v1/health",
    },
    {
      kind: "http",
      service: `signoz-${env.name}-otel-collector`,
      namespace: namespace(env),
      port: 13133,
      path: "/",
    },
  ],
  requests: (env) => ({
    memory: env.componentResources.signoz?.memory ?? "8Gi",
    cpu: env.componentResources.signoz?.cpu ?? "2",
  }),
};
