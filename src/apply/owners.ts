/**
 * The owner account step of apply: once a component with a first-visitor sign-up (SigNoz,
 * OpenPanel) passes its health checks, plinth signs its owner up before anyone else can.
 */
import { runsHere } from "../catalog/cluster.js";
import { ownerAccount } from "../catalog/owners.js";
import type { ComponentId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { KubernetesProvider } from "../providers/kubernetes/provider.js";
import { ensureOwner } from "../providers/owners/owner.js";

export interface OwnerReport {
  waiting(detail: string): void;
  applied(change: { action: "create"; kind: string; name: string; namespace: string }): void;
}

/** The change event's kind: the account is a thing plinth made, shown like an object. */
export const OWNER_KIND = "OwnerAccount";

/** What `--no-wait` or `--no-health-checks` leaves undone, for the component's ready event. */
export function ownerSkipped(env: ResolvedEnvironment, component: ComponentId): string | undefined {
  const account = ownerAccount(env, component);
  return account
    ? `owner ${account.email} not signed up (needs the health checks): run plinth apply ${env.name} without --no-wait or --no-health-checks`
    : undefined;
}

/** Signs the component's owner up if it has one and plinth has not yet; the number of changes made. */
export async function ownerStep(o: {
  kube: KubernetesProvider;
  env: ResolvedEnvironment;
  component: ComponentId;
  report: OwnerReport;
  secretWaitMs: number;
  signal?: AbortSignal;
}): Promise<number> {
  const account = ownerAccount(o.env, o.component);
  // Only a component the catalog runs here has an owner to make (not a managed service, not a
  // plan of other objects under its name).
  if (!account || !runsHere(o.env, o.component)) return 0;
  o.report.waiting(`owner ${account.email}: signing up through ${account.service}.${account.namespace}`);
  const outcome = await ensureOwner({
    kube: o.kube,
    env: o.env,
    account,
    waiting: o.report.waiting,
    secretWaitMs: o.secretWaitMs,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (outcome === "exists") return 0;
  o.report.applied({ action: "create", kind: OWNER_KIND, name: account.email, namespace: account.namespace });
  return 1;
}
