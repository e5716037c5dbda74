/**
 * Smoke tests of the test bed's Kubernetes: proof that it is a real API server with real
 * controllers, scheduler, CRD schemas and helm-controller, not a stand-in.
 */
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crdFiles } from "../../testbed/crds.js";
import { KubeClient, objectPath, statusMessage } from "../../testbed/kube/client.js";
import { moduleDir, pinnedVersion } from "../../testbed/kube/layout.js";
import { root, testbedEnv } from "./env.js";

/**
 * The test bed's admin kubeconfig. These tests create and delete objects, so a KUBECONFIG that is
 * not the test bed's own (a developer's real cluster, say) is refused.
 */
function kubeconfig(): string {
  const path = resolve(testbedEnv("KUBECONFIG"));
  if (!path.startsWith(resolve(root, ".testbed"))) {
    throw new Error(
      `KUBECONFIG=${path} is not the test bed's (.testbed/kube/kubeconfig); refusing to use it`,
    );
  }
  return path;
}

const ns = `smoke-${process.pid}-${Date.now().toString(36)}`;
let kube: KubeClient;

interface Condition {
  type: string;
  status: string;
}
interface Obj {
  metadata: { name: string; managedFields?: { manager: string; operation: string }[] };
  data?: Record<string, string>;
  status?: {
    conditions?: Condition[];
    availableReplicas?: number;
    readyReplicas?: number;
    succeeded?: number;
    phase?: string;
  };
}

const hasCondition = (obj: Obj, type: string) =>
  obj.status?.conditions?.some((c) => c.type === type && c.status === "True") ?? false;

