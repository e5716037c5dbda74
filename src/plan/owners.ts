/**
 * Owner accounts in a plan (SigNoz, OpenPanel: README "First-visitor takeover"). Not a change apply
 * sends: apply signs the owner up itself once the component passes its health checks, so the plan
 * says whether that will happen rather than counting it among the objects to create.
 */
import { runsHere } from "../catalog/cluster.js";
import { OWNER_TITLES, ownerAccount, ownerMarkerRef } from "../catalog/owners.js";
import type { ComponentId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { KubernetesProvider } from "../providers/kubernetes/provider.js";

export interface PlannedOwner {
  /** "SigNoz", "OpenPanel". */
  title: string;
  email: string;
  /**
   * `exists`: plinth's record of making it is there (apply leaves it alone); `create`: apply signs
   * it up after the health checks; `unknown`: an offline plan cannot tell.
   */
  state: "exists" | "create" | "unknown";
}

/** The component's owner as an offline plan sees it: made at apply, unless it exists. */
export function offlineOwner(env: ResolvedEnvironment, id: ComponentId): PlannedOwner | undefined {
  const a = ownerAccount(env, id);
  if (!a || !runsHere(env, id)) return undefined;
  return { title: OWNER_TITLES[a.api], email: a.email, state: "unknown" };
}

/** The component's owner as the cluster says: its marker read through the API server. */
export async function liveOwner(
  env: ResolvedEnvironment,
  id: ComponentId,
  kube: KubernetesProvider,
): Promise<PlannedOwner | undefined> {
  const a = ownerAccount(env, id);
  if (!a || !runsHere(env, id)) return undefined;
  const made = (await kube.read(ownerMarkerRef(a))) !== undefined;
  return { title: OWNER_TITLES[a.api], email: a.email, state: made ? "exists" : "create" };
}

/** The plan's line for it; none where it exists (a converged plan says nothing). */
export function ownerLine(o: PlannedOwner): string | undefined {
  if (o.state === "exists") return undefined;
  const what = `owner account for ${o.title} (${o.email})`;
  return o.state === "create"
    ? `${what}: will be created at apply, once ${o.title} passes its health checks`
    : `${what}: at apply, unless it exists (once ${o.title} passes its health checks)`;
}
