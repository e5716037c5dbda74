import type { ResolvedEnvironment } from "../../model/types.js";
import { helmChart, hostOf, namespaceOf } from "../objects.js";
import { ownerSecretName } from "../postgres-cluster.js";
import type { Component } from "../types.js";
import { CHARTS, IMAGES } from "../versions.js";
import { platformPostgresOptions } from "./platform-postgres.js";

const STORAGE_SECRET = "vault-storage";

function vaultConfig(): string {
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
    "",
  ].join("\n");
}

function values(env: ResolvedEnvironment): Record<string, unknown> {
  const host = hostOf(env, "vault");
  const openbao = env.vaultEngine === "openbao";
  const storageEnv = openbao ? "BAO_PG_CONNECTION_URL" : "VAULT_PG_CONNECTION_URL";
  return {
    global: { enabled: true },
    injector: {
      enabled: true,
      resources: { requests: { memory: "64Mi", cpu: "50m" } },
    },
    server: {
      image: openbao ? IMAGES.openbao : IMAGES.vault,
      standalone: { enabled: true, config: vaultConfig() },
      ha: { enabled: false },
      dataStorage: { enabled: false },
      auditStorage: { enabled: false },
      extraSecretEnvironmentVars: [
        { envName: storageEnv, secretName: STORAGE_SECRET, secretKey: "connection_url" },
      ],
      resources: { requests: { memory: "256Mi", cpu: "100m" }, limits: { memory: "256Mi" } },
      ingress: host
        ? {
            enabled: true,
            ingressClassName: "traefik",
            pathType: "Prefix",
            hosts: [{ host, paths: [] }],
            tls: [{ hosts: [host] }],
          }
        : { enabled: false },
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
  ],
  secrets(env) {
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
    ];
  },
  health: (env) => [
    { kind: "vault", service: "vault", namespace: namespaceOf(env, "vault", "platform"), port: 8200 },
  ],
  requests: () => ({ memory: "320Mi", cpu: "150m" }),
};
