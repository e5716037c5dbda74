import type { ResolvedEnvironment } from "../../model/types.js";
import { dumpObjects, dumpSecrets } from "../backup-jobs.js";
import { runsHere } from "../cluster.js";
import { publishHosts } from "../gate.js";
import { helmChart, STORAGE_CLASS } from "../objects.js";
import { ownerSecret } from "../owners.js";
import type { Component } from "../types.js";
import { CHARTS } from "../versions.js";
import { clickhouseCrdCheck, clickhouseOperatorChart, clickhouseOperatorSecret } from "./clickhouse.js";
import {
  externalClickhouseValues,
  SIGNOZ_CH_HOST,
  signozClickhouseObjects,
  signozClickhouseSecret,
  signozDumpTarget,
  signozNamespace,
} from "./signoz-clickhouse.js";

/**
 * Where this environment runs no ClickHouse of its own, SigNoz renders plinth's operator chart
 * itself, before its ClickHouse: the operator that reconciles it and the cluster's one source of
 * the ClickHouse CRDs (see clickhouse.ts). Otherwise the clickhouse component, which SigNoz
 * depends on, has applied it.
 */
function operatorFirst(env: ResolvedEnvironment): boolean {
  return !runsHere(env, "clickhouse");
}

const namespace = signozNamespace;

/**
 * Phase 3.1: SigNoz with its OTel collector, on a ClickHouse and Keeper that plinth renders in
 * SigNoz's namespace and plinth's one operator per cluster reconciles (signoz-clickhouse.ts): the
 * chart's ClickHouse subchart, which always brings an operator of its own (0.21.2) and its CRDs,
 * is off. Its documented minimum is 8 GB / 4 cores, which the capacity check enforces. Its
 * ClickHouse password is generated per environment and read from a Secret, never from values.
 */
export const signoz: Component = {
  id: "signoz",
  title: "SigNoz + OTel collector",
  phase: "3",
  step: "3.1",
  layer: "L2",
  scope: "environment",
  // The clickhouse component holds the operator chart where it is on: SigNoz's installations wait for it.
  dependsOn: ["k3s", "clickhouse"],
  stateful: true,
  namespace,
  objects: (env) => [
    ...(operatorFirst(env) ? [clickhouseOperatorChart(env)] : []),
    ...signozClickhouseObjects(env, namespace(env)),
    ...dumpObjects(env, signozDumpTarget(env)),
    helmChart(env, "signoz", {
      name: `signoz-${env.name}`,
      chart: CHARTS.signoz,
      targetNamespace: namespace(env),
      stateful: true,
      timeout: "30m0s",
      values: {
        // SigNoz's own volume takes global.storageClass before signoz.persistence.storageClass
        // (templates/signoz/statefulset.yaml at SigNoz/charts 1ef0ffb, tag signoz-0.130.1).
        global: { storageClass: STORAGE_CLASS },
        // The subchart's condition (Chart.yaml): no bundled ClickHouse, ZooKeeper or operator.
        clickhouse: { enabled: false },
        externalClickhouse: externalClickhouseValues(),
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
    signozClickhouseSecret(namespace(env)),
    ...dumpSecrets(signozDumpTarget(env)),
  ],
  health: (env) => [
    ...(operatorFirst(env) ? [clickhouseCrdCheck()] : []),
    {
      kind: "http",
      service: SIGNOZ_CH_HOST,
      namespace: namespace(env),
      port: 8123,
      path: "/ping",
      expect: "Ok.",
    },
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
