import { CATALOG } from "../catalog/index.js";
import type { ComponentId } from "../config/ids.js";
import type { Config } from "../config/schema.js";
import { type Diagnostic, error } from "../diagnostics/diagnostic.js";
import { activeComponents } from "../graph/graph.js";
import { EXTERNAL_OK } from "../model/components.js";
import { formatBytes, parseQuantity } from "../model/quantity.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { byCodeUnit } from "../util/order.js";

/** Kept free for the OS, kubelet and containerd on the VPS. */
const SYSTEM_RESERVE = { memory: 512 * 2 ** 20, cpu: 0.25 };

interface Placed {
  env: string;
  id: ComponentId;
  memory: number;
  cpu: number;
}

/**
 * Sums the memory and CPU requests placed on each cluster with a declared size, across every
 * environment, and reports clusters that cannot fit (a cluster-wide component counts once).
 */
export function checkCapacity(config: Config, environments: ResolvedEnvironment[]): Diagnostic[] {
  const byCluster = new Map<string, Map<string, Placed>>();
  for (const env of environments) {
    for (const id of activeComponents(env)) {
      const placement = env.components[id].placement;
      if (placement.kind === "external") continue;
      const c = CATALOG[id];
      const key = c.scope === "cluster" ? id : `${env.name}/${id}`;
      const requests = c.requests(env);
      const placed = byCluster.get(placement.cluster) ?? new Map<string, Placed>();
      placed.set(key, {
        env: env.name,
        id,
        memory: parseQuantity(requests.memory),
        cpu: parseQuantity(requests.cpu),
      });
      byCluster.set(placement.cluster, placed);
    }
  }
  const diagnostics: Diagnostic[] = [];
  for (const [cluster, placed] of [...byCluster].sort(([a], [b]) => byCodeUnit(a, b))) {
    const raw = config.clusters[cluster];
    const declared = raw?.vps ?? raw?.capacity;
    if (!declared) continue;
    const memory = parseQuantity(declared.memory);
    const items = [...placed.values()];
    const needMemory = items.reduce((s, p) => s + p.memory, SYSTEM_RESERVE.memory);
    const needCpu = items.reduce((s, p) => s + p.cpu, SYSTEM_RESERVE.cpu);
    const top = [...items].sort((a, b) => b.memory - a.memory).slice(0, 4);
    // Name the environment only where several share the cluster.
    const shared = new Set(items.map((p) => p.env)).size > 1;
    const biggest = top
      .map((p) => `${p.id}${shared ? ` (${p.env})` : ""} ${formatBytes(p.memory)}`)
      .join(", ");
    const path = raw?.vps ? `clusters.${cluster}.vps` : `clusters.${cluster}.capacity`;
    const heaviest = top[0];
    // Only a managed service takes load off a cluster today (placement on another cluster is refused).
    const where = heaviest && `environments.${heaviest.env}.components.${heaviest.id}`;
    const moveHint = !heaviest
      ? ""
      : EXTERNAL_OK.has(heaviest.id)
        ? `, or make ${heaviest.id} a managed service (${where}.placement: { external: ... }) or turn it off`
        : `, or turn ${heaviest.id} off (${where}.enabled: false)`;
    if (needMemory > memory) {
      diagnostics.push(
        error(
          `cluster ${cluster} has ${declared.memory} of memory but what is placed on it requests ${formatBytes(needMemory)} (largest: ${biggest}; ${formatBytes(SYSTEM_RESERVE.memory)} kept for the system)`,
          { path: `${path}.memory`, fix: `use a VPS with at least ${formatBytes(needMemory)}${moveHint}` },
        ),
      );
    }
    if (needCpu > declared.cores) {
      diagnostics.push(
        error(
          `cluster ${cluster} has ${declared.cores} cores but what is placed on it requests ${Number(needCpu.toFixed(2))}`,
          { path: `${path}.cores`, fix: `use a VPS with at least ${Math.ceil(needCpu)} cores${moveHint}` },
        ),
      );
    }
  }
  return diagnostics;
}
