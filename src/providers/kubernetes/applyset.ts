import { createHash } from "node:crypto";
import type { KubeObject } from "../../catalog/types.js";

/**
 * ApplySet (KEP-3659) marks: one set per environment, its parent a ConfigMap in kube-system. The
 * parent records every group-kind and namespace the set has ever reached (union before apply, shrunk
 * after a successful prune), so an interrupted run never leaks objects that a later prune cannot find.
 */
export const PART_OF = "applyset.kubernetes.io/part-of";
export const APPLYSET_ID = "applyset.kubernetes.io/id";
export const TOOLING = "applyset.kubernetes.io/tooling";
export const CONTAINS = "applyset.kubernetes.io/contains-group-kinds";
export const NAMESPACES = "applyset.kubernetes.io/additional-namespaces";
export const PARENT_NAMESPACE = "kube-system";

export function parentName(env: string): string {
  return `plinth-applyset-${env}`;
}

/** The KEP's id: base64url(sha256("<name>.<namespace>.<Kind>.<group>")) without padding. */
export function applySetId(env: string): string {
  const digest = createHash("sha256")
    .update(`${parentName(env)}.${PARENT_NAMESPACE}.ConfigMap.`)
    .digest("base64url");
  return `applyset-${digest}-v1`;
}

export function parentObject(
  env: string,
  tooling: string,
  groupKinds: string[],
  namespaces: string[],
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: parentName(env),
      namespace: PARENT_NAMESPACE,
      labels: {
        [APPLYSET_ID]: applySetId(env),
        "app.kubernetes.io/managed-by": "plinth",
        "plinth.dev/environment": env,
      },
      annotations: {
        [TOOLING]: tooling,
        [CONTAINS]: [...new Set(groupKinds)].sort().join(","),
        [NAMESPACES]: [...new Set(namespaces)]
          .filter((n) => n !== PARENT_NAMESPACE)
          .sort()
          .join(","),
      },
    },
  };
}

/** Adds the membership label, leaving the rest of the object as the catalog rendered it. */
export function withMembership(o: KubeObject, env: string): KubeObject {
  return { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, [PART_OF]: applySetId(env) } } };
}

export function isMember(
  live: { metadata?: { labels?: Record<string, string> } } | undefined,
  env: string,
): boolean {
  return live?.metadata?.labels?.[PART_OF] === applySetId(env);
}
