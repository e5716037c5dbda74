import type { ResourceChange } from "../providers/types.js";
import type { Change } from "./plan.js";

/**
 * The one way a provider's change becomes a plan's: identity, action, field diff, what apply sends
 * and the version seen. What a reader needs besides (a Secret's key names, where a DNS record
 * points) comes in `extra`, from the planner that knows it.
 */
export function planChange(c: ResourceChange<unknown>, extra: Partial<Change> = {}): Change {
  return {
    action: c.action,
    provider: c.provider as Change["provider"],
    id: c.id,
    kind: c.kind,
    name: c.name,
    ...(c.namespace ? { namespace: c.namespace } : {}),
    ...extra,
    ...(c.diff.length ? { diff: c.diff } : {}),
    ...(c.spec !== undefined ? { spec: c.spec } : {}),
    ...(c.liveVersion ? { liveVersion: c.liveVersion } : {}),
  };
}
