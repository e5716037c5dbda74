import { CATALOG } from "../catalog/index.js";
import type { SecretSpec } from "../catalog/types.js";
import { COMPONENT_IDS, type ComponentId } from "../config/ids.js";
import type { Graph } from "../graph/graph.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { applySetId, PART_OF } from "../providers/kubernetes/applyset.js";
import { memberKinds, readParent } from "../providers/kubernetes/applyset-parent.js";
import type { Obj } from "../providers/kubernetes/identity.js";
import { displayName, identityOf, type ObjectRef } from "../providers/kubernetes/identity.js";
import { type KubernetesProvider, type KubeSpec, refOfObj } from "../providers/kubernetes/provider.js";
import { deletionProbe, isTerminating } from "../providers/kubernetes/readiness.js";
import { planSecret } from "../providers/kubernetes/secrets.js";
import { MANIFEST_ANNOTATION } from "../providers/manifest.js";
import type { ProviderContext, ResourceChange } from "../providers/types.js";
import { describeKeys, FROM_ENVIRONMENT } from "../secrets/environment.js";
import { mapLimit } from "../util/pool.js";
import { planChange } from "./change.js";
import type { DesiredComponent } from "./desired.js";
import { planManifest } from "./manifest.js";
import { liveOwner } from "./owners.js";
import { type Change, finishPlan, type Plan, type PlanComponent, planComponent } from "./plan.js";
import type { PeerClaim } from "./shared.js";

/** A kept object moving into a peer environment's ApplySet (destroy, or a component it no longer runs). */
export interface HandOver {
  env: string;
  labels: Record<string, string>;
}

/** Kinds that hold data (or the credentials to it): deleted only with --delete-data. */
export const DATA_KINDS: ReadonlySet<string> = new Set([
  "postgresql.cnpg.io/v1/Cluster",
  "database.arangodb.com/v1/ArangoDeployment",
  "clickhouse.altinity.com/v1/ClickHouseInstallation",
  "clickhouse-keeper.altinity.com/v1/ClickHouseKeeperInstallation",
  "redis.redis.opstreelabs.in/v1beta2/Redis",
  "v1/PersistentVolumeClaim",
  "v1/Secret",
  // Where Vault holds the credentials, this is what keeps their in-cluster copy.
  "secrets.hashicorp.com/v1beta1/VaultStaticSecret",
]);

export interface LivePlanOptions {
  kube: KubernetesProvider;
  ctx: ProviderContext;
  /** Plan the removal of everything (destroy). */
  destroy?: boolean;
  deleteData?: boolean;
  /** Identities that other deployed environments of the cluster want: never deleted from here. */
  wantedByPeers?: Promise<Map<string, PeerClaim[]>>;
}

/**
 * A plan against the live cluster: each desired object dry-run applied (create, update, adopt,
 * no-op with field diffs), each generated secret checked by key, and every object of this
 * environment's ApplySet that is no longer desired planned for deletion (data kept unless asked).
 */
