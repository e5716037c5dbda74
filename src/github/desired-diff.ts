import type { LoadedConfig } from "../config/load.js";
import { UserError } from "../diagnostics/diagnostic.js";
import { buildGraph } from "../graph/graph.js";
import { desiredComponents } from "../plan/desired.js";
import { DATA_KINDS } from "../plan/live.js";
import { diffObjects, secretPathsOf } from "../providers/kubernetes/diff.js";
import { identityOf } from "../providers/kubernetes/identity.js";
import type { FieldDiff } from "../providers/types.js";
import { DEFAULT_LAYOUT, usesVault } from "../providers/vault/index.js";
import { vaultTitle } from "../providers/vault/provider.js";
import { desiredVault } from "../providers/vault/resources.js";
import { describeKeys } from "../secrets/environment.js";
import { resolveChecked } from "../validate/validate.js";

/**
 * What a pull request changes, environment by environment, without any credential: the config of
 * the base and of the head each resolved to their desired state (objects with their pinned
 * versions, secret rules, external steps, hosts), and the two compared. No cluster, Vault, DNS or
 * state is contacted, so this runs on `pull_request` with no secrets at all (forks included).
 */
export interface DesiredItem {
  /** `kubernetes:…` identity, `secret:<ns>/<name>`, `external:<provider>:<name>`, `host:<service>`. */
  id: string;
  component: string;
  kind: string;
  name: string;
  namespace?: string;
  /** Compared field by field (a Secret's values never: only its key rules are here). */
  body: unknown;
  area: "cluster" | "dns" | "vault";
  data: boolean;
}

export type DesiredState =
  | { env: string; kind: string; items: Map<string, DesiredItem> }
  | { env: string; error: string };

export interface DesiredChange {
  action: "create" | "update" | "delete";
  item: DesiredItem;
  diff: FieldDiff[];
}

export interface EnvDiff {
  env: string;
  /** `invalid`: the head's config does not resolve for this environment (the reason in `error`). */
  status: "changed" | "same" | "added" | "removed" | "invalid";
  changes: DesiredChange[];
  error?: string;
}

const VAULT_COMPONENTS = new Set(["vault", "vault-secrets-operator"]);

/** Every environment's desired state, or why it does not resolve. Pure but for the catalog's code. */
export function desiredState(loaded: LoadedConfig): Map<string, DesiredState> {
  const out = new Map<string, DesiredState>();
  for (const env of Object.keys(loaded.config.environments).sort()) {
    try {
      const resolved = resolveChecked(loaded, env);
      const graph = buildGraph(resolved);
      const items = new Map<string, DesiredItem>();
      const add = (i: DesiredItem) => items.set(i.id, i);
      for (const d of desiredComponents(resolved, graph)) {
        const vault = VAULT_COMPONENTS.has(d.id);
        for (const o of d.objects) {
          const ref = {
            apiVersion: o.apiVersion,
            kind: o.kind,
            name: o.metadata.name,
            namespace: o.metadata.namespace,
          };
          add({
            id: identityOf(ref),
            component: d.id,
            kind: o.kind,
            name: o.metadata.name,
            ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
            body: o,
            area: vault || o.apiVersion.startsWith("secrets.hashicorp.com/") ? "vault" : "cluster",
            data: DATA_KINDS.has(`${o.apiVersion}/${o.kind}`),
          });
        }
        for (const s of d.secrets) {
          add({
            id: `secret:${s.namespace}/${s.name}`,
            component: d.id,
            kind: "Secret",
            name: s.name,
            namespace: s.namespace,
            body: { keys: describeKeys(s) },
            area: "cluster",
            data: false,
          });
        }
        for (const e of d.external) {
          add({
            id: `external:${e.provider}:${e.name}`,
            component: d.id,
            kind: e.kind,
            name: e.name,
            body: { detail: e.detail, source: e.source ?? null },
            area: "cluster",
            data: false,
          });
        }
      }
      // Vault's configuration and secret paths, as its live plan names them: derived, never read.
      if (usesVault(resolved)) {
        for (const r of desiredVault(resolved, DEFAULT_LAYOUT)) {
          const spec = r.spec;
          add({
            id: r.id,
            component: r.component,
            ...vaultTitle(spec),
            body:
              spec.kind === "kv"
                ? { keys: describeKeys(spec.secret), copyFrom: spec.copyFrom ?? null }
                : spec,
            area: "vault",
            data: false,
          });
        }
      }
      for (const [service, host] of Object.entries(resolved.hosts)) {
        if (!host) continue;
        add({
          id: `host:${service}`,
          component: "dns",
          kind: "DNS record",
          name: host.host,
          body: host,
          area: "dns",
          data: false,
        });
      }
      out.set(env, { env, kind: resolved.kind, items });
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      out.set(env, { env, error: e.message });
    }
  }
  return out;
}

/** Base against head, for every environment either has; sorted by name. */
export function diffDesired(base: Map<string, DesiredState>, head: Map<string, DesiredState>): EnvDiff[] {
  const names = [...new Set([...base.keys(), ...head.keys()])].sort();
  return names.map((env): EnvDiff => {
    const b = base.get(env);
    const h = head.get(env);
    if (h && "error" in h) return { env, status: "invalid", changes: [], error: h.error };
    const before = b && !("error" in b) ? b.items : new Map<string, DesiredItem>();
    const after = h ? h.items : new Map<string, DesiredItem>();
    const changes: DesiredChange[] = [];
    for (const [id, item] of after) {
      const old = before.get(id);
      if (!old) {
        changes.push({ action: "create", item, diff: [] });
        continue;
      }
      const diff = diffObjects(old.body, item.body, secretPathsOf(item.kind));
      if (diff.length) changes.push({ action: "update", item, diff });
    }
    for (const [id, item] of before) if (!after.has(id)) changes.push({ action: "delete", item, diff: [] });
    const status = !h ? "removed" : !b ? "added" : changes.length ? "changed" : "same";
    return { env, status, changes };
  });
}
