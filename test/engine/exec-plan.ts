/**
 * Plans of hand-written objects, made by the Kubernetes provider and run by `execute()`: for tests
 * of the executor's behaviour where the catalog's own objects would hide what is being checked.
 */
import type { EngineEvent } from "../../src/apply/events.js";
import { type ExecuteOptions, execute } from "../../src/apply/executor.js";
import type { HealthCheck, KubeObject } from "../../src/catalog/types.js";
import type { ComponentId } from "../../src/config/ids.js";
import { buildGraph } from "../../src/graph/graph.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { type Change, finishPlan, type Plan } from "../../src/plan/plan.js";
import type { KubernetesProvider, KubeSpec } from "../../src/providers/kubernetes/provider.js";
import type { ProviderContext, ResourceChange } from "../../src/providers/types.js";

export interface ExecBed {
  kube: KubernetesProvider;
  env: ResolvedEnvironment;
  ctx: ProviderContext;
  /** Where the test's objects live (the components' namespace in the plan). */
  namespace: string;
}

function toChange(c: ResourceChange<KubeSpec>): Change {
  return {
    action: c.action,
    provider: "kubernetes",
    id: c.id,
    kind: c.kind,
    name: c.name,
    ...(c.namespace ? { namespace: c.namespace } : {}),
    ...(c.spec ? { apiVersion: c.spec.object.apiVersion } : {}),
    ...(c.diff.length ? { diff: c.diff } : {}),
    spec: c.spec,
    ...(c.liveVersion ? { liveVersion: c.liveVersion } : {}),
  };
}

/** A one-phase plan: one component per entry, run concurrently, with the given health checks. */
export async function planOf(
  bed: ExecBed,
  groups: Partial<Record<ComponentId, KubeObject[]>>,
  health: Partial<Record<ComponentId, HealthCheck[]>> = {},
): Promise<Plan> {
  const components = await Promise.all(
    Object.entries(groups).map(async ([id, objects]) => {
      const component = id as ComponentId;
      const changes = await bed.kube.plan(
        (objects ?? []).map((spec) => ({ provider: "kubernetes", id: "", component, spec })),
        bed.ctx,
      );
      return {
        id: component,
        title: `test objects (${id})`,
        step: "1.3",
        layer: "L3",
        namespace: bed.namespace,
        placement: "local" as const,
        dependsOn: [],
        changes: changes.map(toChange),
        ...(health[component] ? { health: health[component] } : {}),
      };
    }),
  );
  return finishPlan({ env: bed.ctx.env, cluster: "bed", offline: false, phases: [{ id: "1", components }] });
}

/** Runs a plan, collecting its events; the error (if any) is returned, not thrown. */
export async function runPlan(
  bed: ExecBed,
  plan: Plan,
  o: Pick<ExecuteOptions, "timeoutScale" | "maxWaitMs" | "skipHealthChecks" | "noWait"> &
    Partial<Pick<ExecuteOptions, "desired">> = {},
): Promise<{ events: EngineEvent[]; elapsedMs: number; error: Error | undefined }> {
  const events: EngineEvent[] = [];
  const started = Date.now();
  try {
    await execute(plan, {
      // What the config produces for this environment, as the plan step hands it to apply.
      desired: desiredComponents(bed.env, buildGraph(bed.env)),
      kube: bed.kube,
      ctx: bed.ctx,
      env: bed.env,
      onEvent: (e) => events.push(e),
      ...o,
    });
    return { events, elapsedMs: Date.now() - started, error: undefined };
  } catch (error) {
    return { events, elapsedMs: Date.now() - started, error: error as Error };
  }
}

/** The `waiting` details a component reported, in order. */
export function waitingDetails(events: EngineEvent[], component: string): string[] {
  return events.flatMap((e) =>
    e.type === "component" && e.component === component && e.status === "waiting" && e.detail
      ? [e.detail]
      : [],
  );
}
