import type { ResolvedEnvironment } from "../../model/types.js";
import { type DumpTarget, dumpObjects, dumpSecrets } from "../backup-jobs.js";
import { clusterEnvironments, runsHere } from "../cluster.js";
import { helmChart, labels, memoryFor, namespaceOf, retainedDataClaim } from "../objects.js";
import type { Component, HealthCheck, KubeObject, SecretSpec } from "../types.js";
import { CHARTS, IMAGES } from "../versions.js";
import { signozNamespace } from "./signoz-clickhouse.js";

const OPERATOR_NAMESPACE = "clickhouse-operator";
export const CLICKHOUSE_SECRET = "clickhouse-users";
/** The operator's own login to each installation (the chart's default is a published password). */
export const OPERATOR_SECRET = "clickhouse-operator-credentials";

function memory(env: ResolvedEnvironment): string {
  return memoryFor(env, "clickhouse", { full: "2Gi", small: "1Gi" });
}

export function clickhouseNamespace(env: ResolvedEnvironment): string {
  return namespaceOf(env, "clickhouse", "data");
}

/**
 * The Altinity operator (0.25.0), the cluster's only one: it watches, whichever environment renders
 * it, the data namespace of every environment of the cluster that runs ClickHouse and the
 * namespace of every SigNoz (whose ClickHouse and Keeper plinth renders; SigNoz's chart brings no
 * operator of its own any more). Its chart is the cluster's one source of the
 * `clickhouse.altinity.com` and `clickhouse-keeper.altinity.com` CRDs, applied before any SigNoz
 * (SigNoz depends on this component, or renders the chart itself where ClickHouse is off).
 */
export function clickhouseOperatorChart(env: ResolvedEnvironment): KubeObject {
  const peers = clusterEnvironments(env);
  const watched = [
    ...peers.filter((e) => runsHere(e, "clickhouse")).map(clickhouseNamespace),
    ...peers.filter((e) => runsHere(e, "signoz")).map(signozNamespace),
  ];
  // An empty list would mean every namespace: with no ClickHouse on the cluster (never the case
  // while the chart is rendered by SigNoz or ClickHouse), it watches its own, empty namespace.
  const namespaces = watched.length > 0 ? [...new Set(watched)].sort() : [OPERATOR_NAMESPACE];
  return helmChart(env, "clickhouse", {
    name: "clickhouse-operator",
    chart: CHARTS.clickhouseOperator,
    targetNamespace: OPERATOR_NAMESPACE,
    stateful: false,
    values: {
      operator: { resources: { requests: { memory: "64Mi", cpu: "50m" } } },
      secret: { create: false },
      configs: {
        files: {
          "config.yaml": {
            watch: { namespaces },
            clickhouse: { access: { secret: { namespace: OPERATOR_NAMESPACE, name: OPERATOR_SECRET } } },
          },
        },
      },
    },
  });
}

/**
 * Helm installs a chart's CRDs only where they are absent and never upgrades them: on a cluster
 * where an older plinth let SigNoz's chart install its operator's 0.21.2 copy first, plinth's
 * operator chart leaves that copy in place. The CRD's own version label says which one the cluster
 * serves; `plinth status` fails this check until it is the pinned operator's (README: pins).
 */
export function clickhouseCrdCheck(): Extract<HealthCheck, { kind: "status" }> {
  return {
    kind: "status",
    apiVersion: "apiextensions.k8s.io/v1",
    objectKind: "CustomResourceDefinition",
    name: "clickhouseinstallations.clickhouse.altinity.com",
    field: "metadata.labels.clickhouse\\.altinity\\.com/chop",
    equals: CHARTS.clickhouseOperator.version,
  };
}

/**
 * The operator's login, one Secret per cluster beside it. Every environment that renders the
 * operator renders this same spec, and it never goes through Vault (see CLUSTER_SECRETS in
 * vault-layout.ts): the first environment writes it, the others find it complete and leave it.
 */
