/**
 * Objects several environments of one cluster want. Environments sharing a VPS each render the
 * cluster's operators (CloudNativePG, redis, ArangoDB...), the namespaces they live in, Traefik's
 * config: one environment deleting such an object because it is destroyed (or no longer wants it)
 * would take it from the others, and with an operator's chart its CRDs and the databases they hold.
 */
import type { Config } from "../config/schema.js";
import { buildGraph } from "../graph/graph.js";
import { resolveEnvironment } from "../model/resolve.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { identityOf, refOf } from "../providers/kubernetes/identity.js";
import { desiredComponents } from "./desired.js";

/** The other environments of the config on the same cluster, each with the identities it wants. */
export function clusterPeers(config: Config, env: ResolvedEnvironment): Map<string, Set<string>> {
  const peers = new Map<string, Set<string>>();
  for (const name of Object.keys(config.environments)) {
    if (name === env.name) continue;
    const { environment: peer } = resolveEnvironment(config, name);
    if (!peer || peer.cluster.name !== env.cluster.name) continue;
    const wanted = new Set<string>();
    for (const d of desiredComponents(peer, buildGraph(peer))) {
      for (const o of d.objects) wanted.add(identityOf(refOf(o)));
      for (const s of d.secrets)
        wanted.add(identityOf({ apiVersion: "v1", kind: "Secret", name: s.name, namespace: s.namespace }));
    }
    peers.set(name, wanted);
  }
  return peers;
}

/** Identity → the deployed peers that want it: what this environment's deletions must keep. */
export function wantedByPeers(
  peers: Map<string, Set<string>>,
  deployed: (name: string) => boolean,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, wanted] of peers) {
    if (!deployed(name)) continue;
    for (const id of wanted) out.set(id, [...(out.get(id) ?? []), name]);
  }
  return out;
}
