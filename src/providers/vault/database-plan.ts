import { DEFAULT_LAYOUT, databaseMount, MANAGED_BY, type VaultLayout } from "../../catalog/vault-layout.js";
import type { ChangeAction, FieldDiff, ProviderContext } from "../types.js";
import type { VaultClient } from "./client.js";
import { CONNECTION_VERSION } from "./database.js";
import { readMetadata } from "./kv.js";
import type { VaultChange, VaultResource, VaultSpec } from "./spec.js";

type DbSpec = Extract<VaultSpec, { kind: "db-connection" | "db-role" }>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A connection or role against what Vault holds. The connection's password is write-only in
 * Vault and never shown: it is set from KV at apply, and set again when the owner's KV secret has
 * moved past the version recorded as handed over (a rotation).
 */
export async function planDatabase(
  client: VaultClient,
  spec: DbSpec,
): Promise<{ action: ChangeAction; diff: FieldDiff[] }> {
  if (spec.kind === "db-connection") {
    const from = spec.passwordFrom;
    const [live, source] = await Promise.all([
      client.read<{
        data: {
          plugin_name?: string;
          connection_details?: { connection_url?: string; username?: string };
          allowed_roles?: string[];
        };
      }>(`${spec.mount}/config/${spec.name}`),
      readMetadata(client, from.mount, from.path),
    ]);
    if (!live) {
      return {
        action: "create",
        diff: [
          { path: "connection_url", after: spec.connectionUrl },
          { path: "username", after: spec.username },
          {
            path: "password",
            after: `(from ${from.mount}/${from.path})`,
            secret: true,
          },
        ],
      };
    }
    const l = live.data;
    const diff: FieldDiff[] = [];
    const cmp = (path: string, before: unknown, after: unknown) => {
      if (!same(before, after)) diff.push({ path, before, after });
    };
    cmp("plugin_name", l.plugin_name, spec.plugin);
    cmp("connection_url", l.connection_details?.connection_url, spec.connectionUrl);
    cmp("username", l.connection_details?.username, spec.username);
    cmp("allowed_roles", [...(l.allowed_roles ?? [])].sort(), [...spec.allowedRoles].sort());
    const given = source?.custom[CONNECTION_VERSION];
    if (source && given !== String(source.currentVersion)) {
      diff.push({
        path: "password",
        before: given ? `version ${given} of ${from.mount}/${from.path}` : "(version not recorded)",
        after: `version ${source.currentVersion} of ${from.mount}/${from.path}`,
      });
    }
    return { action: diff.length ? "update" : "no-op", diff };
  }
  const live = await client.read<{
    data: {
      db_name?: string;
      creation_statements?: string[];
      revocation_statements?: string[];
      default_ttl?: number;
      max_ttl?: number;
    };
  }>(`${spec.mount}/roles/${spec.name}`);
  if (!live) return { action: "create", diff: [{ path: "db_name", after: spec.dbName }] };
  const l = live.data;
  const diff: FieldDiff[] = [];
  const cmp = (path: string, before: unknown, after: unknown) => {
    if (!same(before, after)) diff.push({ path, before, after });
  };
  cmp("db_name", l.db_name, spec.dbName);
  cmp("creation_statements", l.creation_statements, spec.creationStatements);
  cmp("revocation_statements", l.revocation_statements, spec.revocationStatements);
  cmp("default_ttl", l.default_ttl, spec.defaultTtlSeconds);
  cmp("max_ttl", l.max_ttl, spec.maxTtlSeconds);
  return { action: diff.length ? "update" : "no-op", diff };
}

/**
 * This environment's database engine is plinth's when its mount carries plinth's mark: roles no
 * longer desired go; the whole mount goes when the engine is no longer desired (disabling it
 * revokes every lease, dropping the users it made).
 */
export async function pruneDatabase(
  client: VaultClient,
  layout: VaultLayout | undefined,
  desired: VaultResource[],
  ctx: ProviderContext,
): Promise<VaultChange[]> {
  const mount = databaseMount(layout ?? DEFAULT_LAYOUT, ctx.env);
  const mounts = await client.call<{ data?: Record<string, { type: string; description?: string }> }>(
    "GET",
    "sys/mounts",
  );
  const live = (mounts.data ?? (mounts as Record<string, { type: string; description?: string }>))[
    `${mount}/`
  ];
  if (live?.type !== "database" || !live.description?.startsWith(MANAGED_BY)) return [];
  const base = { provider: "vault", component: "postgres" as const, action: "delete" as const, diff: [] };
  const wanted = new Set(desired.map((d) => d.id));
  if (!wanted.has(`vault:mount:${mount}`)) {
    return [{ ...base, id: `vault:mount:${mount}`, kind: "VaultMount", name: mount }];
  }
  const out: VaultChange[] = [];
  for (const name of (await client.list(`${mount}/roles`)).sort()) {
    const id = `vault:db-role:${mount}/${name}`;
    if (!wanted.has(id)) out.push({ ...base, id, kind: "VaultDatabaseRole", name: `${mount}/roles/${name}` });
  }
  return out;
}
