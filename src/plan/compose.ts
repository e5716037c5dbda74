import type { Config } from "../config/schema.js";
import { throwIfErrors } from "../diagnostics/diagnostic.js";
import type { Graph } from "../graph/graph.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { readParent } from "../providers/kubernetes/applyset-parent.js";
import type { KubernetesProvider } from "../providers/kubernetes/provider.js";
import type { ProviderContext } from "../providers/types.js";
import type { VaultAccess } from "../providers/vault/access.js";
import type { DesiredComponent } from "./desired.js";
import { type DnsStep, dnsChange, withDns } from "./dns.js";
import { livePlan } from "./live.js";
import { changesMoved, movedSince } from "./moved.js";
import type { Plan } from "./plan.js";
import { clusterPeers, type PeerClaim, sharedConflicts, wantedByPeers } from "./shared.js";
import { inspectForPlan, vaultMovedSince, withVault } from "./vault.js";

/**
 * One environment as planning and applying see it, built once by the caller (the CLI from its
 * flags, the programmatic API from its options): the config, the resolved environment, what it
 * wants, and the cluster it lives on.
 */
export interface PlanTarget {
  config: Config;
  env: ResolvedEnvironment;
  graph: Graph;
  desired: DesiredComponent[];
  kube: KubernetesProvider;
  pctx: ProviderContext;
}

export interface ComposeOptions {
  destroy?: boolean;
  deleteData?: boolean;
  /** The environment's Vault (absent: it has none, or it is not planned). */
  vault?: VaultAccess;
  /** The environment's DNS records, planned by the caller (it holds the token) beside the cluster. */
  dns?: Promise<DnsStep | undefined>;
}

/**
 * The environment's whole live plan: the cluster's objects, Vault's configuration under the vault
 * component, and the DNS records beside them. Vault, DNS and the cluster's other environments are
 * read while the cluster is planned: separate servers, no reason to wait for one.
 */
export async function composePlan(target: PlanTarget, o: ComposeOptions = {}): Promise<Plan> {
  const { vault, dns, ...rest } = o;
  // An object the cluster's environments cannot share (validate's check) is refused before anything
  // is read or written; a destroy still runs.
  if (!o.destroy && target.env.peers?.length) {
    const names = [target.env.name, ...target.env.peers.map((p) => p.name)];
    throwIfErrors(sharedConflicts(target.config, names));
  }
  const inspection = vault && !o.destroy ? inspectForPlan(target, vault) : undefined;
  dns?.catch(() => {}); // awaited below
  // What the cluster's other environments want matters only for deletions, at the end.
  const peers = Promise.resolve().then(() => deployedPeers(target));
  peers.catch(() => {}); // awaited by livePlan
  let plan = await livePlan(target.env, target.graph, target.desired, {
    kube: target.kube,
    ctx: target.pctx,
    ...rest,
    wantedByPeers: peers,
  });
  if (vault && inspection) plan = await withVault(plan, target, vault, inspection);
  const records = await dns;
  return records ? withDns(plan, records.changes) : plan;
}

/**
 * What the other environments of this cluster that are deployed (their ApplySet parent exists)
 * want: this environment's deletions keep it. None without peers, at no cost to the plan.
 */
async function deployedPeers(target: PlanTarget): Promise<Map<string, PeerClaim[]>> {
  const peers = clusterPeers(target.config, target.env);
  const deployed = new Set<string>();
  await Promise.all(
    [...peers.keys()].map(async (name) => {
      if (await readParent(target.kube, name)) deployed.add(name);
    }),
  );
  return wantedByPeers(peers, (name) => deployed.has(name));
}

/**
 * What moved since a saved plan was made, in every system it touches: an object's version in the
 * cluster, and Vault or DNS now changing something else than the plan says. Empty: apply it.
 */
export async function movedSincePlan(
  plan: Plan,
  target: PlanTarget,
  o: { vault?: VaultAccess; dns?: DnsStep } = {},
): Promise<string[]> {
  return [
    ...(await movedSince(plan, target.kube)),
    ...(o.vault ? await vaultMovedSince(plan, target, o.vault) : []),
    ...(plan.outside?.dns ? changesMoved(plan.outside.dns, (o.dns?.changes ?? []).map(dnsChange)) : []),
  ];
}
