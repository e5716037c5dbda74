import type { ComponentId, Layer, PhaseId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { SecretSpec } from "../secrets/spec.js";

/** The secret-spec language is the secrets layer's; components name their secrets in it. */
export type { SecretKeySpec, SecretSpec } from "../secrets/spec.js";

/** A Kubernetes object as plain data; rendered deterministically, applied server-side. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Something a component needs that is not a Kubernetes object plinth renders itself. */
export interface ExternalResource {
  provider: "ssh" | "manifest";
  kind: string;
  name: string;
  /** Shown in plan output. */
  detail: string;
  /** For `manifest`: the pinned release URL, its sha256 and the images to replace. */
  source?: ManifestSource;
}

/** An upstream manifest: an immutable URL, the sha256 of its bytes, images swapped after parsing. */
export interface ManifestSource {
  url: string;
  sha256: string;
  imageOverrides: { from: string; to: string }[];
}

export type HealthCheck =
  | {
      kind: "condition";
      apiVersion: string;
      objectKind: string;
      name: string;
      namespace?: string;
      condition: string;
    }
  | {
      kind: "status";
      apiVersion: string;
      objectKind: string;
      name: string;
      namespace?: string;
      field: string;
      equals: string;
    }
  | { kind: "workload"; objectKind: "Deployment" | "StatefulSet"; name: string; namespace: string }
  | { kind: "http"; service: string; namespace: string; port: number; path: string; expect?: string }
  | { kind: "vault"; service: string; namespace: string; port: number }
  | { kind: "redis-ping"; service: string; namespace: string; port: number };

export interface Requests {
  /** Kubernetes quantities: the budget the component's pods request together. */
  memory: string;
  cpu: string;
}

/** One catalog entry: everything plinth knows about a component, as functions of the resolved environment. */
export interface Component {
  id: ComponentId;
  title: string;
  phase: PhaseId;
  /** Position inside the phase as the blueprint numbers it (`0.1`, `0.2`, …). */
  step: string;
  layer: Layer;
  /** `cluster`: one instance per cluster, shared by its environments; `environment`: one per environment. */
  scope: "cluster" | "environment";
  dependsOn: readonly ComponentId[];
  /** Holds data: Helm failures abort instead of uninstalling, and volumes survive destroy by default. */
  stateful: boolean;
  namespace(env: ResolvedEnvironment): string;
  objects(env: ResolvedEnvironment): KubeObject[];
  external?(env: ResolvedEnvironment): ExternalResource[];
  secrets(env: ResolvedEnvironment): SecretSpec[];
  health(env: ResolvedEnvironment): HealthCheck[];
  requests(env: ResolvedEnvironment): Requests;
}