export async function livePlan(
  env: ResolvedEnvironment,
  graph: Graph,
  desired: DesiredComponent[],
  o: LivePlanOptions,
): Promise<Plan> {
  const byId = new Map(desired.map((d) => [d.id, d]));
  const wanted = new Set<string>();
  /** Manifest steps (`component/step`) that could not be read: their applied objects are kept. */
  const unread = new Set<string>();
  // Owner accounts' markers are read now, beside the lists, not after each component's plan.
  const owners = new Map(
    graph.phases.flatMap((p) =>
      p.components.map((node) => {
        const read = o.destroy ? Promise.resolve(undefined) : liveOwner(env, node.id, o.kube);
        read.catch(() => {}); // awaited with the component
        return [node.id, read] as const;
      }),
    ),
  );
  // What the cluster holds for this environment is read while the desired objects are planned.
  const owned = listOwned(o, o.destroy ? [] : desired);
  owned.catch(() => {}); // awaited below; a failure must not surface as an unhandled rejection first
  // ...and is where plan reads its own objects from, instead of one GET each.
  const kube = o.kube.withSnapshot(owned);
  // Phases are planned together: a plan only reads, and the provider bounds the requests in flight.
  const phases = await mapLimit(graph.phases, graph.phases.length, async (phase) => ({
    id: phase.id,
    components: await mapLimit(phase.components, 4, async (node): Promise<PlanComponent> => {
      const d = byId.get(node.id);
      const objects = o.destroy ? [] : (d?.objects ?? []);
      const secrets = o.destroy ? [] : (d?.secrets ?? []);
      const changes = await kube.plan(
        objects.map((obj) => ({ provider: "kubernetes", id: "", component: node.id, spec: obj })),
        o.ctx,
      );
      const secretChanges = await mapLimit(secrets, 4, (s) => planSecret(kube, node.id, s, o.ctx));
      for (const c of [...changes, ...secretChanges]) wanted.add(c.id);
      const peers = (await o.wantedByPeers) ?? new Map<string, PeerClaim[]>();
      // External steps: a remote operator manifest's objects are compared with the cluster's
      // (src/plan/manifest.ts); k3s over SSH belongs to the bootstrap step.
      const external: Change[] = await mapLimit(o.destroy ? [] : (d?.external ?? []), 2, async (e) => {
        if (e.provider !== "manifest") {
          return { action: "no-op", provider: e.provider, kind: e.kind, name: e.name, detail: e.detail };
        }
        const planned = await planManifest(e, node.id, env, kube, o.ctx);
        for (const id of planned.ids) wanted.add(id);
        if (planned.unread) unread.add(`${node.id}/${e.name}`);
        return planned.change;
      });
      return planComponent(
        node,
        [...external, ...changes.map((c) => leftToPeer(toChange(c), peers)), ...secretChanges.map(toChange)],
        o.destroy ? [] : d?.health,
        await owners.get(node.id),
      );
    }),
  }));

  const live = await owned;
  for (const obj of live) {
    const step = obj.metadata?.annotations?.[MANIFEST_ANNOTATION];
    const component = obj.metadata?.labels?.["plinth.dev/component"];
    if (step && unread.has(`${component}/${step}`)) wanted.add(identityOf(refOfObj(obj)));
  }
  const deletions = planDeletions(live, wanted, o.deleteData ?? false, (await o.wantedByPeers) ?? new Map());
  for (const [component, changes] of deletions) {
    const phaseId = CATALOG[component].phase;
    const phase = phases.find((p) => p.id === phaseId);
    if (!phase) continue;
    let entry = phase.components.find((c) => c.id === component);
    if (!entry) {
      entry = {
        id: component,
        title: CATALOG[component].title,
        step: CATALOG[component].step,
        layer: CATALOG[component].layer,
        namespace: CATALOG[component].namespace(env),
        placement: "local",
        dependsOn: [],
        changes: [],
      };
      phase.components.push(entry);
    }
    entry.changes.push(...changes);
  }
  return finishPlan({ env: env.name, cluster: env.cluster.name, offline: false, phases });
}

/**
 * Every live member of the environment's ApplySet. The desired kinds are listed at once; kinds
 * only the ApplySet parent still records (removed from the config) once it has been read.
 */
async function listOwned(o: LivePlanOptions, desired: DesiredComponent[]): Promise<Obj[]> {
  const key = (k: { apiVersion: string; kind: string }) => `${k.apiVersion}/${k.kind}`;
  const early = new Map<string, { apiVersion: string; kind: string }>();
  for (const d of desired) {
    for (const obj of d.objects) early.set(key(obj), { apiVersion: obj.apiVersion, kind: obj.kind });
    if (d.secrets.length > 0) early.set("v1/Secret", { apiVersion: "v1", kind: "Secret" });
  }
  const first = o.kube.listOwned(o.ctx.env, [...early.values()]);
  first.catch(() => {}); // awaited below
  const parent = await readParent(o.kube, o.ctx.env);
  const rest = memberKinds(parent).filter((k) => !early.has(key(k)));
  const [a, b] = await Promise.all([first, o.kube.listOwned(o.ctx.env, rest)]);
  return [...a, ...b];
}

/**
 * Labels that only say which environment (and which of its components) holds an object: the rest
 * must match to leave it there. A namespace two environments share may be first used by another
 * component in each (`platform`: the dashboard where there is no platform PostgreSQL).
 */
const OWNERSHIP_LABELS = [
  `metadata.labels.${PART_OF}`,
  "metadata.labels.plinth.dev/environment",
  "metadata.labels.plinth.dev/component",
];

/**
 * An object another deployed environment of the cluster holds and renders exactly as this one
 * does: left to it (a no-op), instead of taken over on every apply of either environment.
 */
