/**
 * The catalog's health checks as a gate of `plinth apply`, for real: plinth asks the component's
 * Service through the API server's service proxy, as it does on a cluster. The API server proxies
 * only to the IP of one of the Service's pods, and never to loopback; kwok gives a `hostNetwork`
 * pod its node's address, which the test bed sets to this machine's (testbed/kube/kwok.ts
 * `nodeIp`). So the Service here selects such a pod, and what answers is an HTTP server of this
 * test's own on that address: the only stand-in is the workload behind the pod.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthCheck, KubeObject } from "../../src/catalog/types.js";
import { validateConfig } from "../../src/config/validate-config.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { resolve } from "../../src/model/resolve.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { runCheck } from "../../src/providers/kubernetes/health.js";
import { KubernetesProvider } from "../../src/providers/kubernetes/provider.js";
import { kubeconfig, kubectl, kubectlJson } from "./bed.js";
import { type ExecBed, planOf, runPlan, waitingDetails } from "./exec-plan.js";

const ENV = "health-exec";
const NS = "plinth-health";

/** What the test's server answers on /healthz, switched by each test; every request is counted. */
let answer: () => [number, string] = () => [200, "ok"];
let healthRequests = 0;
let server: Server;
let port: number;
let bed: ExecBed;

const check: HealthCheck = {
  kind: "http",
  service: "web",
  namespace: NS,
  port: 8080,
  path: "/healthz",
  expect: "ok",
};

function objects(): KubeObject[] {
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            hostNetwork: true,
            containers: [
              { name: "web", image: "example.invalid/web:1.0.0", ports: [{ containerPort: port }] },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: NS },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 8080, targetPort: port }] },
    },
  ];
}

const componentEvents = (events: { type: string; status?: string; detail?: string }[]) =>
  events.filter((e) => e.type === "component");

describe.sequential("health checks gate apply (through the API server's service proxy)", () => {
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url !== "/healthz") {
        res.writeHead(404).end();
        return;
      }
      healthRequests += 1;
      const [status, body] = answer();
      res.writeHead(status, { "Content-Type": "text/plain" }).end(body);
    });
    const node = await kubectlJson<{ status: { addresses: { type: string; address: string }[] } }>(
      "get",
      "node",
      "kwok-node-0",
    );
    const ip = node.status.addresses.find((a) => a.type === "InternalIP")?.address ?? "";
    if (!ip || ip.startsWith("127.")) {
      throw new Error(
        `kwok's node has address ${ip || "none"}: the API server will not proxy to it; restart the test bed (npm run testbed -- down, then up), which gives it this machine's address`,
      );
    }
    // On the node's address only: where the API server's proxy connects, and nowhere else.
    await new Promise<void>((done) => server.listen(0, ip, done));
    port = (server.address() as AddressInfo).port;
    const raw = {
      project: "acme",
      defaults: { baseDomain: "example.com" },
      clusters: { bed: { type: "existing" as const, kubeconfig: kubeconfig() } },
      environments: { [ENV]: { kind: "ci" as const, cluster: "bed" } },
    };
    bed = {
      kube: new KubernetesProvider({ api: (await connect({ kubeconfig: kubeconfig() })).api }),
      env: resolve(validateConfig(raw, "plinth.config.ts"), ENV),
      ctx: { env: ENV, tooling: "plinth/test" },
      namespace: NS,
    };
    await kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
  });

  afterAll(async () => {
    await kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false").catch(() => undefined);
    await kubectl("delete", "configmap", "-n", "kube-system", `plinth-applyset-${ENV}`, "--ignore-not-found");
    await new Promise((done) => server?.close(done));
  });

  it("apply is ready only once the component's check passes: 503s are waited through, each answer shown", async () => {
    let calls = 0;
    answer = () => (++calls <= 3 ? [503, "warming up"] : [200, "ok"]);
    healthRequests = 0;
    const r = await runPlan(bed, await planOf(bed, { signoz: objects() }, { signoz: [check] }));
    expect(r.error).toBeUndefined();
    const waits = waitingDetails(r.events, "signoz");
    // The readiness waits come first, then the check, through the proxy, answered by this server.
    expect(waits).toContain("Deployment web: Available");
    expect(waits).toContain("Service web: healthy (GET web.plinth-health:8080/healthz)");
    expect(waits).toContain("Service web: HTTP 503: warming up");
    expect(waits.indexOf("Deployment web: Available")).toBeLessThan(
      waits.indexOf("Service web: healthy (GET web.plinth-health:8080/healthz)"),
    );
    expect(healthRequests).toBe(4);
    const last = componentEvents(r.events).at(-1);
    expect(last).toMatchObject({ status: "ready" });
  });

  it("a check that never passes fails the apply at --timeout, naming the check and its last answer", async () => {
    answer = () => [200, "degraded: clickhouse unreachable"];
    const plan = await planOf(bed, { signoz: objects() }, { signoz: [check] });
    expect(plan.summary.create + plan.summary.update).toBe(0); // converged: only the gate is left
    const r = await runPlan(bed, plan, { maxWaitMs: 2_000 });
    expect(r.error).toBeInstanceOf(UserError);
    expect(r.error?.message).toContain(
      `Service ${NS}/web did not become healthy (GET web.plinth-health:8080/healthz) within 2s; last seen: answered without "ok"`,
    );
    expect(componentEvents(r.events).at(-1)).toMatchObject({
      status: "failed",
      detail: expect.stringContaining("did not become healthy"),
    });
  });

  it("a Service with no pod that answers: the proxy's own answer is the last status", async () => {
    const bad: HealthCheck = { ...check, service: "nobody", port: 80 };
    const r = await runCheck(bad, bed.kube);
    expect(r).toEqual({
      check: "GET nobody.plinth-health:80/healthz",
      ok: false,
      detail: 'HTTP 404: services "nobody" not found',
    });
  });

  it("--no-health-checks and --no-wait leave the service unasked", async () => {
    answer = () => [500, "broken"];
    healthRequests = 0;
    const plan = await planOf(bed, { signoz: objects() }, { signoz: [check] });
    for (const o of [{ skipHealthChecks: true }, { noWait: true }]) {
      const r = await runPlan(bed, plan, o);
      expect(r.error).toBeUndefined();
      expect(componentEvents(r.events).at(-1)).toMatchObject({ status: "ready" });
    }
    expect(healthRequests).toBe(0);
  });

  it("status runs the same checks once: HTTP through the proxy, a workload by its readiness", async () => {
    answer = () => [200, "ok"];
    expect(await runCheck(check, bed.kube)).toEqual({
      check: "GET web.plinth-health:8080/healthz",
      ok: true,
      detail: "answered",
    });
    expect(
      await runCheck({ kind: "workload", objectKind: "Deployment", name: "web", namespace: NS }, bed.kube),
    ).toMatchObject({ check: "Deployment plinth-health/web ready", ok: true });
    expect(
      await runCheck({ kind: "workload", objectKind: "StatefulSet", name: "gone", namespace: NS }, bed.kube),
    ).toEqual({ check: "StatefulSet plinth-health/gone ready", ok: false, detail: "not found yet" });
  });
});
