import { VaultApiError, type VaultClient } from "./client.js";

/** KV v2 reads and writes; values pass through memory only, never into errors or results. */
export interface KvMetadata {
  currentVersion: number;
  createdTime?: string;
  /** When the current version was written. */
  updatedTime?: string;
  custom: Record<string, string>;
  versions: number;
}

export interface KvSecret {
  data: Record<string, string>;
  version: number;
  /** The secret's custom metadata, which KV v2 returns beside the data. */
  custom: Record<string, string>;
}

export async function readMetadata(
  client: VaultClient,
  mount: string,
  path: string,
): Promise<KvMetadata | undefined> {
  const r = await client.read<{
    data: {
      current_version: number;
      created_time?: string;
      updated_time?: string;
      custom_metadata?: Record<string, string> | null;
      versions?: Record<string, { created_time?: string; destroyed?: boolean; deletion_time?: string }>;
    };
  }>(`${mount}/metadata/${path}`);
  if (!r) return undefined;
  const d = r.data;
  const current = d.versions?.[String(d.current_version)];
  return {
    currentVersion: d.current_version,
    ...(d.created_time ? { createdTime: d.created_time } : {}),
    ...(current?.created_time ? { updatedTime: current.created_time } : {}),
    custom: d.custom_metadata ?? {},
    versions: Object.keys(d.versions ?? {}).length,
  };
}

/** The current version, or a given one; undefined when absent or deleted. */
export async function readSecret(
  client: VaultClient,
  mount: string,
  path: string,
  version?: number,
): Promise<KvSecret | undefined> {
  const query = version === undefined ? "" : `?version=${version}`;
  const r = await client.request<{
    data?: {
      data: Record<string, string> | null;
      metadata: { version: number; custom_metadata?: Record<string, string> | null };
    };
    errors?: string[];
  }>("GET", `${mount}/data/${path}${query}`);
  // 404 with metadata = a deleted version: treat as absent data.
  if (r.status === 404) return undefined;
  if (r.status >= 300) throw new VaultApiError("GET", `${mount}/data/${path}`, r.status, r.body.errors ?? []);
  if (!r.body.data?.data) return undefined;
  const meta = r.body.data.metadata;
  return { data: r.body.data.data, version: meta.version, custom: meta.custom_metadata ?? {} };
}

/**
 * Writes a new version with check-and-set: `cas` is the version the caller read (0 = must not
 * exist yet), so a concurrent writer makes this fail instead of silently replacing its values.
 */
export async function writeSecret(
  client: VaultClient,
  mount: string,
  path: string,
  data: Record<string, string>,
  cas: number,
): Promise<number> {
  const sorted = Object.fromEntries(Object.entries(data).sort(([a], [b]) => a.localeCompare(b)));
  const r = await client.request<{ data?: { version: number }; errors?: string[] }>(
    "POST",
    `${mount}/data/${path}`,
    { options: { cas }, data: sorted },
  );
  if (r.status >= 300 || !r.body.data) {
    const errors = (r.body.errors ?? []).map((e) =>
      e.includes("check-and-set") ? `${e} (another writer changed it since it was read; run again)` : e,
    );
    throw new VaultApiError("POST", `${mount}/data/${path}`, r.status, errors);
  }
  return r.body.data.version;
}

/**
 * Sets custom metadata keys, keeping the others: Vault replaces the whole map on write, and the
 * keys of ownership and of the database connection's password version are written apart.
 * `current` is the map as the caller just read it (saves reading it again).
 */
export async function writeMetadata(
  client: VaultClient,
  mount: string,
  path: string,
  custom: Record<string, string>,
  current?: Record<string, string>,
): Promise<void> {
  const kept = current ?? (await readMetadata(client, mount, path))?.custom ?? {};
  await client.call("POST", `${mount}/metadata/${path}`, { custom_metadata: { ...kept, ...custom } });
}
