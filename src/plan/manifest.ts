import type { ExternalResource, KubeObject } from "../catalog/types.js";
import type { ComponentId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { KubernetesProvider } from "../providers/kubernetes/provider.js";
import { fetchManifest, manifestMembers } from "../providers/manifest.js";
import type { FieldDiff, ProviderContext, ResourceChange } from "../providers/types.js";
import type { Change } from "./plan.js";

/** A remote manifest step as planned: one change, and what it says about its objects. */
export interface PlannedManifest {
  change: Change;
  /** The identities of its objects (when it could be read): wanted, so never planned for deletion. */
  ids: string[];
  /** It could not be read: its objects already applied are kept, since they cannot be told apart. */
  unread: boolean;
}

/** How many of a step's changed objects its detail names before "and N more". */
const NAMED = 8;

/**
 * A pinned operator manifest, compared with the cluster object by object, as any other objects
 * are (a converged member needs no request; anything else is a dry run): a no-op once applied, an
 * update naming what a hand edit changed. One that cannot be read (no network, no cached copy) is
 * planned as an update that says so: apply sends it whole, and a plan must not claim it converged.
 */
export async function planManifest(
  step: ExternalResource,
  component: ComponentId,
  env: ResolvedEnvironment,
  kube: KubernetesProvider,
  ctx: ProviderContext,
): Promise<PlannedManifest> {
  const base = {
    provider: step.provider,
    kind: step.kind,
    name: step.name,
    ...(step.source ? { spec: step.source } : {}),
  };
  let objects: KubeObject[];
  try {
    if (!step.source) throw new Error("the catalog gives it no pinned source");
    objects = manifestMembers(
      await fetchManifest(step.source, fetch, ctx.manifestCache),
      env,
      component,
      step.name,
    );
  } catch (e) {
    const why = (e as Error).message.split("\n")[0];
    return {
      change: { ...base, action: "update", detail: `${step.detail}; not compared with the cluster: ${why}` },
      ids: [],
      unread: true,
    };
  }
  const changes = await kube.plan(
    objects.map((spec) => ({ provider: "kubernetes", id: "", component, spec })),
    ctx,
  );
  const changed = changes.filter((c) => c.action !== "no-op");
  const ids = changes.map((c) => c.id);
  if (changed.length === 0) {
    return { change: { ...base, action: "no-op", detail: step.detail }, ids, unread: false };
  }
  const allNew = changed.length === changes.length && changed.every((c) => c.action === "create");
  const named = changed.slice(0, NAMED).map((c) => `${c.action} ${nameOf(c)}`);
  if (changed.length > NAMED) named.push(`and ${changed.length - NAMED} more`);
  const diff: FieldDiff[] = changed.flatMap((c) =>
    c.action === "create" ? [] : (c.diff ?? []).map((d) => ({ ...d, path: `${nameOf(c)} ${d.path}` })),
  );
  return {
    change: {
      ...base,
      action: allNew ? "create" : "update",
      detail: `${step.detail}; ${changed.length} of its ${changes.length} objects: ${named.join(", ")}`,
      ...(diff.length ? { diff } : {}),
    },
    ids,
    unread: false,
  };
}

function nameOf(c: ResourceChange): string {
  return `${c.kind} ${c.namespace ? `${c.namespace}/` : ""}${c.name}`;
}
