import { TOKEN_PERMISSIONS } from "../cloudflare.js";
import { clusterAcmeEmail, clusterZones } from "../cluster.js";
import { helmChart, labels, WILDCARD_TLS_SECRET } from "../objects.js";
import type { Component } from "../types.js";
import { CHARTS } from "../versions.js";

const NAMESPACE = "cert-manager";
export const CLUSTER_ISSUER = "plinth-letsencrypt-dns01";
/** Cloudflare API token for DNS-01, written by plinth from the operator's environment at apply. */
export const CLOUDFLARE_TOKEN_SECRET = "cloudflare-api-token";

/**
 * Phase 0.3: cert-manager with a Cloudflare DNS-01 ClusterIssuer and one wildcard certificate. Both
 * are one per cluster: they cover the zones of every environment of the cluster (clusterZones), so
 * environments with other zones on one VPS each keep their TLS whichever applied last.
 */
export const certManager: Component = {
  id: "cert-manager",
  title: "cert-manager",
  phase: "0",
  step: "0.3",
  layer: "L1",
  scope: "cluster",
  dependsOn: ["k3s"],
  stateful: false,
  namespace: () => NAMESPACE,
  objects(env) {
    const l = labels(env, "cert-manager");
    const zones = clusterZones(env);
    const dnsNames = zones.flatMap((z) => [z, `*.${z}`]);
    const email = clusterAcmeEmail(env);
    return [
      helmChart(env, "cert-manager", {
        name: "cert-manager",
        chart: CHARTS.certManager,
        targetNamespace: NAMESPACE,
        stateful: false,
        values: {
          crds: { enabled: true, keep: true },
          resources: { requests: { memory: "64Mi", cpu: "10m" } },
          webhook: { resources: { requests: { memory: "32Mi", cpu: "10m" } } },
          cainjector: { resources: { requests: { memory: "64Mi", cpu: "10m" } } },
          // DNS-01 self-checks must ask public resolvers, not the cluster's view of the zone.
          dns01RecursiveNameserversOnly: true,
          dns01RecursiveNameservers: "1.1.1.1:53,1.0.0.1:53",
        },
      }),
      {
        apiVersion: "cert-manager.io/v1",
        kind: "ClusterIssuer",
        metadata: { name: CLUSTER_ISSUER, labels: l },
        spec: {
          acme: {
            server: "https://acme-v02.api.letsencrypt.org/directory",
            ...(email ? { email } : {}),
            privateKeySecretRef: { name: "plinth-letsencrypt-account" },
            solvers: [
              {
                dns01: {
                  cloudflare: { apiTokenSecretRef: { name: CLOUDFLARE_TOKEN_SECRET, key: "api-token" } },
                },
                selector: { dnsZones: zones },
              },
            ],
          },
        },
      },
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: "plinth-wildcard", namespace: "kube-system", labels: l },
        spec: {
          secretName: WILDCARD_TLS_SECRET,
          issuerRef: { kind: "ClusterIssuer", name: CLUSTER_ISSUER },
          dnsNames,
          privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
        },
      },
    ];
  },
  secrets: (env) =>
    clusterZones(env).length === 0
      ? []
      : [
          {
            name: CLOUDFLARE_TOKEN_SECRET,
            namespace: NAMESPACE,
            keys: {
              "api-token": {
                length: 0,
                alphabet: "alphanumeric",
                fromEnv: {
                  variable: "CLOUDFLARE_API_TOKEN",
                  what: `a Cloudflare API token with ${TOKEN_PERMISSIONS} on ${clusterZones(env).join(", ")}`,
                },
              },
            },
            consumers: [`ClusterIssuer ${CLUSTER_ISSUER}`],
          },
        ],
  health: () => [
    { kind: "workload", objectKind: "Deployment", name: "cert-manager-webhook", namespace: NAMESPACE },
    {
      kind: "condition",
      apiVersion: "cert-manager.io/v1",
      objectKind: "Certificate",
      name: "plinth-wildcard",
      namespace: "kube-system",
      condition: "Ready",
    },
  ],
  // What the scheduler reserves: the sum of the three Deployments' requests in the values above
  // (was 192Mi/50m, more than they ask). The chart's startupapicheck Job requests nothing and is
  // gone once the install is checked.
  requests: () => ({ memory: "160Mi", cpu: "30m" }),
};
