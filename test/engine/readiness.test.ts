/**
 * Readiness waits, for real, on the test bed: kwok makes pods Ready and Jobs Complete, k3s's
 * helm-controller turns a HelmChart into its `helm-install-<name>` Job. Operators do not run here:
 * where a custom resource's status matters, the test sets it itself as its operator would (a
 * stand-in, said so at each place). Also the executor's ordering around the waits: a phase's
 * components wait side by side, deletions go dependents first, and a secret waits for a namespace
 * another component of its phase creates.
 *
 * Two routes: the built CLI (`plinth apply rdy --target <component>`) for the catalog's own
 * objects, and `execute()` with a plan the Kubernetes provider makes for a few hand-written
 * objects (Jobs, a HelmChart, CNPG Clusters) where that is clearer. Environment "rdy" has a peer on
 * the cluster, so its namespaces are its own (`data-rdy`, `observability-rdy`); the hand-written
 * objects live in namespace `plinth-rdy`, in the ApplySet of environment "rdy-exec".
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "../../src/apply/events.js";
import type { KubeObject } from "../../src/catalog/types.js";
import type { ComponentId } from "../../src/config/ids.js";
import { validateConfig } from "../../src/config/validate-config.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { resolve } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { finishPlan, type Plan } from "../../src/plan/plan.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { KubernetesProvider } from "../../src/providers/kubernetes/provider.js";
import { CONFIG_HASH, waitsFor, waitUntil } from "../../src/providers/kubernetes/readiness.js";
import { ensureStandInCrds, kubeconfig, kubectl, kubectlJson, plinth, project, setStatus } from "./bed.js";
import { type ExecBed, planOf as planObjects, runPlan, waitingDetails } from "./exec-plan.js";

const ENV = "rdy";
const EXEC_ENV = "rdy-exec";
const NS = "plinth-rdy";
const MINUTE = 60_000;

function rawConfig() {
  return {
    project: "acme",
    defaults: { baseDomain: "example.com", internalDomain: "example.org" },
    clusters: { bed: { type: "existing" as const, kubeconfig: kubeconfig() } },
    environments: {
      [ENV]: {
        kind: "staging" as const,
        cluster: "bed",
        domainPrefix: `x-${ENV}`,
        // Without Vault: these tests wait on the Secrets plinth writes itself (and their sources).
        features: { observability: true, vault: false },
        // Kubero's operator manifest is fetched from GitHub at apply time, unreachable here.
        components: { kubero: { enabled: false } },
      },
      // A second environment on the cluster gives "rdy" its own namespaces.
      [`${ENV}-peer`]: { kind: "ci" as const, cluster: "bed" },
    },
  };
}

let dir: string;
let kube: KubernetesProvider;
let env: ResolvedEnvironment;
const pctx = { env: EXEC_ENV, tooling: "plinth/test" };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function jsonEvents(stdout: string): EngineEvent[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as EngineEvent);
}

function readyAfter(events: EngineEvent[], component: string): number | undefined {
  const e = events.find((x) => x.type === "component" && x.component === component && x.status === "ready");
  return e?.type === "component" ? e.elapsedMs : undefined;
}

const bed = (): ExecBed => ({ kube, env, ctx: pctx, namespace: NS });
const planOf = (groups: Partial<Record<ComponentId, KubeObject[]>>) => planObjects(bed(), groups);
const run = (plan: Plan, timeoutScale?: number) => runPlan(bed(), plan, timeoutScale ? { timeoutScale } : {});

const namespace: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } };

function job(name: string, o: { failing?: boolean } = {}): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NS },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: "Never",
          // A failing Job's pod goes to no node, so kwok never runs it; the test fails it below.
          ...(o.failing ? { nodeSelector: { "plinth.dev/test": "nowhere" } } : {}),
          containers: [{ name: "main", image: "busybox:1.37" }],
        },
      },
    },
  };
}

function chart(valuesContent: string): KubeObject {
  return {
    apiVersion: "helm.cattle.io/v1",
    kind: "HelmChart",
    metadata: { name: "demo", namespace: NS },
    spec: {
      chart: "demo",
      repo: "https://charts.example.invalid",
      version: "1.0.0",
      targetNamespace: NS,
      valuesContent,
    },
  };
}

function cnpgCluster(name: string): KubeObject {
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    metadata: { name, namespace: NS },
    spec: { instances: 1, storage: { size: "1Gi" } },
  };
}

/** A CNPG Cluster's status as the operator writes it (the operator does not run on the test bed). */
function cnpgStatus(ready: boolean) {
  return {
    phase: ready ? "Cluster in healthy state" : "Setting up primary",
    conditions: [
      {
        type: "Ready",
        status: ready ? "True" : "False",
        reason: ready ? "ClusterIsReady" : "ClusterIsNotReady",
        message: ready ? "Cluster is Ready" : "Cluster Is Not Ready",
        lastTransitionTime: new Date().toISOString(),
      },
    ],
  };
}

