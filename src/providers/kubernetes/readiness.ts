import type { KubeObject } from "../../catalog/types.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { Obj } from "./identity.js";
import { displayName, type ObjectRef, refOf } from "./identity.js";

export const CONFIG_HASH = "helmcharts.helm.cattle.io/configHash";

export interface Probe {
  ready: boolean;
  /** Set when the object reached a state it will not recover from by waiting (e.g. Job Failed). */
  failed?: string;
  /** What was last seen, for progress and for the timeout message. */
  status: string;
}

/** A named condition with a timeout: the only kind of waiting plinth does. */
export interface Wait {
  object: ObjectRef;
  condition: string;
  timeoutMs: number;
  probe(): Promise<Probe>;
}

type Condition = {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
};

function conditionOf(o: Obj | undefined, type: string): Condition | undefined {
  const conditions = ((o?.status as { conditions?: Condition[] } | undefined)?.conditions ??
    []) as Condition[];
  return conditions.find((c) => c.type === type);
}

export function conditionProbe(o: Obj | undefined, type: string): Probe {
  if (!o) return { ready: false, status: "not found yet" };
  const c = conditionOf(o, type);
  if (!c) return { ready: false, status: `no ${type} condition yet` };
  const status = `${type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : ""}`;
  // A condition about an older spec says nothing about the one just applied.
  const generation = o.metadata?.generation;
  if (c.observedGeneration !== undefined && generation !== undefined && c.observedGeneration < generation)
    return { ready: false, status: `${status}, for generation ${c.observedGeneration} of ${generation}` };
  return { ready: c.status === "True", status };
}

const MINUTE = 60_000;

/**
 * The reads a wait makes, as KubernetesProvider offers them: named here so readiness (which the
 * provider uses for terminating objects) needs nothing from the provider's module.
 */
export interface ObjectReader {
  read(ref: ObjectRef): Promise<Obj | undefined>;
  listBySelector(apiVersion: string, kind: string, namespace: string, selector: string): Promise<Obj[]>;
}

export interface WaitOptions {
  kube: ObjectReader;
  /** The helm-install Job's configHash before this apply, when the HelmChart existed. */
  previousConfigHash?: string;
  /** The HelmChart changed in this apply, so a new install Job must run. */
  changed: boolean;
  timeoutScale?: number;
}

/** The readiness conditions of one applied object, by kind (none for kinds that are ready when stored). */
export function waitsFor(object: KubeObject, o: WaitOptions): Wait[] {
  const ref = refOf(object);
  const t = (ms: number) => ms * (o.timeoutScale ?? 1);
  const read = () => o.kube.read(ref);
  switch (`${object.apiVersion}/${object.kind}`) {
    case "apiextensions.k8s.io/v1/CustomResourceDefinition":
      return [
        {
          object: ref,
          condition: "Established",
          timeoutMs: t(MINUTE),
          probe: async () => conditionProbe(await read(), "Established"),
        },
      ];
    case "apps/v1/Deployment":
      return [
        {
          object: ref,
          condition: "Available",
          timeoutMs: t(10 * MINUTE),
          probe: async () => deploymentProbe(await read()),
        },
      ];
    case "apps/v1/StatefulSet":
      return [
        {
          object: ref,
          condition: "ready replicas",
          timeoutMs: t(10 * MINUTE),
          probe: async () => statefulSetProbe(await read()),
        },
      ];
    case "batch/v1/Job":
      return [
        {
          object: ref,
          condition: "Complete",
          timeoutMs: t(15 * MINUTE),
          probe: async () => jobProbe(await read()),
        },
      ];
    case "helm.cattle.io/v1/HelmChart":
      return helmChartWaits(object, o, t);
    case "postgresql.cnpg.io/v1/Cluster":
      return [
        {
          object: ref,
          condition: "Ready",
          timeoutMs: t(15 * MINUTE),
          probe: async () => conditionProbe(await read(), "Ready"),
        },
      ];
    case "database.arangodb.com/v1/ArangoDeployment":
      return [
        {
          object: ref,
          condition: "Ready",
          timeoutMs: t(15 * MINUTE),
          probe: async () => conditionProbe(await read(), "Ready"),
        },
      ];
    case "cert-manager.io/v1/Certificate":
      return [
        {
          object: ref,
          condition: "Ready",
          timeoutMs: t(15 * MINUTE),
          probe: async () => conditionProbe(await read(), "Ready"),
        },
      ];
    case "clickhouse.altinity.com/v1/ClickHouseInstallation":
      return [
        {
          object: ref,
          condition: "status Completed",
          timeoutMs: t(15 * MINUTE),
          probe: async () => {
            const live = await read();
            const status = (live?.status as { status?: string } | undefined)?.status;
            return { ready: status === "Completed", status: `status=${status ?? "(none yet)"}` };
          },
        },
      ];
    default:
      return [];
  }
}

