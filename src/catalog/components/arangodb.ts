import type { ResolvedEnvironment } from "../../model/types.js";
import { type DumpTarget, dumpObjects, dumpSecrets } from "../backup-jobs.js";
import { helmChart, labels, memoryFor, namespaceOf, STORAGE_CLASS } from "../objects.js";
import type { Component, SecretSpec } from "../types.js";
import { CHARTS, IMAGES } from "../versions.js";

const OPERATOR_NAMESPACE = "arangodb-operator";
const ROOT_SECRET = "arangodb-root";
const JWT_SECRET = "arangodb-jwt";

function memory(env: ResolvedEnvironment): string {
  return memoryFor(env, "arangodb", { full: "1Gi", small: "512Mi" });
}

/** With backups, a nightly arangodump of every database (hot backups are Enterprise-only). */
export function arangodbDumpTarget(env: ResolvedEnvironment): DumpTarget | undefined {
  if (!env.backups) return undefined;
  return {
    component: "arangodb",
    kind: "arangodb",
    name: "arangodb",
    namespace: namespaceOf(env, "arangodb", "data"),
    host: "arangodb",
    port: 8529,
    password: { secret: ROOT_SECRET, key: "password" },
    image: IMAGES.arangodb,
    backups: env.backups,
  };
}

/**
 * Phase 2.1: ArangoDB in Single mode (the operator's default is a 9-pod cluster), with the root
 * password set from a generated secret (left empty otherwise).
 */
export const arangodb: Component = {
  id: "arangodb",
  title: "ArangoDB",
  phase: "2",
  step: "2.1",
  layer: "L3",
  scope: "environment",
  dependsOn: ["k3s"],
  stateful: true,
  namespace: (env) => namespaceOf(env, "arangodb", "data"),
  objects(env) {
    const ns = namespaceOf(env, "arangodb", "data");
    return [
      helmChart(env, "arangodb", {
        name: "arangodb-operator",
        chart: CHARTS.kubeArangodb,
        targetNamespace: OPERATOR_NAMESPACE,
        stateful: false,
        values: {
          operator: {
            resources: { requests: { memory: "128Mi", cpu: "50m" } },
            features: { deployment: true, deploymentReplications: false, storage: false, backup: false },
          },
        },
      }),
      {
        apiVersion: "database.arangodb.com/v1",
        kind: "ArangoDeployment",
        metadata: { name: "arangodb", namespace: ns, labels: labels(env, "arangodb") },
        spec: {
          mode: "Single",
          image: IMAGES.arangodb,
          environment: env.kind === "prod" ? "Production" : "Development",
          // Traefik terminates TLS at the edge; in-cluster traffic stays on the pod network.
          tls: { caSecretName: "None" },
          // The operator's `-ea` Service defaults to a LoadBalancer, which k3s's ServiceLB would
          // publish on the VPS's public address: the database stays inside the cluster.
          externalAccess: { type: "None" },
          auth: { jwtSecretName: JWT_SECRET },
          bootstrap: { passwordSecretNames: { root: ROOT_SECRET } },
          single: {
            resources: { requests: { memory: memory(env), cpu: "100m", storage: env.storage.arangodb } },
            storageClassName: STORAGE_CLASS,
          },
        },
      },
      ...dumpObjects(env, arangodbDumpTarget(env)),
    ];
  },
  secrets: (env): SecretSpec[] => {
    const ns = namespaceOf(env, "arangodb", "data");
    return [
      {
        name: ROOT_SECRET,
        namespace: ns,
        type: "Opaque",
        keys: {
          username: { length: 0, alphabet: "alphanumeric", fixed: "root" },
          password: { length: 32, alphabet: "alphanumeric" },
        },
        consumers: ["arangodb", "apps"],
      },
      {
        name: JWT_SECRET,
        namespace: ns,
        keys: { token: { length: 64, alphabet: "hex" } },
        consumers: ["arangodb"],
      },
      ...dumpSecrets(arangodbDumpTarget(env)),
    ];
  },
  health: (env) => [
    {
      kind: "http",
      service: "arangodb",
      namespace: namespaceOf(env, "arangodb", "data"),
      port: 8529,
      path: "/_admin/server/availability",
    },
  ],
  requests: (env) => ({ memory: memory(env), cpu: "150m" }),
};
