import type { ResolvedEnvironment } from "../../model/types.js";
import { publishHosts } from "../gate.js";
import { helmChart, namespaceOf } from "../objects.js";
import { ownerSecretName } from "../postgres-cluster.js";
import type { Component, SecretSpec } from "../types.js";
import { auditDeviceHcl } from "../vault-hcl.js";
import { CHARTS, IMAGES } from "../versions.js";
import { platformPostgresOptions } from "./platform-postgres.js";

const STORAGE_SECRET = "vault-storage";
/** OpenBao's static seal key (`vault.unseal: "static"`): 32 CSPRNG bytes, hex, in a Secret beside it. */
export const UNSEAL_KEY_SECRET = "vault-unseal-key";
const UNSEAL_KEY_ENV = "BAO_STATIC_UNSEAL_KEY";
/** Vault's audit device, declared in the server config (OpenBao refuses it through the API). */
const AUDIT = { path: "plinth", filePath: "stdout" } as const;
/** The HTTP API port of the server Service. */
export const VAULT_PORT = 8200;

/**
 * The server's Service: the release is named `vault` for both engines, and the OpenBao chart
 * appends its chart name to a release name that does not contain it.
 */
export function vaultService(env: ResolvedEnvironment): { name: string; namespace: string } {
  return {
    name: env.vaultEngine === "openbao" ? "vault-openbao" : "vault",
    namespace: namespaceOf(env, "vault", "platform"),
  };
}

/**
 * The server config. OpenBao gets its audit device here (to stdout: the kubelet rotates it with the
 * pod's log and the collector ships it; a file would need a volume and its own rotation), and with
 * `unseal: "static"` the seal stanza whose key comes from the Secret through the environment.
 */
export function vaultConfig(env: ResolvedEnvironment): string {
  const openbao = env.vaultEngine === "openbao";
  // The storage connection URL comes from the environment (VAULT_PG_CONNECTION_URL), never from values.
  return [
    "ui = true",
    'listener "tcp" {',
    '  address = "[::]:8200"',
    '  cluster_address = "[::]:8201"',
    "  tls_disable = 1",
    "}",
    'storage "postgresql" {',
    '  ha_enabled = "false"',
    "}",
    ...(openbao ? [auditDeviceHcl(AUDIT.path, AUDIT.filePath).trimEnd()] : []),
    ...(openbao && env.vaultUnseal === "static"
      ? ['seal "static" {', '  current_key_id = "plinth-1"', `  current_key = "env://${UNSEAL_KEY_ENV}"`, "}"]
      : []),
    "",
  ].join("\n");
}

function values(env: ResolvedEnvironment): Record<string, unknown> {
  const openbao = env.vaultEngine === "openbao";
  const storageEnv = openbao ? "BAO_PG_CONNECTION_URL" : "VAULT_PG_CONNECTION_URL";
  return {
    global: { enabled: true },
    // Workloads get their secrets from the Vault Secrets Operator as Kubernetes Secrets (the charts
    // read nothing else): no injector webhook in the path of every pod creation.
    injector: { enabled: false },
    server: {
      image: openbao ? IMAGES.openbao : IMAGES.vault,
      standalone: { enabled: true, config: vaultConfig(env) },
      // Ready while sealed or empty: plinth initializes and unseals it only once it is reachable.
      readinessProbe: {
        enabled: true,
        path: "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204",
      },
      ha: { enabled: false },
      dataStorage: { enabled: false },
      auditStorage: { enabled: false },
      extraSecretEnvironmentVars: [
        { envName: storageEnv, secretName: STORAGE_SECRET, secretKey: "connection_url" },
        ...(openbao && env.vaultUnseal === "static"
          ? [{ envName: UNSEAL_KEY_ENV, secretName: UNSEAL_KEY_SECRET, secretKey: "key" }]
          : []),
      ],
      resources: { requests: { memory: "256Mi", cpu: "100m" }, limits: { memory: "256Mi" } },
      // plinth's own Ingresses (objects below): `/ui` behind the SSO gate, the `/v1` API open.
      ingress: { enabled: false },
    },
    ui: { enabled: true },
  };
}

/** Phase 0.6: Vault (or OpenBao) in the platform namespace, storing into the platform PostgreSQL. */
export const vault: Component = {
  id: "vault",
  title: "Vault",
  phase: "0",
  step: "0.6",
  layer: "L2",
  scope: "cluster",
  dependsOn: ["platform-postgres"],
  stateful: true,
  namespace: (env) => namespaceOf(env, "vault", "platform"),
  objects: (env) => [
    helmChart(env, "vault", {
      name: "vault",
      chart: env.vaultEngine === "openbao" ? CHARTS.openbao : CHARTS.vault,
      targetNamespace: namespaceOf(env, "vault", "platform"),
      stateful: true,
      values: values(env),
    }),
    // One Vault per cluster, so one host: the primary environment's (see clusterHost).
    ...publishHosts(env, {
      component: "vault",
      scope: "cluster",
      namespace: namespaceOf(env, "vault", "platform"),
      name: "vault",
      routes: [{ service: "vault", backend: { name: vaultService(env).name, port: VAULT_PORT } }],
    }),
  ],
  secrets(env): SecretSpec[] {
    const pg = platformPostgresOptions(env);
    const owner = ownerSecretName(pg);
    return [
      {
        name: STORAGE_SECRET,
        namespace: namespaceOf(env, "vault", "platform"),
        keys: {
          connection_url: {
            length: 0,
            alphabet: "alphanumeric",
            template: `postgresql://${pg.owner}:{${owner}.password}@${pg.name}-rw.${pg.namespace}.svc:5432/${pg.database}?sslmode=require`,
          },
        },
        consumers: ["vault"],
      },
      ...(env.vaultEngine === "openbao" && env.vaultUnseal === "static"
        ? [
            {
              name: UNSEAL_KEY_SECRET,
              namespace: namespaceOf(env, "vault", "platform"),
              // 32 bytes for OpenBao's AES-256-GCM seal, hex-encoded (the static seal reads hex).
              keys: { key: { length: 64, alphabet: "hex" as const } },
              consumers: ["vault"],
            },
          ]
        : []),
    ];
  },
  health: (env) => {
    const service = vaultService(env);
    return [{ kind: "vault", service: service.name, namespace: service.namespace, port: VAULT_PORT }];
  },
  requests: () => ({ memory: "256Mi", cpu: "100m" }),
};