export function deploymentProbe(d: Obj | undefined): Probe {
  if (!d) return { ready: false, status: "not found yet" };
  const s = (d.status ?? {}) as {
    observedGeneration?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
  const want = ((d.spec as { replicas?: number } | undefined)?.replicas ?? 1) as number;
  const generation = d.metadata?.generation ?? 0;
  const available = conditionProbe(d, "Available");
  const fresh = (s.observedGeneration ?? 0) >= generation;
  const ready =
    available.ready && fresh && (s.updatedReplicas ?? 0) >= want && (s.availableReplicas ?? 0) >= want;
  return { ready, status: `${available.status}, ${s.availableReplicas ?? 0}/${want} available` };
}

export function statefulSetProbe(o: Obj | undefined): Probe {
  if (!o) return { ready: false, status: "not found yet" };
  const s = (o.status ?? {}) as { readyReplicas?: number; observedGeneration?: number };
  const want = ((o.spec as { replicas?: number } | undefined)?.replicas ?? 1) as number;
  const fresh = (s.observedGeneration ?? 0) >= (o.metadata?.generation ?? 0);
  return { ready: fresh && (s.readyReplicas ?? 0) >= want, status: `${s.readyReplicas ?? 0}/${want} ready` };
}

export function jobProbe(j: Obj | undefined): Probe {
  if (!j) return { ready: false, status: "not found yet" };
  // FailureTarget comes first (Kubernetes 1.31+): the Job has failed, its pods are still stopping.
  const failed = [conditionOf(j, "Failed"), conditionOf(j, "FailureTarget")].find(
    (c) => c?.status === "True",
  );
  if (failed)
    return {
      ready: false,
      failed: `${failed.type}: ${failed.reason ?? ""} ${failed.message ?? ""}`.trim(),
      status: "Failed",
    };
  return conditionProbe(j, "Complete");
}

/**
 * helm-controller reports only JobCreated/Failed: a chart is installed when its `helm-install-<name>`
 * Job has completed for this configuration (its pod template's configHash moved if the chart
 * changed), and then the release's own workloads are ready.
 */
function helmChartWaits(chart: KubeObject, o: WaitOptions, t: (ms: number) => number): Wait[] {
  const ref = refOf(chart);
  const jobRef: ObjectRef = {
    apiVersion: "batch/v1",
    kind: "Job",
    name: `helm-install-${chart.metadata.name}`,
    namespace: chart.metadata.namespace ?? "kube-system",
  };
  const target = ((chart.spec as { targetNamespace?: string } | undefined)?.targetNamespace ??
    jobRef.namespace) as string;
  return [
    {
      object: ref,
      condition: `installed (${jobRef.name} Complete for this configuration)`,
      timeoutMs: t(20 * 60_000),
      probe: async () => {
        const job = await o.kube.read(jobRef);
        if (!job) return { ready: false, status: `waiting for Job ${jobRef.name}` };
        const hash = (
          job.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined
        )?.template?.metadata?.annotations?.[CONFIG_HASH];
        if (o.changed && o.previousConfigHash && hash === o.previousConfigHash) {
          return { ready: false, status: `Job ${jobRef.name} still has the previous configHash` };
        }
        const probe = jobProbe(job);
        return { ...probe, status: `Job ${jobRef.name}: ${probe.status}` };
      },
    },
    {
      object: ref,
      condition: `release workloads ready in ${target}`,
      timeoutMs: t(15 * 60_000),
      probe: async () => {
        const selector = `app.kubernetes.io/instance=${chart.metadata.name}`;
        const [deployments, sets] = await Promise.all([
          o.kube.listBySelector("apps/v1", "Deployment", target, selector),
          o.kube.listBySelector("apps/v1", "StatefulSet", target, selector),
        ]);
        const waiting = [
          ...deployments
            .filter((d) => !deploymentProbe(d).ready)
            .map((d) => `Deployment ${d.metadata?.name}`),
          ...sets.filter((s) => !statefulSetProbe(s).ready).map((s) => `StatefulSet ${s.metadata?.name}`),
        ];
        return {
          ready: waiting.length === 0,
          status: waiting.length
            ? `waiting for ${waiting.join(", ")}`
            : `${deployments.length + sets.length} workloads ready`,
        };
      },
    },
  ];
}

/** Whether a live object is going away: it has a deletionTimestamp, its finalizers still pending. */
export function isTerminating(live: Obj | undefined): boolean {
  return Boolean(live?.metadata?.deletionTimestamp);
}

/**
 * The deletion of one object, seen from a read: finished once it is absent or another object of
 * the same name (no deletionTimestamp) stands in its place. While pending, the status names the
 * finalizers holding it and, for a namespace, the namespace controller's word on its content.
 */
export function deletionProbe(live: Obj | undefined): Probe {
  if (!isTerminating(live)) return { ready: true, status: live ? "created again" : "gone" };
  const finalizers = [
    ...(live?.metadata?.finalizers ?? []),
    ...(((live?.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) as string[]),
  ];
  const content = (
    ((live?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[]
  )
    .filter((c) => c.status === "True" && c.message)
    .map((c) => c.message as string);
  const pending = finalizers.length ? `finalizers pending: ${finalizers.join(", ")}` : "no finalizer left";
  return { ready: false, status: [pending, ...content].join("; ") };
}

/** A named wait for an object that is being deleted to be gone (usually its finalizers running). */
export function deletionWait(kube: ObjectReader, ref: ObjectRef, timeoutMs: number): Wait {
  return {
    object: ref,
    condition: "deleted (its finalizers done)",
    timeoutMs,
    probe: async () => deletionProbe(await kube.read(ref)),
  };
}

/** Polls a wait until ready, failed or timed out; the error names the object, condition and last status. */
export async function waitUntil(
  w: Wait,
  opts: { signal?: AbortSignal; onStatus?: (status: string) => void; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + w.timeoutMs;
  let interval = opts.intervalMs ?? 250;
  let last = "";
  for (;;) {
    const p = await w.probe();
    if (p.status !== last) opts.onStatus?.(p.status);
    last = p.status;
    if (p.ready) return;
    if (p.failed) {
      throw new UserError(
        error(`${displayName(w.object)} failed waiting for ${w.condition}: ${p.failed}`, {
          fix: "inspect the object and its events; fix the cause, then apply again",
        }),
      );
    }
    if (Date.now() > deadline || opts.signal?.aborted) {
      throw new UserError(
        error(
          `${displayName(w.object)} did not become ${w.condition} within ${Math.round(w.timeoutMs / 1000)}s; last seen: ${last}`,
          {
            fix: "inspect the object and its events; apply again to resume (finished work is not redone)",
          },
        ),
      );
    }
    await new Promise((r) => setTimeout(r, interval));
    interval = Math.min(2_000, interval * 1.5);
  }
}
