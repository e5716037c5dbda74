import type { ResolvedEnvironment } from "../../model/types.js";
import { helmChart, labels } from "../objects.js";
import type { Component, KubeObject } from "../types.js";
import { CHARTS } from "../versions.js";
import { VAULT_PORT, vaultService } from "./vault.js";

/** The operator's own namespace (like cert-manager's): one operator serves the whole cluster. */
export const VSO_NAMESPACE = "vault-secrets-operator";
/** The one VaultConnection every VaultAuth of the cluster refers to (`<namespace>/<name>`). */
export const VAULT_CONNECTION = "vault";

/** Where the operator reaches Vault: its Service inside the cluster (TLS ends at the ingress). */
function connection(env: ResolvedEnvironment): KubeObject {
  const service = vaultService(env);
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultConnection",
    metadata: {
      name: VAULT_CONNECTION,
      namespace: VSO_NAMESPACE,
      labels: labels(env, "vault-secrets-operator"),
    },
    spec: {
      address: `http://${service.name}.${service.namespace}.svc:${VAULT_PORT}`,
      skipTLSVerify: false,
    },
  };
}

/**
 * Phase 0.7: the Vault Secrets Operator, which copies each component's KV secret into the
 * Kubernetes Secret its chart already names (existingSecret, valuesSecrets, secretKeyRef); the
 * charts cannot read the Agent Injector's files. Works against OpenBao too: it only logs in with
 * kubernetes auth and reads KV v2. The per-secret objects belong to their components
 * (src/catalog/vault-delivery.ts).
 */
export const vaultSecretsOperator: Component = {
  id: "vault-secrets-operator",
  title: "Vault Secrets Operator",
  phase: "0",
  step: "0.7",
  layer: "L2",
  scope: "cluster",
  dependsOn: ["vault"],
  stateful: false,
  namespace: () => VSO_NAMESPACE,
  objects: (env) => [
    helmChart(env, "vault-secrets-operator", {
      name: "vault-secrets-operator",
      chart: CHARTS.vaultSecretsOperator,
      targetNamespace: VSO_NAMESPACE,
      stateful: false,
      values: {
        controller: {
          manager: {
            // Only the keys a chart reads: no `_raw` copy of the whole KV response in every Secret.
            globalTransformationOptions: { excludeRaw: true },
            resources: { requests: { memory: "48Mi", cpu: "10m" }, limits: { memory: "128Mi" } },
          },
          // It only fronts the metrics port: sized down from the chart's 64Mi so the operator
          // fits the 16 GiB staging budget beside SigNoz's 8 GiB.
          kubeRbacProxy: {
            resources: { requests: { memory: "16Mi", cpu: "5m" }, limits: { memory: "64Mi" } },
          },
        },
      },
    }),
    connection(env),
  ],
  secrets: () => [],
  health: () => [
    {
      kind: "workload",
      objectKind: "Deployment",
      name: "vault-secrets-operator-controller-manager",
      namespace: VSO_NAMESPACE,
    },
  ],
  requests: () => ({ memory: "64Mi", cpu: "15m" }),
};
