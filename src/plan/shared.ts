/**
 * Objects several environments of one cluster want. Environments sharing a VPS each render the
 * cluster's operators (CloudNativePG, redis, ArangoDB...), the namespaces they live in, Traefik's
 * config: one environment deleting such an object because it is destroyed (or no longer wants it)
 * would take it from the others, and with an operator's chart its CRDs and the databases they hold.
 */
import type { KubeObject } from "../catalog/types.js";
import type { Config } from "../config/schema.js";
import { type Diagnostic, warning } from "../diagnostics/diagnostic.js";
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

/**
 * Objects that environments of one cluster render differently (Traefik's config, an operator
 * watching one environment's namespace): whichever applies last sets them. A warning per object.
 */
export function sharedConflicts(config: Config): Diagnostic[] {
  // identity → cluster → first environment seen and its rendering (labels aside: they name it).
  const seen = new Map<string, { env: string; body: string }>();
  const out: Diagnostic[] = [];
  for (const name of Object.keys(config.environments).sort()) {
    const { environment: env } = resolveEnvironment(config, name);
    if (!env) continue;
    for (const d of desiredComponents(env, buildGraph(env))) {
      for (const o of d.objects) {
        const key = `${env.cluster.name} ${identityOf(refOf(o))}`;
        const body = rendering(o);
        const first = seen.get(key);
        if (!first) seen.set(key, { env: name, body });
        else if (first.body !== body) {
          out.push(
            warning(
              `renders ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name} (${d.id}) differently from environment ${first.env} on cluster ${env.cluster.name}: the environment applied last sets it`,
              {
                path: `environments.${name}`,
                fix: `put environments ${first.env} and ${name} on separate clusters, or turn ${d.id} off in one of them`,
              },
            ),
          );
        }
      }
    }
  }
  return out;
}

function rendering(o: KubeObject): string {
  const { metadata, ...rest } = o;
  return JSON.stringify({ ...rest, annotations: metadata.annotations ?? {} });
}
