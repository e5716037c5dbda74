import type { ResolvedEnvironment } from "../../model/types.js";
import { memoryFor, namespaceOf } from "../objects.js";
import {
  type PostgresClusterOptions,
  postgresBackupObjects,
  postgresBackupSecrets,
  postgresCluster,
  postgresHealth,
  postgresSecret,
} from "../postgres-cluster.js";
import type { Component } from "../types.js";

export function businessPostgresOptions(env: ResolvedEnvironment): PostgresClusterOptions {
  return {
    component: "postgres",
    name: env.activeClusters?.["postgres"] ?? "postgres",
    base: "postgres",
    namespace: namespaceOf(env, "postgres", "data"),
    database: "app",
    owner: "app",
    storage: env.storage.postgres,
    memory: memoryFor(env, "postgres", { full: "1Gi", small: "256Mi" }),
    // Vault's database engine makes short-lived users as the owner. In every environment, so the
    // objects are the same with and without Vault (PostgreSQL 16+: it administers only those).
    ownerCreatesRoles: true,
    ...(env.backups ? { backups: env.backups } : {}),
  };
}

/** Phase 1.3: the business PostgreSQL in the environment's data namespace. */
export const postgres: Component = {
  id: "postgres",
  title: "Business PostgreSQL",
  phase: "1",
  step: "1.3",
  layer: "L3",
  scope: "environment",
  dependsOn: ["cnpg-operator"],
  stateful: true,
  namespace: (env) => businessPostgresOptions(env).namespace,
  objects: (env) => [
    postgresCluster(env, businessPostgresOptions(env)),
    ...postgresBackupObjects(env, businessPostgresOptions(env)),
  ],
  secrets: (env) => [
    postgresSecret(businessPostgresOptions(env), ["postgres", "apps", "openpanel"]),
    ...postgresBackupSecrets(businessPostgresOptions(env)),
  ],
  health: (env) => postgresHealth(businessPostgresOptions(env)),
  requests: (env) => ({ memory: businessPostgresOptions(env).memory, cpu: "100m" }),
};