export function clickhouseOperatorSecret(): SecretSpec {
  return {
    name: OPERATOR_SECRET,
    namespace: OPERATOR_NAMESPACE,
    keys: {
      username: { length: 0, alphabet: "alphanumeric", fixed: "clickhouse_operator" },
      password: { length: 32, alphabet: "alphanumeric" },
    },
    consumers: ["clickhouse"],
  };
}

/** With backups, ClickHouse's own BACKUP of every database to the bucket, nightly, as the app user. */
export function clickhouseDumpTarget(env: ResolvedEnvironment): DumpTarget | undefined {
  if (!env.backups) return undefined;
  return {
    component: "clickhouse",
    kind: "clickhouse",
    name: "clickhouse",
    namespace: clickhouseNamespace(env),
    host: "clickhouse-clickhouse",
    port: 9000,
    user: "app",
    password: { secret: CLICKHOUSE_SECRET, key: "app" },
    image: IMAGES.clickhouse,
    backups: env.backups,
  };
}

/** Phase 2.3: ClickHouse through the Altinity operator and a one-replica `ClickHouseInstallation`. */
export const clickhouse: Component = {
  id: "clickhouse",
  title: "ClickHouse",
  phase: "2",
  step: "2.3",
  layer: "L3",
  scope: "environment",
  dependsOn: ["k3s"],
  stateful: true,
  namespace: clickhouseNamespace,
  objects(env) {
    const ns = clickhouseNamespace(env);
    return [
      clickhouseOperatorChart(env),
      {
        apiVersion: "clickhouse.altinity.com/v1",
        kind: "ClickHouseInstallation",
        metadata: { name: "clickhouse", namespace: ns, labels: labels(env, "clickhouse") },
        spec: {
          defaults: { templates: { podTemplate: "clickhouse", dataVolumeClaimTemplate: "data" } },
          configuration: {
            users: {
              // Passwords are read by the operator from the generated Secret, never written here.
              "app/k8s_secret_password": `${ns}/${CLICKHOUSE_SECRET}/app`,
              "app/networks/ip": ["::/0"],
              "openpanel/k8s_secret_password": `${ns}/${CLICKHOUSE_SECRET}/openpanel`,
              "openpanel/networks/ip": ["::/0"],
            },
            clusters: [{ name: "default", layout: { shardsCount: 1, replicasCount: 1 } }],
          },
          templates: {
            podTemplates: [
              {
                name: "clickhouse",
                spec: {
                  containers: [
                    {
                      name: "clickhouse",
                      image: IMAGES.clickhouse,
                      resources: {
                        requests: { memory: memory(env), cpu: "200m" },
                        limits: { memory: memory(env) },
                      },
                    },
                  ],
                },
              },
            ],
            volumeClaimTemplates: [retainedDataClaim(env.storage.clickhouse)],
          },
        },
      },
      ...dumpObjects(env, clickhouseDumpTarget(env)),
    ];
  },
  secrets: (env): SecretSpec[] => [
    {
      name: CLICKHOUSE_SECRET,
      namespace: clickhouseNamespace(env),
      keys: {
        app: { length: 32, alphabet: "alphanumeric" },
        openpanel: { length: 32, alphabet: "alphanumeric" },
      },
      consumers: ["clickhouse", "openpanel", "apps"],
    },
    clickhouseOperatorSecret(),
    ...dumpSecrets(clickhouseDumpTarget(env)),
  ],
  health: (env) => [
    clickhouseCrdCheck(),
    {
      kind: "status",
      apiVersion: "clickhouse.altinity.com/v1",
      objectKind: "ClickHouseInstallation",
      name: "clickhouse",
      namespace: clickhouseNamespace(env),
      field: "status.status",
      equals: "Completed",
    },
    {
      kind: "http",
      service: "clickhouse-clickhouse",
      namespace: clickhouseNamespace(env),
      port: 8123,
      path: "/ping",
      expect: "Ok.",
    },
  ],
  requests: (env) => ({ memory: memory(env), cpu: "250m" }),
};