function leftToPeer(c: Change, peers: Map<string, PeerClaim[]>): Change {
  if (c.action !== "adopt" || !c.id) return c;
  const diff = c.diff ?? [];
  const holder = peers
    .get(c.id)
    ?.find((peer) => diff.some((d) => d.path === OWNERSHIP_LABELS[0] && d.before === applySetId(peer.env)));
  if (!holder || !diff.every((d) => OWNERSHIP_LABELS.includes(d.path))) return c;
  const { diff: _diff, ...rest } = c;
  return { ...rest, action: "no-op", detail: `shared: held by environment ${holder.env} on this cluster` };
}

function planDeletions(
  owned: Obj[],
  wanted: Set<string>,
  deleteData: boolean,
  peers: Map<string, PeerClaim[]>,
): Map<ComponentId, Change[]> {
  const out = new Map<ComponentId, Change[]>();
  const keptNamespaces = new Set<string>();
  const stale = owned.filter((live) => !wanted.has(identityOf(refOfObj(live))));
  // A Secret copied from the operator's environment holds no data: the next apply can rewrite it.
  const isData = (live: Obj) =>
    DATA_KINDS.has(`${live.apiVersion}/${live.kind}`) && !live.metadata?.annotations?.[FROM_ENVIRONMENT];
  const kept = (live: Obj) => (isData(live) && !deleteData) || peers.has(identityOf(refOfObj(live)));
  for (const live of stale)
    if (kept(live) && live.metadata?.namespace) keptNamespaces.add(live.metadata.namespace);
  for (const live of stale) {
    const ref = refOfObj(live);
    const label = live.metadata?.labels?.["plinth.dev/component"];
    const component = (COMPONENT_IDS as readonly string[]).includes(label ?? "")
      ? (label as ComponentId)
      : "k3s";
    const sharedWith = peers.get(identityOf(ref));
    // The first peer that wants it takes it into its ApplySet: its plan stays at zero, and its own
    // destroy (or prune) is what removes it later.
    const heir = sharedWith?.[0];
    const keep = kept(live) || (ref.kind === "Namespace" && keptNamespaces.has(ref.name));
    // Already going away (an interrupted destroy): apply sends no second delete, it waits.
    const dying = !keep && isTerminating(live);
    const change: Change = {
      action: keep ? "no-op" : "delete",
      provider: "kubernetes",
      id: identityOf(ref),
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      name: ref.name,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      detail: heir
        ? `kept: environment ${sharedWith.map((p) => p.env).join(", ")} on this cluster also uses it; handed over to environment ${heir.env}`
        : keep
          ? "kept: holds data; released from plinth's ownership (delete it with --delete-data)"
          : dying
            ? `already being deleted (${deletionProbe(live).status}); apply waits until it is gone`
            : "no longer desired",
      spec: {
        release: keep,
        ...(heir ? { handOver: handOver(heir) } : {}),
        ...(dying ? { terminating: true } : {}),
      },
      ...(live.metadata?.resourceVersion ? { liveVersion: live.metadata.resourceVersion } : {}),
    };
    out.set(component, [...(out.get(component) ?? []), change]);
  }
  return out;
}

/** The labels that move an object into a peer's ApplySet, as that peer renders them. */
function handOver(heir: PeerClaim): HandOver {
  const component = heir.labels["plinth.dev/component"];
  return {
    env: heir.env,
    labels: {
      [PART_OF]: applySetId(heir.env),
      "plinth.dev/environment": heir.env,
      ...(component ? { "plinth.dev/component": component } : {}),
    },
  };
}

/** How a plan says that a create waits for a deletion in progress. */
export function afterDeletionDetail(ref: ObjectRef): string {
  return `after the deletion of ${displayName(ref)} finishes`;
}

/** A Kubernetes change as a plan holds it: with the object's apiVersion, a Secret's key names, a deletion awaited. */
function toChange(c: ResourceChange<unknown>): Change {
  const obj = (c.spec as KubeSpec | undefined)?.object;
  const away = (c.spec as KubeSpec | undefined)?.afterDeletionOf;
  const detail = [
    c.provider === "secret" ? describeKeys((c.spec as { secret: SecretSpec }).secret) : "",
    away ? afterDeletionDetail(away) : "",
  ].filter(Boolean);
  return planChange(c, {
    ...(obj ? { apiVersion: obj.apiVersion } : {}),
    ...(c.provider === "secret" || away ? { detail: detail.join("; ") } : {}),
  });
}
