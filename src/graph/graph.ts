import { CATALOG } from "../catalog/index.js";
import { COMPONENT_IDS, type ComponentId, PHASES, type PhaseId } from "../config/ids.js";
import { type Diagnostic, error } from "../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../model/types.js";

export interface GraphNode {
  id: ComponentId;
  phase: PhaseId;
  step: string;
  layer: string;
  title: string;
  namespace: string;
  placement: ResolvedEnvironment["components"][ComponentId]["placement"]["kind"];
  cluster?: string;
  dependsOn: ComponentId[];
}

export interface Graph {
  env: string;
  phases: { id: PhaseId; components: GraphNode[] }[];
  diagnostics: Diagnostic[];
}

/** Components that run: enabled, and not an external managed endpoint (which is ready by definition). */
export function activeComponents(env: ResolvedEnvironment): ComponentId[] {
  return COMPONENT_IDS.filter((id) => env.components[id].enabled);
}

/**
 * The phase/dependency graph: phases in order, and inside each phase the components in an order
 * that honours their dependencies (ties broken by the blueprint's step number, then id).
 */
export function buildGraph(env: ResolvedEnvironment): Graph {
  const diagnostics: Diagnostic[] = [];
  const active = new Set(activeComponents(env));
  const deps = new Map<ComponentId, ComponentId[]>();
  for (const id of active) {
    const all = [...CATALOG[id].dependsOn, ...env.components[id].extraDependsOn];
    deps.set(id, [...new Set(all.filter((d) => active.has(d) && d !== id))].sort());
  }

  for (const id of active) {
    for (const extra of env.components[id].extraDependsOn) {
      if (!active.has(extra)) continue;
      if (PHASES.indexOf(CATALOG[extra].phase) > PHASES.indexOf(CATALOG[id].phase)) {
        diagnostics.push(
          error(
            `${id} (phase ${CATALOG[id].phase}) cannot depend on ${extra}, which runs later (phase ${CATALOG[extra].phase})`,
            {
              path: `environments.${env.name}.components.${id}.dependsOn`,
              fix: `remove ${extra} from the list`,
            },
          ),
        );
      }
    }
  }
  const cycle = findCycle(deps);
  if (cycle) {
    diagnostics.push(
      error(`dependency cycle: ${cycle.join(" → ")}`, {
        path: `environments.${env.name}.components.${cycle[0]}.dependsOn`,
        fix: "remove one of these dependsOn entries",
      }),
    );
  }

  const order = cycle ? [...active] : topologicalOrder(deps);
  const phases = PHASES.map((phase) => ({
    id: phase,
    components: order
      .filter((id) => CATALOG[id].phase === phase)
      .map((id): GraphNode => {
        const c = CATALOG[id];
        const placement = env.components[id].placement;
        return {
          id,
          phase,
          step: c.step,
          layer: c.layer,
          title: c.title,
          namespace: c.namespace(env),
          placement: placement.kind,
          ...(placement.kind !== "external" ? { cluster: placement.cluster } : {}),
          dependsOn: deps.get(id) ?? [],
        };
      }),
  }));
  return { env: env.name, phases, diagnostics };
}

/** Kahn's algorithm with a sorted ready set, so the order is the same on every run. */
function topologicalOrder(deps: Map<ComponentId, ComponentId[]>): ComponentId[] {
  const rank = (id: ComponentId) => `${CATALOG[id].step.padStart(8, "0")}:${id}`;
  const remaining = new Map([...deps].map(([id, d]) => [id, new Set(d)]));
  const out: ComponentId[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, d]) => d.size === 0).map(([id]) => id);
    ready.sort((a, b) => (rank(a) < rank(b) ? -1 : 1));
    const next = ready[0];
    if (!next) break;
    out.push(next);
    remaining.delete(next);
    for (const d of remaining.values()) d.delete(next);
  }
  return out;
}

function findCycle(deps: Map<ComponentId, ComponentId[]>): ComponentId[] | undefined {
  const state = new Map<ComponentId, "visiting" | "done">();
  const stack: ComponentId[] = [];
  const visit = (id: ComponentId): ComponentId[] | undefined => {
    if (state.get(id) === "done") return undefined;
    if (state.get(id) === "visiting") return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, "visiting");
    stack.push(id);
    for (const d of deps.get(id) ?? []) {
      const found = visit(d);
      if (found) return found;
    }
    stack.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const id of [...deps.keys()].sort()) {
    const found = visit(id);
    if (found) return found;
  }
  return undefined;
}

export function toMermaid(graph: Graph): string {
  const lines = [`flowchart TB`, `  %% plinth graph ${graph.env}`];
  for (const phase of graph.phases) {
    if (phase.components.length === 0) continue;
    lines.push(`  subgraph phase_${phase.id}["Phase ${phase.id === "999" ? "999" : `${phase.id}.x`}"]`);
    for (const c of phase.components) {
      const where = c.placement === "external" ? "external" : c.namespace;
      lines.push(`    ${nodeId(c.id)}["${c.title}<br/><small>${c.step} · ${c.layer} · ${where}</small>"]`);
    }
    lines.push("  end");
  }
  for (const phase of graph.phases) {
    for (const c of phase.components) {
      for (const d of c.dependsOn) lines.push(`  ${nodeId(d)} --> ${nodeId(c.id)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function nodeId(id: string): string {
  return id.replaceAll("-", "_");
}
