import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/catalog/types.js";
import { crdFiles } from "../../testbed/crds.js";

/**
 * Validators for every object plinth renders: the Kubernetes OpenAPI schema (kubernetes-models)
 * for built-in kinds, and the upstream CRD's own openAPIV3Schema (read from the pinned Go module,
 * as the test bed's API server does) for custom resources.
 */
const BUILT_IN: Record<string, string> = {
  "v1/Namespace": "kubernetes-models/v1/Namespace",
  "v1/Service": "kubernetes-models/v1/Service",
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Secret": "kubernetes-models/v1/Secret",
  "v1/ServiceAccount": "kubernetes-models/v1/ServiceAccount",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "apps/v1/StatefulSet": "kubernetes-models/apps/v1/StatefulSet",
  "networking.k8s.io/v1/Ingress": "kubernetes-models/networking.k8s.io/v1/Ingress",
  "storage.k8s.io/v1/StorageClass": "kubernetes-models/storage.k8s.io/v1/StorageClass",
};

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; schema?: { openAPIV3Schema: object } }[];
  };
}

export type Validate = (o: KubeObject) => string[];

export async function objectValidator(): Promise<{ validate: Validate; crdKinds: string[] }> {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const custom = new Map<string, ValidateFunction>();
  for (const file of new Set((await crdFiles()).map((c) => c.file))) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      const crd = doc.toJS() as Crd | null;
      if (!crd?.spec?.versions) continue;
      for (const v of crd.spec.versions) {
        if (!v.schema) continue;
        custom.set(
          `${crd.spec.group}/${v.name}/${crd.spec.names.kind}`,
          ajv.compile(v.schema.openAPIV3Schema),
        );
      }
    }
  }
  const builtIn = new Map<string, { validate(): void }>();
  for (const [key, path] of Object.entries(BUILT_IN)) {
    const kind = key.split("/").pop() as string;
    const mod = (await import(path)) as Record<string, new (o: unknown) => { validate(): void }>;
    builtIn.set(key, { validate: () => {} });
    builtIn.set(key, mod[kind] as unknown as { validate(): void });
  }
  const validate: Validate = (o) => {
    const key = `${o.apiVersion}/${o.kind}`;
    const fn = custom.get(key);
    if (fn) return fn(o) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    const Model = builtIn.get(key) as unknown as (new (o: unknown) => { validate(): void }) | undefined;
    if (!Model) return [`no schema known for ${key}`];
    try {
      new Model(o).validate();
      return [];
    } catch (e) {
      return [(e as Error).message];
    }
  };
  return { validate, crdKinds: [...custom.keys()].sort() };
}
