import type { KubernetesObject } from "@kubernetes/client-node";
import type { KubeObject } from "../../catalog/types.js";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export function refOf(o: KubeObject): ObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
  };
}

/** `kubernetes:apps/v1:Deployment:data/redis`; cluster-scoped objects have no `ns/`. */
export function identityOf(ref: ObjectRef): string {
  return `kubernetes:${ref.apiVersion}:${ref.kind}:${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

export function parseIdentity(id: string): ObjectRef {
  const m = /^kubernetes:(.+):([A-Za-z0-9]+):(?:([^/:]+)\/)?([^/:]+)$/.exec(id);
  if (!m) throw new Error(`not a kubernetes identity: ${id}`);
  const [, apiVersion, kind, namespace, name] = m as unknown as [
    string,
    string,
    string,
    string | undefined,
    string,
  ];
  return { apiVersion, kind, name, ...(namespace ? { namespace } : {}) };
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? (apiVersion.split("/")[0] as string) : "";
}

/** `Deployment.apps`, `Namespace` (core group has no suffix), as in ApplySet annotations. */
export function groupKind(ref: { apiVersion: string; kind: string }): string {
  const group = groupOf(ref.apiVersion);
  return group ? `${ref.kind}.${group}` : ref.kind;
}

export function displayName(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

/** A live object as read from the API server: any fields, typed loosely. */
export type Obj = KubernetesObject & Record<string, unknown>;
