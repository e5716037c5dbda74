import type { ResolvedEnvironment } from "../../model/types.js";
import { publishHosts } from "../gate.js";
import { hostOf, labels, namespace, namespaceOf } from "../objects.js";
import type { Component, KubeObject } from "../types.js";
import { IMAGES, KUBERO_OPERATOR_MANIFEST } from "../versions.js";

const SECRET = "kubero-secrets";

function kuberoResource(env: ResolvedEnvironment): KubeObject {
  const ns = namespaceOf(env, "kubero", "kubero");
  const [repository, tag] = IMAGES.kubero.split(":");
  return {
    apiVersion: "application.kubero.dev/v1alpha1",
    kind: "Kubero",
    metadata: { name: "kubero", namespace: ns, labels: labels(env, "kubero") },
    spec: {
      replicaCount: 1,
      image: { repository, tag, pullPolicy: "IfNotPresent" },
      resources: { requests: { memory: "256Mi", cpu: "100m" } },
      // plinth's own Ingresses (kuberoIngresses): the UI behind the SSO gate, webhooks open.
      ingress: { enabled: false },
      kubero: {
        // Apps deployed through Kubero land in the environment's apps namespace (phase 999).
        namespace: ns,
        context: "inClusterContext",
        webhook_url: hostOf(env, "kubero-api")
          ? `https://${hostOf(env, "kubero-api")}/api/repo/webhooks`
          : "",
        auth: { github: { enabled: false } },
        config: { kubero: { namespace: env.namespaces.apps } },
      },
    },
  };
}

/** The UI (kcloud) and API (kapi) hosts, both served by Kubero's one server (`kubero:2000`). */
function kuberoIngresses(env: ResolvedEnvironment): KubeObject[] {
  const backend = { name: "kubero", port: 2000 };
  return publishHosts(env, {
    component: "kubero",
    scope: "environment",
    namespace: namespaceOf(env, "kubero", "kubero"),
    name: "kubero",
    routes: [
      { service: "kubero", backend },
      { service: "kubero-api", backend },
    ],
  });
}

/** Phase 1.2: Kubero, the PaaS (operator + `Kubero` resource + its secret) deploying apps into `apps`. */
export const kubero: Component = {
  id: "kubero",
  title: "Kubero (PaaS + UI)",
  phase: "1",
  step: "1.2",
  layer: "L4",
  scope: "environment",
  dependsOn: ["k3s"],
  stateful: false,
  namespace: (env) => namespaceOf(env, "kubero", "kubero"),
  // Apps deployed through Kubero (phase 999) land in the environment's apps namespace.
  objects: (env) => [
    namespace(env.namespaces.apps, labels(env, "kubero")),
    kuberoResource(env),
    ...kuberoIngresses(env),
  ],
  external: () => [
    {
      provider: "manifest",
      kind: "OperatorManifest",
      name: "kubero-operator",
      detail: `${KUBERO_OPERATOR_MANIFEST.url} (sha256 ${KUBERO_OPERATOR_MANIFEST.sha256}) with kube-rbac-proxy → ${IMAGES.kubeRbacProxy}`,
      source: {
        url: KUBERO_OPERATOR_MANIFEST.url,
        sha256: KUBERO_OPERATOR_MANIFEST.sha256,
        imageOverrides: [{ from: "gcr.io/kubebuilder/kube-rbac-proxy", to: IMAGES.kubeRbacProxy }],
      },
    },
  ],
  secrets: (env) => [
    {
      name: SECRET,
      namespace: namespaceOf(env, "kubero", "kubero"),
      keys: {
        KUBERO_WEBHOOK_SECRET: { length: 40, alphabet: "alphanumeric" },
        KUBERO_SESSION_KEY: { length: 64, alphabet: "hex" },
      },
      consumers: ["kubero"],
    },
  ],
  health: (env) => [
    {
      kind: "workload",
      objectKind: "Deployment",
      name: "kubero",
      namespace: namespaceOf(env, "kubero", "kubero"),
    },
    {
      kind: "http",
      service: "kubero",
      namespace: namespaceOf(env, "kubero", "kubero"),
      port: 2000,
      path: "/",
    },
  ],
  requests: () => ({ memory: "384Mi", cpu: "150m" }),
};
