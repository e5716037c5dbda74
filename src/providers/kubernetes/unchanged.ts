import type { KubeObject } from "../../catalog/types.js";

/**
 * Whether a server-side apply of `desired` by `manager` would leave `live` as it is, decided from
 * the live object alone, so a converged plan needs no dry run per object (a no-op plan is then
 * the ApplySet's lists, not one request per object).
 *
 * Server-side apply sets the fields the manager sends and removes those it owned before and no
 * longer sends. So nothing changes when (1) every field sent already holds the value sent, and (2)
 * the manager's Apply entry in `managedFields` owns exactly the fields sent: no more (they would be
 * removed), no less (a field another manager took over by hand is drift to show). A hand edit of a
 * field this manager set fails both: the value differs and its ownership moved to the editor.
 *
 * Any doubt answers false, and the caller asks the server (a dry run): a value the server
 * normalizes ("0.5" against "500m"), a list another manager added to, an entry kind not known
 * here, a managedFields entry for another API version.
 */
export function applyChangesNothing(
  desired: KubeObject,
  live: LiveObject | undefined,
  manager: string,
): boolean {
  if (!live || desired.apiVersion !== live.apiVersion || desired.kind !== live.kind) return false;
  const meta = (live.metadata ?? {}) as Record<string, unknown>;
  if (meta.deletionTimestamp) return false;
  const entries = ((meta.managedFields ?? []) as ManagedFields[]).filter(
    (m) => m.manager === manager && m.operation === "Apply" && !m.subresource,
  );
  const entry = entries[0];
  if (entries.length !== 1 || !entry || entry.apiVersion !== desired.apiVersion) return false;
  if (entry.fieldsType !== "FieldsV1" || !isMap(entry.fieldsV1)) return false;
  const { apiVersion: _a, kind: _k, metadata, ...rest } = desired as KubeObject & Record<string, unknown>;
  // Name and namespace identify the object (they are what was listed); managedFields never lists them.
  const { name, namespace, ...ownedMeta } = (metadata ?? {}) as Record<string, unknown>;
  if (name !== meta.name || (namespace ?? undefined) !== (meta.namespace ?? undefined)) return false;
  const sent = Object.keys(ownedMeta).length > 0 ? { ...rest, metadata: ownedMeta } : rest;
  return sameFields(sent, live, entry.fieldsV1);
}

/** An object as read from the API server (structurally, whichever client type holds it). */
export interface LiveObject {
  apiVersion?: string;
  kind?: string;
  metadata?: object;
}

interface ManagedFields {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: unknown;
}

type Fields = Record<string, unknown>;

/** A map sent: its keys are exactly the `f:` entries owned, each holding what was sent. */
function sameFields(sent: Record<string, unknown>, live: unknown, owned: Fields): boolean {
  if (!isMap(live)) return false;
  const ownedKeys = Object.keys(owned).filter((k) => k !== ".");
  if (ownedKeys.some((k) => !k.startsWith("f:"))) return false;
  const sentKeys = Object.keys(sent).filter((k) => sent[k] !== undefined);
  if (ownedKeys.length !== sentKeys.length) return false;
  return sentKeys.every((key) => {
    const child = owned[`f:${key}`];
    return isMap(child) && sameValue(sent[key], live[key], child);
  });
}

function sameValue(sent: unknown, live: unknown, owned: Fields): boolean {
  if (isMap(sent)) {
    // An empty owned entry for a map: the field is atomic (a granular map lists its keys).
    return isEmpty(owned) ? deepEqual(sent, live) : sameFields(sent, live, owned);
  }
  if (Array.isArray(sent)) return sameList(sent, live, owned);
  return deepEqual(sent, live);
}

/**
 * A list: atomic (owned as a whole, `{}`) must be equal; a set (`v:` entries) or an associative
 * list (`k:` entries, keyed by fields such as `name`) must have the live items in the sent order
 * and no others, each item holding what was sent and owned as sent.
 */
function sameList(sent: unknown[], live: unknown, owned: Fields): boolean {
  if (!Array.isArray(live) || live.length !== sent.length) return false;
  if (isEmpty(owned)) return deepEqual(sent, live);
  const items = Object.keys(owned).filter((k) => k !== ".");
  if (items.length !== sent.length) return false;
  if (items.every((k) => k.startsWith("v:"))) {
    const values = new Set(items.map((k) => k.slice(2)));
    return sent.every((v, i) => deepEqual(v, live[i]) && values.has(JSON.stringify(v)));
  }
  if (!items.every((k) => k.startsWith("k:"))) return false;
  const keys = items.map((k) => parseKey(k.slice(2)));
  return sent.every((item, i) => {
    const liveItem = live[i];
    if (!isMap(item) || !isMap(liveItem)) return false;
    const at = keys.findIndex((key) => key !== undefined && matchesKey(key, liveItem));
    const entry = at >= 0 ? owned[items[at] as string] : undefined;
    return isMap(entry) && sameFields(item, liveItem, entry);
  });
}

function parseKey(text: string): Record<string, unknown> | undefined {
  try {
    const key = JSON.parse(text) as unknown;
    return isMap(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

function matchesKey(key: Record<string, unknown>, item: Record<string, unknown>): boolean {
  return Object.entries(key).every(([k, v]) => deepEqual(item[k], v));
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isEmpty(v: Fields): boolean {
  return Object.keys(v).length === 0;
}