/**
 * The configHash of helm-controller's completed install Job. Under kwok no helm release is ever
 * written, so helm-controller (v0.17.9 `getJobAndRelatedResources`: "Job is completed but release
 * status or hash is incorrect") deletes and recreates the completed Job on its next reconcile:
 * the Job can be briefly absent or not yet resumed, and is read until it is there and Complete.
 */
async function installJob(): Promise<{ hash: string }> {
  return until("a Complete helm-install-demo Job", async () => {
    const j = await kubectlJson<{
      spec: { template: { metadata: { annotations: Record<string, string> } } };
      status: { conditions?: { type: string; status: string }[] };
    }>("get", "job", "helm-install-demo", "-n", NS);
    const complete = (j.status.conditions ?? []).some((c) => c.type === "Complete" && c.status === "True");
    return complete ? { hash: j.spec.template.metadata.annotations[CONFIG_HASH] ?? "" } : undefined;
  });
}

async function cleanUp(): Promise<void> {
  await plinth(["unlock", ENV], dir);
  await plinth(["destroy", ENV, "--yes", "--delete-data"], dir);
  const held = ["patch", "configmap", "hold", "-n", "plinth-rdy-late", "--type=json"];
  await kubectl(...held, "-p", '[{"op":"remove","path":"/metadata/finalizers"}]').catch(() => undefined);
  await kubectl(
    "delete",
    "namespace",
    NS,
    "observability-rdy",
    "plinth-rdy-late",
    "--ignore-not-found",
    "--wait=true",
  );
  await kubectl(
    "delete",
    "configmap",
    "-n",
    "kube-system",
    `plinth-applyset-${EXEC_ENV}`,
    `plinth-applyset-${ENV}`,
    "--ignore-not-found",
  );
}

