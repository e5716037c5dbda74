import { parseIdentity } from "../providers/kubernetes/identity.js";
import type { KubernetesProvider } from "../providers/kubernetes/provider.js";
import type { Change, Plan } from "./plan.js";

/**
 * A saved plan applies only to the cluster it was made against: every object it touches must still
 * be at the version seen then (absent stays absent). Returns what moved.
 */
export async function movedSince(plan: Plan, kube: Pick<KubernetesProvider, "read">): Promise<string[]> {
  const moved: string[] = [];
  for (const c of plan.phases.flatMap((p) => p.components)) {
    for (const ch of c.changes) {
      if (!ch.id || (ch.provider !== "kubernetes" && ch.provider !== "secret")) continue;
      const live = await kube.read(parseIdentity(ch.id));
      const now = live?.metadata?.resourceVersion;
      if (now !== ch.liveVersion) {
        moved.push(
          `${ch.kind} ${ch.namespace ? `${ch.namespace}/` : ""}${ch.name}: ${ch.liveVersion ? `was at version ${ch.liveVersion}` : "was absent"}, now ${now ? `at version ${now}` : "absent"}`,
        );
      }
    }
  }
  return moved;
}

/**
 * What moved between the changes a saved plan holds and those planned now, for resources whose
 * live version plinth cannot pin (Vault, DNS): one line per resource whose effect differs.
 */
export function changesMoved(saved: readonly Change[], now: readonly Change[]): string[] {
  // What a change amounts to; a no-op amounts to nothing, whatever it saw.
  const effect = (c: Change | undefined) =>
    !c || c.action === "no-op"
      ? "no change"
      : `${c.action}${c.diff?.length ? ` (${c.diff.map((d) => d.path).join(", ")})` : ""}`;
  const key = (c: Change) => `${c.kind} ${c.name}`;
  const before = new Map(saved.map((c) => [key(c), c]));
  const after = new Map(now.map((c) => [key(c), c]));
  const moved: string[] = [];
  for (const k of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const [b, a] = [before.get(k), after.get(k)];
    const same =
      effect(b) === effect(a) &&
      (effect(b) === "no change" ||
        (JSON.stringify(b?.diff ?? []) === JSON.stringify(a?.diff ?? []) &&
          (b?.liveVersion ?? "") === (a?.liveVersion ?? "")));
    if (!same) moved.push(`${k}: planned ${effect(b)}, now ${effect(a)}`);
  }
  return moved;
}
