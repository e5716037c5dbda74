/**
 * Objects several environments of one cluster want. Environments sharing a VPS each render the
 * cluster's operators (CloudNativePG, redis, ArangoDB...), the namespaces they live in, Traefik's
 * config: one environment deleting such an object because it is destroyed (or no longer wants it)
 * would take it from the others, and with an operator's chart its CRDs and the databases they hold.
 */
import { parse } from "yaml";
import { labels } from "../catalog/objects.js";
import type { KubeObject } from "../catalog/types.js";
import type { Config } from "../config/schema.js";
import { type Diagnostic, error } from "../diagnostics/diagnostic.js";
import { buildGraph } from "../graph/graph.js";
import { resolveEnvironment } from "../model/resolve.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { identityOf, refOf } from "../providers/kubernetes/identity.js";
import { desiredComponents } from "./desired.js";

/** What a peer environment wants of an object: its identity, with the labels the peer renders on it. */
export type PeerWants = Map<string, Record<string, string>>;

/** A deployed peer that wants an object, and the labels it renders on it. */
export interface PeerClaim {
  env: string;
  labels: Record<string, string>;
}

/** The other environments of the config on the same cluster, each with the objects it wants. */
export function clusterPeers(config: Config, env: ResolvedEnvironment): Map<string, PeerWants> {
  const peers = new Map<string, PeerWants>();
  for (const name of Object.keys(config.environments).sort()) {
    if (name === env.name) continue;
    const { environment: peer } = resolveEnvironment(config, name);
    if (!peer || peer.cluster.name !== env.cluster.name) continue;
    const wanted: PeerWants = new Map();
    for (const d of desiredComponents(peer, buildGraph(peer))) {
      for (const o of d.objects) wanted.set(identityOf(refOf(o)), o.metadata.labels ?? {});
      for (const s of d.secrets)
        wanted.set(
          identityOf({ apiVersion: "v1", kind: "Secret", name: s.name, namespace: s.namespace }),
          labels(peer, d.id),
        );
    }
    peers.set(name, wanted);
  }
  return peers;
}

/**
 * Identity → the deployed peers that want it (in name order): what this environment's deletions
 * must keep, and hand over to the first of them, so its ApplySet owns the object from then on.
 */
export function wantedByPeers(
  peers: Map<string, PeerWants>,
  deployed: (name: string) => boolean,
): Map<string, PeerClaim[]> {
  const out = new Map<string, PeerClaim[]>();
  for (const [name, wanted] of peers) {
    if (!deployed(name)) continue;
    for (const [id, objectLabels] of wanted)
      out.set(id, [...(out.get(id) ?? []), { env: name, labels: objectLabels }]);
  }
  return out;
}

/**
 * Objects one per cluster that environments of the cluster still render differently once the
 * catalog has rendered them from the whole cluster (catalog/cluster.ts): settings no union can
 * reconcile, such as two ACME emails, Vault and OpenBao, or two sizes of one cluster-wide database.
 * Whichever applied last would set them, so each is an error naming both environments, the first
 * field that differs, and the fix. `only`: just these environments (one cluster's, for a plan).
 */
export function sharedConflicts(config: Config, only?: readonly string[]): Diagnostic[] {
  // cluster + identity → first environment seen and its object.
  const seen = new Map<string, { env: string; object: KubeObject }>();
  const out: Diagnostic[] = [];
  for (const name of (only ?? Object.keys(config.environments)).toSorted()) {
    const { environment: env } = resolveEnvironment(config, name);
    if (!env) continue;
    for (const d of desiredComponents(env, buildGraph(env))) {
      const cluster = d.cluster ?? env.cluster.name;
      for (const o of d.objects) {
        const key = `${cluster} ${identityOf(refOf(o))}`;
        const first = seen.get(key);
        if (!first) {
          seen.set(key, { env: name, object: o });
          continue;
        }
        const where = firstDifference(comparable(first.object), comparable(o), "");
        if (!where) continue;
        const shown = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
        out.push(
          error(
            `renders ${shown} (${d.id}), one object on cluster ${cluster}, differently from environment ${first.env}: ${where}`,
            {
              path: `environments.${name}`,
              fix: `give environments ${first.env} and ${name} the same settings behind it, put them on separate clusters, or turn ${d.id} off in one of them`,
            },
          ),
        );
      }
    }
  }
  return out;
}

/** What must match for two environments to share an object: all but the labels naming its holder. */
function comparable(o: KubeObject): unknown {
  const { metadata, ...rest } = o;
  const spec = rest.spec as { valuesContent?: unknown } | undefined;
  // Helm values are YAML in a string: compared as data, so the difference is named by its key.
  const values =
    typeof spec?.valuesContent === "string" ? { ...spec, valuesContent: parse(spec.valuesContent) } : spec;
  return {
    ...rest,
    ...(spec ? { spec: values } : {}),
    metadata: { annotations: metadata.annotations ?? {} },
  };
}

/** The first path at which two values differ, with both values (short), or undefined when equal. */
function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const at = Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at);
      if (d) return d;
    }
    return undefined;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return undefined;
  return `${path} is ${short(b)} here and ${short(a)} there`;
}

function short(v: unknown): string {
  const text = v === undefined ? "absent" : JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