/** Polls until `check` returns a value, or fails naming what it waited for and the last state. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000}s${last ? ` (${String(last)})` : ""}`);
}

interface Manifest {
  metadata: { name: string; [field: string]: unknown };
  [field: string]: unknown;
}

async function apply(apiVersion: string, plural: string, obj: Manifest, dryRun = false) {
  const res = await kube.apply<Obj>(objectPath(apiVersion, plural, obj.metadata.name, ns), obj, {
    fieldManager: "plinth-smoke",
    dryRun,
  });
  return res;
}

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: app, image: "registry.example/never-pulled:1" }] },
});

describe("test bed kubernetes", () => {
  beforeAll(async () => {
    kube = KubeClient.fromKubeconfig(kubeconfig());
    const res = await kube.apply(`/api/v1/namespaces/${ns}`, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns },
    });
    expect(res.status).toBe(201);
    // Namespaced objects need the namespace's default ServiceAccount (the controller-manager makes it).
    await eventually("default ServiceAccount", async () =>
      (await kube.request("GET", `/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200
        ? true
        : undefined,
    );
  });

  afterAll(async () => {
    await kube?.request("DELETE", `/api/v1/namespaces/${ns}`);
  });

  it("serves /version of the pinned Kubernetes release", async () => {
    const version = await kube.get<{ gitVersion: string; major: string; minor: string }>("/version");
    const pinned = pinnedVersion(root, moduleDir, "k8s.io/kubernetes");
    expect(version.gitVersion).toBe(pinned);
    expect(`v${version.major}.${version.minor}`).toBe(pinned.split(".").slice(0, 2).join("."));
  });

  it("applies server-side and dry-runs without persisting", async () => {
    const cm = (value: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "ssa", namespace: ns },
      data: { key: value },
    });
    const created = await apply("v1", "configmaps", cm("one"));
    expect(created.status).toBe(201);
    expect(created.body.metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: "plinth-smoke", operation: "Apply" }),
    );
    const dry = await apply("v1", "configmaps", cm("two"), true);
    expect(dry.status).toBe(200);
    expect(dry.body.data).toEqual({ key: "two" });
    const live = await kube.get<Obj>(objectPath("v1", "configmaps", "ssa", ns));
    expect(live.data).toEqual({ key: "one" });
  });

  it("rejects a custom resource that violates the upstream CRD schema", async () => {
    const cluster = (instances: unknown) => ({
      apiVersion: "postgresql.cnpg.io/v1",
      kind: "Cluster",
      metadata: { name: "pg", namespace: ns },
      spec: { instances, storage: { size: "1Gi" } },
    });
    // A value outside the schema's bounds: 422 Invalid, naming the field and the rule.
    const bad = await apply("postgresql.cnpg.io/v1", "clusters", cluster(0), true);
    expect(bad.status).toBe(422);
    expect(statusMessage(bad.body)).toMatch(/spec\.instances.*greater than or equal to 1/);
    // A value of the wrong type: server-side apply fails while building its typed patch, and the
    // API server answers 500 (not 422) with the field in the message; plinth must treat it as invalid.
    const wrongType = await apply("postgresql.cnpg.io/v1", "clusters", cluster("three"), true);
    expect(wrongType.status).toBe(500);
    expect(statusMessage(wrongType.body)).toMatch(/\.spec\.instances: expected numeric/);
    const good = await apply("postgresql.cnpg.io/v1", "clusters", cluster(3), true);
    expect(good.status).toBe(201);
  });

  it("loads every pinned CRD", async () => {
    const crds = await crdFiles();
    const list = await kube.get<{ items: { spec: { group: string; names: { kind: string } } }[] }>(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    );
    const served = new Set(list.items.map((c) => `${c.spec.group}/${c.spec.names.kind}`));
    for (const crd of crds) expect(served).toContain(`${crd.group}/${crd.kind}`);
    expect(served).toContain("helm.cattle.io/HelmChart");
  });

  it("schedules a Deployment onto the kwok node until it is Available", async () => {
    const res = await apply("apps/v1", "deployments", {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns },
      spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: podTemplate("web") },
    });
    expect(res.status).toBe(201);
    const deployment = await eventually("Deployment web Available", async () => {
      const d = await kube.get<Obj>(objectPath("apps/v1", "deployments", "web", ns));
      return hasCondition(d, "Available") && d.status?.availableReplicas === 2 ? d : undefined;
    });
    expect(deployment.status?.availableReplicas).toBe(2);
  });

  it("runs a StatefulSet whose PVCs get bound", async () => {
    const res = await apply("apps/v1", "statefulsets", {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: ns },
      spec: {
        replicas: 1,
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: podTemplate("db"),
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          },
        ],
      },
    });
    expect(res.status).toBe(201);
    await eventually("StatefulSet db ready", async () => {
      const s = await kube.get<Obj>(objectPath("apps/v1", "statefulsets", "db", ns));
      return s.status?.readyReplicas === 1 ? s : undefined;
    });
    const pvc = await kube.get<Obj>(objectPath("v1", "persistentvolumeclaims", "data-db-0", ns));
    expect(pvc.status?.phase).toBe("Bound");
  });

  it("completes a Job", async () => {
    const res = await apply("batch/v1", "jobs", {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "once", namespace: ns },
      spec: {
        template: { ...podTemplate("once"), spec: { ...podTemplate("once").spec, restartPolicy: "Never" } },
      },
    });
    expect(res.status).toBe(201);
    const job = await eventually("Job once Complete", async () => {
      const j = await kube.get<Obj>(objectPath("batch/v1", "jobs", "once", ns));
      return hasCondition(j, "Complete") ? j : undefined;
    });
    expect(job.status?.succeeded).toBe(1);
  });

  it("turns a HelmChart into its helm-install Job (k3s helm-controller)", async () => {
    const res = await apply("helm.cattle.io/v1", "helmcharts", {
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "demo", namespace: ns },
      spec: {
        repo: "https://charts.example.invalid",
        chart: "demo",
        version: "1.2.3",
        targetNamespace: ns,
        valuesContent: "replicas: 1\n",
        failurePolicy: "abort",
      },
    });
    expect(res.status).toBe(201);
    const job = await eventually("Job helm-install-demo Complete", async () => {
      const r = await kube.request<Obj>("GET", objectPath("batch/v1", "jobs", "helm-install-demo", ns));
      return r.status === 200 && hasCondition(r.body, "Complete") ? r.body : undefined;
    });
    expect(job.metadata.name).toBe("helm-install-demo");
    const chart = await kube.get<{ status?: { jobName?: string } }>(
      objectPath("helm.cattle.io/v1", "helmcharts", "demo", ns),
    );
    expect(chart.status?.jobName).toBe("helm-install-demo");
  });
});
