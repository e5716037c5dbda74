import type { ComponentId } from "../config/ids.js";
import type { Namespaces, ResolvedEnvironment } from "../model/types.js";
import { toYaml } from "../util/yaml.js";
import type { KubeObject } from "./types.js";

export const MANAGED_BY = "plinth";
/** StorageClass every stateful component uses: k3s's local-path provisioner with the Retain policy. */
export const STORAGE_CLASS = "local-path-retain";
/**
 * An Altinity operator's `volumeClaimTemplates` entry named `data`: kept by the operator when its
 * installation is deleted (`Retain`), on plinth's retaining storage class.
 */
export function retainedDataClaim(storage: string): Record<string, unknown> {
  return {
    name: "data",
    reclaimPolicy: "Retain",
    spec: {
      storageClassName: STORAGE_CLASS,
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage } },
    },
  };
}
/** The wildcard certificate Traefik serves by default (one certificate for base and internal zones). */
export const WILDCARD_TLS_SECRET = "plinth-wildcard-tls";

export function labels(env: ResolvedEnvironment, component: ComponentId): Record<string, string> {
  return {
    "app.kubernetes.io/managed-by": MANAGED_BY,
    "app.kubernetes.io/part-of": env.project,
    "plinth.dev/component": component,
    "plinth.dev/environment": env.name,
  };
}

/**
 * The namespace a component's objects go to. A component moved to another cluster keeps its
 * environment's name there, since that cluster may serve other environments too.
 */
export function namespaceOf(
  env: ResolvedEnvironment,
  component: ComponentId,
  base: keyof Namespaces,
): string {
  const placement = env.components[component].placement;
  if (placement.kind === "cluster" && base !== "platform") return `${base}-${env.name}`;
  return env.namespaces[base];
}

/** Helm release names: cluster-wide components once per cluster, the others once per environment. */
export function releaseName(
  env: ResolvedEnvironment,
  name: string,
  scope: "cluster" | "environment",
): string {
  return scope === "cluster" ? name : `${name}-${env.name}`;
}

export interface ChartRef {
  repo: string | undefined;
  chart: string;
  version: string;
}

export interface HelmChartOptions {
  name: string;
  chart: ChartRef;
  targetNamespace: string;
  values: Record<string, unknown>;
  /** Data-holding charts must not be uninstalled by helm-controller when an upgrade fails. */
  stateful: boolean;
  /** Secrets whose keys are merged into the values by helm-controller, so values never carry secrets. */
  valuesSecrets?: { name: string; keys: string[] }[];
  timeout?: string;
}

/**
 * A k3s helm-controller `HelmChart` in kube-system, installing into `targetNamespace`. Fields at
 * their default (false, empty) are left out: helm-controller writes the object back without them,
 * and rendering them would show as a change on every plan.
 */
export function helmChart(env: ResolvedEnvironment, component: ComponentId, o: HelmChartOptions): KubeObject {
  return {
    apiVersion: "helm.cattle.io/v1",
    kind: "HelmChart",
    metadata: { name: o.name, namespace: "kube-system", labels: labels(env, component) },
    spec: {
      ...(o.chart.repo ? { repo: o.chart.repo } : {}),
      chart: o.chart.chart,
      ...(o.chart.repo ? { version: o.chart.version } : {}),
      targetNamespace: o.targetNamespace,
      failurePolicy: o.stateful ? "abort" : "reinstall",
      timeout: o.timeout ?? "15m0s",
      valuesContent: toYaml(o.values),
      ...(o.valuesSecrets
        ? {
            valuesSecrets: o.valuesSecrets.map((s) => ({ name: s.name, keys: s.keys })),
          }
        : {}),
    },
  };
}

export function namespace(name: string, objectLabels: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: objectLabels } };
}

/** Ingress values in the shape most charts share (`ingress.enabled/className/hosts/tls`). */
export function ingressTls(host: string): { hosts: string[] }[] {
  return [{ hosts: [host] }];
}

export function hostOf(
  env: ResolvedEnvironment,
  service: keyof ResolvedEnvironment["hosts"],
): string | undefined {
  return env.hosts[service]?.host;
}

/**
 * A component's memory request: the user's override, else the full size for staging and prod
 * (1:1 with each other) and the small one for dev, ci and test.
 */
export function memoryFor(
  env: ResolvedEnvironment,
  component: ComponentId,
  sizes: { full: string; small: string },
): string {
  return (
    env.componentResources[component]?.memory ??
    (env.kind === "prod" || env.kind === "staging" ? sizes.full : sizes.small)
  );
}
