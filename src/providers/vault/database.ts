import { businessPostgresOptions } from "../../catalog/components/postgres.js";
import { databaseMount, MANAGED_BY, type SecretEntry, type VaultLayout } from "../../catalog/vault-layout.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import type { VaultResource } from "./spec.js";

/** Where Vault reaches the business PostgreSQL; defaults to its in-cluster service. */
export interface DatabaseTarget {
  host: string;
  port: number;
  database: string;
  sslmode: "require" | "verify-full" | "disable";
}

export const DATABASE_ROLES = ["readonly", "readwrite"] as const;
export const CONNECTION = "postgres";
/**
 * Custom metadata on the owner's KV secret: the version whose password Vault's connection was
 * given. Vault never returns that password, so a rotation is seen by this version moving on.
 */
export const CONNECTION_VERSION = "database-connection-version";

const GRANTS: Record<(typeof DATABASE_ROLES)[number], string[]> = {
  readonly: ['GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";'],
  readwrite: [
    'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{{name}}";',
    'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{{name}}";',
  ],
};

/**
 * The database secrets engine for the environment's business PostgreSQL: a mount of its own
 * (`database/<env>`), one connection (Vault logs in as the database owner, with the generated
 * password read from KV at apply), and `readonly`/`readwrite` roles handing out short-lived users.
 * Only for an in-cluster PostgreSQL whose owner secret plinth generates into Vault.
 */
export function databaseResources(
  env: ResolvedEnvironment,
  layout: VaultLayout,
  entries: SecretEntry[],
  target?: DatabaseTarget,
): VaultResource[] {
  const pg = businessPostgresOptions(env);
  const owner = entries.find((e) => e.component === "postgres" && e.spec.keys.password);
  const username = owner?.spec.keys.username?.fixed;
  if (!owner || !username) return [];
  const mount = databaseMount(layout, env.name);
  const t = target ?? {
    host: `${pg.name}-rw.${pg.namespace}.svc`,
    port: 5432,
    database: pg.database,
    sslmode: "require",
  };
  const base = { provider: "vault", component: "postgres" as const };
  const out: VaultResource[] = [
    {
      ...base,
      id: `vault:mount:${mount}`,
      spec: {
        kind: "mount",
        path: mount,
        type: "database",
        description: `${MANAGED_BY}: database credentials for ${env.name}`,
      },
    },
    {
      ...base,
      id: `vault:db-connection:${mount}/${CONNECTION}`,
      spec: {
        kind: "db-connection",
        mount,
        name: CONNECTION,
        plugin: "postgresql-database-plugin",
        connectionUrl: `postgresql://{{username}}:{{password}}@${t.host}:${t.port}/${t.database}?sslmode=${t.sslmode}`,
        username,
        allowedRoles: [...DATABASE_ROLES],
        passwordFrom: { mount: layout.mount, path: owner.path, key: "password" },
      },
    },
  ];
  for (const role of DATABASE_ROLES) {
    out.push({
      ...base,
      id: `vault:db-role:${mount}/${role}`,
      spec: {
        kind: "db-role",
        mount,
        name: role,
        dbName: CONNECTION,
        creationStatements: [
          `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
          `GRANT CONNECT ON DATABASE "${t.database}" TO "{{name}}";`,
          'GRANT USAGE ON SCHEMA public TO "{{name}}";',
          ...GRANTS[role],
        ],
        // Everything granted is taken back first: a role still holding privileges cannot be dropped.
        revocationStatements: [
          'REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM "{{name}}";',
          'REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM "{{name}}";',
          'REVOKE USAGE ON SCHEMA public FROM "{{name}}";',
          `REVOKE CONNECT ON DATABASE "${t.database}" FROM "{{name}}";`,
          'DROP ROLE IF EXISTS "{{name}}";',
        ],
        defaultTtlSeconds: 3600,
        maxTtlSeconds: 86_400,
      },
    });
  }
  return out;
}
