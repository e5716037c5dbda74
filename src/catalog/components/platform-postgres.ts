import type { ResolvedEnvironment } from "../../model/types.js";
import { clusterBackups } from "../backups.js";
import { namespaceOf } from "../objects.js";
import {
  type PostgresClusterOptions,
  postgresBackupObjects,
  postgresBackupSecrets,
  postgresCluster,
  postgresHealth,
  postgresSecret,
} from "../postgres-cluster.js";
import type { Component } from "../types.js";

/**
 * HashiCorp Vault's storage table, created in the `vault` database (not in `postgres`, where
 * postInitSQL runs): Vault never creates it. OpenBao's default table is `openbao_kv_store`, which it
 * creates itself as the database's owner, so for OpenBao this one stays empty; the table is left
 * at OpenBao's default, since naming another would hide an existing environment's data.
 */
export const VAULT_TABLE = [
  'CREATE TABLE IF NOT EXISTS vault_kv_store (parent_path TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C", key TEXT COLLATE "C", value BYTEA, CONSTRAINT pkey PRIMARY KEY (path, key))',
  "CREATE INDEX IF NOT EXISTS parent_path_idx ON vault_kv_store (parent_path)",
  'CREATE TABLE IF NOT EXISTS vault_ha_locks (ha_key TEXT COLLATE "C" NOT NULL, ha_identity TEXT COLLATE "C" NOT NULL, ha_value TEXT COLLATE "C", valid_until TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT ha_key PRIMARY KEY (ha_key))',
];

export function platformPostgresOptions(env: ResolvedEnvironment): PostgresClusterOptions {
  return {
    component: "platform-postgres",
    name: env.activeClusters?.["platform-postgres"] ?? "platform-postgres",
    base: "platform-postgres",
    namespace: namespaceOf(env, "platform-postgres", "platform"),
    database: "vault",
    owner: "vault",
    storage: env.storage.platformPostgres,
    memory: env.componentResources["platform-postgres"]?.memory ?? "256Mi",
    postInitApplicationSQL: VAULT_TABLE,
    ...(clusterBackups(env) ? { backups: clusterBackups(env) } : {}),
  };
}

/** Phase 0.5: the platform PostgreSQL that holds Vault's storage, separate from the business database. */
export const platformPostgres: Component = {
  id: "platform-postgres",
  title: "Platform PostgreSQL",
  phase: "0",
  step: "0.5",
  layer: "L1",
  scope: "cluster",
  dependsOn: ["cnpg-operator"],
  stateful: true,
  namespace: (env) => platformPostgresOptions(env).namespace,
  objects: (env) => [
    postgresCluster(env, platformPostgresOptions(env)),
    ...postgresBackupObjects(env, platformPostgresOptions(env)),
  ],
  // Chicken and egg: this secret exists before Vault does, so it starts as a Kubernetes Secret.
  secrets: (env) => [
    postgresSecret(platformPostgresOptions(env), ["platform-postgres", "vault"]),
    ...postgresBackupSecrets(platformPostgresOptions(env)),
  ],
  health: (env) => postgresHealth(platformPostgresOptions(env)),
  requests: (env) => ({ memory: platformPostgresOptions(env).memory, cpu: "100m" }),
};