describe.sequential("readiness waits and their ordering on the test bed", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = project();
    writeFileSync(
      join(dir, "plinth.config.ts"),
      `import { defineConfig } from "plinth";\n\nexport default defineConfig(${JSON.stringify(rawConfig(), null, 2)});\n`,
    );
    await ensureStandInCrds();
    kube = new KubernetesProvider({ api: (await connect({ kubeconfig: kubeconfig() })).api });
    env = resolve(validateConfig(rawConfig(), "plinth.config.ts"), ENV);
    // Start from nothing these tests own, whatever an earlier run left.
    await cleanUp();
  });

  afterAll(async () => {
    if (dir) await cleanUp();
  });

  it("plinth apply --target postgres waits for the CNPG Cluster's Ready, set after a delay by a stand-in operator", async () => {
    const apply = plinth(["apply", ENV, "--target", "postgres", "--yes", "--json"], dir);
    // Stand-in for CloudNativePG: once the Cluster exists, report it setting up, then Ready 3 s later.
    await until("Cluster data-rdy/postgres", () =>
      kubectl("get", "cluster.postgresql.cnpg.io", "postgres", "-n", "data-rdy", "-o", "name"),
    );
    await setStatus("cluster.postgresql.cnpg.io", "data-rdy", "postgres", cnpgStatus(false));
    await sleep(3_000);
    await setStatus("cluster.postgresql.cnpg.io", "data-rdy", "postgres", cnpgStatus(true));
    const r = await apply;
    expect(r.code, r.stderr).toBe(0);
    const events = jsonEvents(r.stdout);
    expect(waitingDetails(events, "postgres")).toEqual(
      expect.arrayContaining([
        "Cluster postgres: Ready",
        "Cluster postgres: Ready=False (ClusterIsNotReady: Cluster Is Not Ready)",
        "Cluster postgres: Ready=True (ClusterIsReady: Cluster is Ready)",
      ]),
    );
    expect(readyAfter(events, "postgres")).toBeGreaterThanOrEqual(3_000);
    expect(events.at(-1)).toMatchObject({ type: "done", outcome: "applied" });
  });

  it("plinth apply --target openpanel waits until its Deployments are Available, then for its health checks; a missing secret source is a clear error", async () => {
    // The namespace belongs to signoz, left out here (its values secret is shared in kube-system).
    await kubectl("create", "namespace", "observability-rdy").catch(() => undefined);
    // openpanel-env is filled from other components' secrets: postgres-app exists (the Cluster's
    // apply above, outside this narrowed plan); redis-auth and clickhouse-users do not yet.
    const refused = await plinth(["apply", ENV, "--target", "openpanel", "--yes"], dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "kubernetes:v1:Secret:observability-rdy/openpanel-env: secret openpanel-env.REDIS_URL needs redis-auth.password, which does not exist yet",
    );
    expect(refused.stderr).toContain(`plinth apply ${ENV}`);
    expect(refused.stderr).not.toContain("bug in plinth");

    // Stand-ins for the redis and clickhouse components' generated secrets (their operators'
    // charts are cluster-wide, shared with other environments' tests, so not applied here).
    for (const [name, key] of [
      ["redis-auth", "password"],
      ["clickhouse-users", "openpanel"],
    ] as const) {
      await kubectl(
        "create",
        "secret",
        "generic",
        name,
        "-n",
        "data-rdy",
        `--from-literal=${key}=stand-in-${name}`,
      );
    }
    // Its objects become ready, then apply asks openpanel itself, through the API server's service
    // proxy: kwok's pods serve nothing, so the health check cannot pass here and --timeout ends it.
    const unhealthy = await plinth(["apply", ENV, "--target", "openpanel", "--yes", "--timeout", "3s"], dir);
    expect(unhealthy.code).toBe(2);
    expect(unhealthy.stderr).toContain(
      "Service observability-rdy/openpanel-api did not become healthy (GET openpanel-api.observability-rdy:3000/healthcheck) within 3s; last seen: ",
    );
    expect(unhealthy.stderr).toContain("apply again to resume");
    // Skipping the health checks leaves the readiness waits: the Deployments still have to be Available.
    const r = await plinth(
      ["apply", ENV, "--target", "openpanel", "--yes", "--json", "--no-health-checks"],
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const waits = waitingDetails(jsonEvents(r.stdout), "openpanel");
    expect(waits.filter((w) => w.includes("healthy"))).toEqual([]);
    for (const d of ["openpanel-api", "openpanel-dashboard", "openpanel-worker"]) {
      expect(waits).toContain(`Deployment ${d}: Available`);
      expect(waits).toContain(
        `Deployment ${d}: Available=True (MinimumReplicasAvailable: Deployment has minimum availability.), 1/1 available`,
      );
    }
    const live = await kubectlJson<{
      items: { status: { availableReplicas?: number; conditions?: { type: string; status: string }[] } }[];
    }>("get", "deployments", "-n", "observability-rdy");
    expect(live.items).toHaveLength(3);
    for (const d of live.items) {
      expect(d.status.availableReplicas).toBe(1);
      expect(d.status.conditions).toContainEqual(
        expect.objectContaining({ type: "Available", status: "True" }),
      );
    }
  });

  it("a Job is waited for until Complete (kwok runs its pod)", async () => {
    const r = await run(await planOf({ postgres: [namespace, job("once")] }));
    expect(r.error).toBeUndefined();
    expect(waitingDetails(r.events, "postgres")).toContain("Job once: Complete");
    const live = await kubectlJson<{ status: { conditions: { type: string; status: string }[] } }>(
      "get",
      "job",
      "once",
      "-n",
      NS,
    );
    expect(live.status.conditions).toContainEqual(
      expect.objectContaining({ type: "Complete", status: "True" }),
    );
  });

  it("a failing Job fails the apply at once, naming the object, the condition and the last status", async () => {
    const apply = run(await planOf({ postgres: [job("fails", { failing: true })] }));
    // Stand-in for the kubelet: the Job's pod fails (backoffLimit 0, so the Job fails with it).
    const pod = await until("the Job's pod", async () => {
      const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>(
        "get",
        "pods",
        "-n",
        NS,
        "-l",
        "job-name=fails",
      );
      return list.items[0]?.metadata.name;
    });
    await kubectl(
      "patch",
      "pod",
      pod,
      "-n",
      NS,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { phase: "Failed", reason: "Error", message: "exit code 1" } }),
    );
    const r = await apply;
    expect(r.error).toBeInstanceOf(UserError);
    expect(r.error?.message).toContain(
      "Job plinth-rdy/fails failed waiting for Complete: Failed: BackoffLimitExceeded Job has reached the specified backoff limit",
    );
    // Its timeout is 15 minutes: failing fast means on the Failed condition, not at the deadline.
    expect(r.elapsedMs).toBeLessThan(30_000);
    expect(r.events).toContainEqual(
      expect.objectContaining({ type: "component", component: "postgres", status: "failed" }),
    );
    expect(r.events.at(-1)).toMatchObject({ type: "done", outcome: "failed" });
  });

  it("a HelmChart waits for its helm-install Job; a changed chart waits for the Job with the new configHash", async () => {
    const first = await run(await planOf({ postgres: [namespace, chart("replicas: 1\n")] }));
    expect(first.error).toBeUndefined();
    const waits = waitingDetails(first.events, "postgres");
    expect(waits).toContain("HelmChart demo: installed (helm-install-demo Complete for this configuration)");
    expect(waits).toContain(`HelmChart demo: release workloads ready in ${NS}`);
    const before = await installJob();
    expect(before.hash).not.toBe("");

    // The rule itself: told the chart changed, the wait refuses the Job that still has the old hash.
    const [installed] = waitsFor(chart("replicas: 2\n"), {
      kube,
      changed: true,
      previousConfigHash: before.hash,
    });
    if (!installed) throw new Error("a HelmChart has an install wait");
    await expect(waitUntil({ ...installed, timeoutMs: 1_500 })).rejects.toThrow(
      `HelmChart ${NS}/demo did not become installed (helm-install-demo Complete for this configuration) within 2s; last seen: Job helm-install-demo still has the previous configHash`,
    );

    const plan = await planOf({ postgres: [namespace, chart("replicas: 2\n")] });
    const changed = plan.phases[0]?.components[0]?.changes.filter((c) => c.action !== "no-op");
    expect(changed?.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual(["update HelmChart demo"]);
    expect(changed?.[0]?.diff?.map((d) => d.path)).toEqual(["spec.valuesContent"]);
    const second = await run(plan);
    expect(second.error).toBeUndefined();
    // helm-controller ran a new Job for the new configuration (the wait refuses the old one, above).
    const after = await installJob();
    expect(after.hash).not.toBe(before.hash);
  });

  it("adopting a HelmChart changes only its labels: no new install Job is awaited", async () => {
    const before = await installJob();
    await kubectl("label", "helmchart", "demo", "-n", NS, "applyset.kubernetes.io/part-of-");
    const plan = await planOf({ postgres: [namespace, chart("replicas: 2\n")] });
    const adopt = plan.phases[0]?.components[0]?.changes.find((c) => c.kind === "HelmChart");
    expect(adopt?.action).toBe("adopt");
    expect(adopt?.diff?.every((d) => d.path.startsWith("metadata."))).toBe(true);
    // helm-controller hashes the spec only: the Job stays as it was. Scaled down, the install wait
    // is 12 s, so waiting for a new hash would fail here rather than after 20 minutes.
    const r = await run(plan, 0.01);
    expect(r.error?.message).toBeUndefined();
    expect(r.elapsedMs).toBeLessThan(10_000);
    expect((await installJob()).hash).toBe(before.hash);
  });

  it("a CNPG Cluster never reported Ready times out, naming the object, the condition and the last status", async () => {
    // Scaled so the Cluster's 15-minute wait is 2 s; no stand-in operator reports anything.
    const r = await run(await planOf({ postgres: [namespace, cnpgCluster("never")] }), 2_000 / (15 * MINUTE));
    expect(r.error).toBeInstanceOf(UserError);
    expect(r.error?.message).toContain(
      `Cluster ${NS}/never did not become Ready within 2s; last seen: no Ready condition yet`,
    );
    expect((r.error as UserError).diagnostics[0]?.fix).toContain("apply again to resume");
    expect(r.events).toContainEqual(
      expect.objectContaining({
        type: "component",
        status: "failed",
        detail: expect.stringContaining("did not become Ready within 2s"),
      }),
    );
  });

  it("components of a phase wait concurrently: the phase takes its slowest wait, not the sum", async () => {
    // Stand-in for CloudNativePG: each Cluster is reported Ready 3 s after it appears.
    const operator = ["par-a", "par-b"].map(async (name) => {
      await until(`Cluster ${name}`, () =>
        kubectl("get", "cluster.postgresql.cnpg.io", name, "-n", NS, "-o", "name"),
      );
      await sleep(3_000);
      await setStatus("cluster.postgresql.cnpg.io", NS, name, cnpgStatus(true));
    });
    const r = await run(
      await planOf({ postgres: [namespace, cnpgCluster("par-a")], redis: [cnpgCluster("par-b")] }),
    );
    await Promise.all(operator);
    expect(r.error).toBeUndefined();
    const a = readyAfter(r.events, "postgres") ?? 0;
    const b = readyAfter(r.events, "redis") ?? 0;
    expect(Math.min(a, b)).toBeGreaterThanOrEqual(3_000);
    // One after the other would take a + b; together, the slower one and a little bookkeeping.
    expect(r.elapsedMs).toBeLessThan(Math.max(a, b) + 1_500);
    expect(r.elapsedMs).toBeLessThan(0.75 * (a + b));
  });

  it("deletions run dependents first: an operator's component outlives the resources it manages", async () => {
    const configMap = (name: string): KubeObject => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: NS },
      data: { role: name },
    });
    const created = await run(
      await planOf({
        "cnpg-operator": [namespace, configMap("operator")],
        postgres: [configMap("database")],
      }),
    );
    expect(created.error).toBeUndefined();
    // The phase lists components as the graph orders them: the operator before what depends on it.
    const remove = (component: ComponentId, name: string, dependsOn: ComponentId[]) => ({
      id: component,
      title: component,
      step: "0",
      layer: "L1",
      namespace: NS,
      placement: "local" as const,
      dependsOn,
      changes: [
        {
          action: "delete" as const,
          provider: "kubernetes" as const,
          id: `kubernetes:v1:ConfigMap:${NS}/${name}`,
          kind: "ConfigMap",
          name,
          namespace: NS,
          spec: { release: false },
        },
      ],
    });
    const plan = finishPlan({
      env: EXEC_ENV,
      cluster: "bed",
      offline: false,
      phases: [
        {
          id: "0",
          components: [
            remove("cnpg-operator", "operator", []),
            remove("postgres", "database", ["cnpg-operator"]),
          ],
        },
      ],
    });
    const r = await run(plan);
    expect(r.error).toBeUndefined();
    const deleted = r.events.flatMap((e) => (e.type === "change" && e.action === "delete" ? [e.name] : []));
    expect(deleted).toEqual(["database", "operator"]);
  });

  it("a custom resource whose CRD never comes waits for that CRD (not its namespace), then says which", async () => {
    const widget: KubeObject = {
      apiVersion: "nowhere.plinth.dev/v1",
      kind: "Widget",
      metadata: { name: "w", namespace: NS },
      spec: {},
    };
    // Scaled so the 5-minute wait for a kind to be served is 1.5 s.
    const r = await run(await planOf({ postgres: [namespace, widget] }), 1_500 / (5 * MINUTE));
    expect(waitingDetails(r.events, "postgres")).toContain(
      "Widget w: waiting for CRD of nowhere.plinth.dev/v1 to be Established",
    );
    expect(waitingDetails(r.events, "postgres").some((d) => d.includes("its namespace"))).toBe(false);
    expect(r.error?.message).toContain(
      "Widget w: its CustomResourceDefinition (nowhere.plinth.dev/v1) was not established within the wait",
    );
  });

  it("a generated secret waits for its namespace when another component of the phase creates it", async () => {
    // The namespace is still terminating (a finalizer the test holds), so its component must wait
    // for it to go and create it again, while the other component's secret waits for it to exist.
    const ns = "plinth-rdy-late";
    await kubectl("create", "namespace", ns).catch(() => undefined);
    await kubectl("create", "configmap", "hold", "-n", ns).catch(() => undefined);
    await kubectl(
      "patch",
      "configmap",
      "hold",
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"metadata":{"finalizers":["plinth.dev/test-hold"]}}',
    );
    await kubectl("delete", "namespace", ns, "--wait=false");
    const secret = {
      action: "create" as const,
      provider: "secret" as const,
      id: `kubernetes:v1:Secret:${ns}/late-credentials`,
      kind: "Secret",
      name: "late-credentials",
      namespace: ns,
      spec: {
        secret: {
          name: "late-credentials",
          namespace: ns,
          keys: { token: { length: 24, alphabet: "hex" as const } },
          consumers: [],
        },
      },
    };
    const plan = await planOf({
      postgres: [{ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }],
    });
    plan.phases[0]?.components.push({
      id: "redis",
      title: "a secret in another component's namespace",
      step: "1.3",
      layer: "L3",
      namespace: ns,
      placement: "local",
      dependsOn: [],
      changes: [secret],
    });
    // A hand-written secret: its rules come beside the plan, as the plan step hands the config's to apply.
    const apply = runPlan(bed(), plan, {
      desired: [
        {
          id: "redis",
          phase: "2",
          namespace: ns,
          placement: "local",
          objects: [],
          external: [],
          secrets: [secret.spec.secret],
          health: [],
        },
      ],
    });
    await sleep(2_000);
    await kubectl(
      "patch",
      "configmap",
      "hold",
      "-n",
      ns,
      "--type=json",
      "-p",
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    );
    const r = await apply;
    await kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false");
    expect(r.error?.message).toBeUndefined();
    expect(waitingDetails(r.events, "redis")).toContain(`Namespace ${ns}: waiting until it is created`);
    const live = await kubectlJson<{ metadata: { labels: Record<string, string> } }>(
      "get",
      "secret",
      "late-credentials",
      "-n",
      ns,
    );
    expect(live.metadata.labels["plinth.dev/component"]).toBe("redis");
  });
});
