/**
 * Faults between plinth and the API server: the test's own TLS proxy (fault-proxy.ts) sits between
 * the built CLI and the test bed's kube-apiserver and injects 429s with Retry-After, 500s,
 * connection resets (before the request reaches the server, and after: the answer lost, the
 * write done) and latency, each bounded in count. An environment applied through it still
 * converges, with every readiness wait on, and plans zero changes after; a server that keeps
 * failing ends in a clear error after bounded retries, never a stack trace.
 *
 * Environment "flt" (a trimmed staging kind: PostgreSQL, Redis, ClickHouse, SigNoz) has
 * its own namespaces (`data-flt`, `observability-flt`); its operators' HelmCharts are cluster-wide,
 * as for every environment on a cluster (a known limit), and are removed with it at the end.
 * Operators do not run on the test bed: a stand-in sets the CNPG Cluster Ready and the
 * ClickHouseInstallation Completed as their operators would, so apply's waits can finish.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "../../src/apply/events.js";
import type { Plan } from "../../src/plan/plan.js";
import { ensureStandInCrds, kubeconfig, kubectl, plinth, project, setStatus } from "./bed.js";
import { type KubeFaultProxy, type Seen, startKubeFaultProxy } from "./fault-proxy.js";

const ENV = "flt";
const DATA = `data-${ENV}`;
let dir: string;
let proxy: KubeFaultProxy;

function writeFaultConfig(cwd: string, kube: string): void {
  writeFileSync(
    join(cwd, "plinth.config.ts"),
    `import { defineConfig } from "plinth";

// A second environment on the cluster gives "${ENV}" its own namespaces (data-${ENV}, ...).
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kube)} } },
  environments: {
    ${ENV}: {
      kind: "staging",
      cluster: "bed",
      domainPrefix: "x-${ENV}",
      features: { observability: true, vault: false, arangodb: false },
      components: {
        kubero: { enabled: false },
        traefik: { enabled: false },
        "cert-manager": { enabled: false },
        dashboard: { enabled: false },
        // No Deployments: the test bed's fake node flaps NotReady (kwok renews no node Lease) and
        // strands pods NotReady, which no retry can fix; Deployment waits are readiness.test.ts's.
        openpanel: { enabled: false },
      },
    },
    "${ENV}-peer": { kind: "ci", cluster: "bed" },
  },
});
`,
  );
}

/** Plays the CNPG and Altinity operators for this environment: reports their resources ready once they exist. */
function standInOperators(): { stop(): Promise<void> } {
  let running = true;
  const ready = {
    phase: "Cluster in healthy state",
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "ClusterIsReady",
        message: "Cluster is Ready (set by the test's stand-in operator)",
        lastTransitionTime: new Date().toISOString(),
      },
    ],
  };
  const loop = (async () => {
    while (running) {
      await setStatus("cluster.postgresql.cnpg.io", DATA, "postgres", ready).catch(() => undefined);
      await setStatus("clickhouseinstallation.clickhouse.altinity.com", DATA, "clickhouse", {
        status: "Completed",
      }).catch(() => undefined);
      // SigNoz's own ClickHouse (plinth renders it in SigNoz's namespace since issue 16).
      await setStatus("clickhouseinstallation.clickhouse.altinity.com", `observability-${ENV}`, "signoz", {
        status: "Completed",
      }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

function events(stdout: string): EngineEvent[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as EngineEvent);
}

function pending(plan: Plan): string[] {
  return plan.phases.flatMap((p) =>
    p.components.flatMap((c) =>
      c.changes.filter((ch) => ch.action !== "no-op").map((ch) => `${ch.action} ${ch.kind} ${ch.name}`),
    ),
  );
}

/**
 * For each 429 injected on a server-side apply, how long plinth waited before sending it again.
 * Only applies: each is sent once per run (reads of one object may come from several waits at once).
 */
function retryGaps(seen: Seen[]): number[] {
  const gaps: number[] = [];
  seen.forEach((s, i) => {
    if (s.fault !== "429" || s.method !== "PATCH" || s.path.includes("dryRun")) return;
    const next = seen.slice(i + 1).find((n) => n.method === s.method && n.path === s.path);
    if (next) gaps.push(next.at - s.at);
  });
  return gaps;
}

describe.sequential("faults between plinth and the API server", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = project();
    await ensureStandInCrds();
    proxy = await startKubeFaultProxy({ kubeconfig: kubeconfig(), dir });
    writeFaultConfig(dir, proxy.kubeconfig);
    // Start from nothing this environment owns, whatever an earlier run left.
    await plinth(["unlock", ENV], dir);
    await plinth(["destroy", ENV, "--yes", "--delete-data"], dir);
  });

  afterAll(async () => {
    proxy?.clear();
    if (dir) await plinth(["destroy", ENV, "--yes", "--delete-data"], dir);
    await kubectl("delete", "configmap", "-n", "kube-system", `plinth-applyset-${ENV}`, "--ignore-not-found");
    await proxy?.close();
  });

  it("apply converges through 429s, 500s, resets, lost answers and latency; the next plan is empty", async () => {
    // What there is to do depends on what else the shared test bed holds (an operator's chart held
    // by another deployed environment is not flt's to apply): planned before any fault is injected.
    const before = await plinth(["plan", ENV, "--json"], dir);
    expect(before.code, before.stderr).toBe(0);
    const planned = pending(JSON.parse(before.stdout) as Plan);
    expect(planned.length).toBeGreaterThan(5);
    const write = (m: string, path: string) => m === "PATCH" && !path.includes("dryRun");
    // One of each for sure on the first applies, then random faults on any request until the budget is spent.
    for (const fault of [
      { kind: "status", status: 429, retryAfter: 1 },
      { kind: "status", status: 500 },
      { kind: "reset" },
      { kind: "lose-answer" },
      { kind: "latency", ms: 400 },
    ] as const)
      proxy.inject(fault, 1, write);
    proxy.chaos({
      rate: 0.25,
      budget: 40,
      seed: 20261127,
      faults: [
        { kind: "status", status: 429, retryAfter: 1 },
        { kind: "status", status: 500 },
        { kind: "status", status: 503 },
        { kind: "reset" },
        { kind: "lose-answer" },
        { kind: "latency", ms: 300 },
      ],
    });
    const operators = standInOperators();
    // Bounded below the test's timeout, so a stall shows plinth's own output. The readiness waits
    // run (the stand-in operators answer them); the catalog's health checks would ask the charts'
    // services, which kwok's pods do not serve (test/engine/health.test.ts tests that gate).
    const r = await plinth(["apply", ENV, "--yes", "--json", "--no-health-checks"], dir, {
      killAfterMs: 240_000,
    }).finally(() => operators.stop());
    expect(r.code, r.stderr).toBe(0);
    const done = events(r.stdout).find((e) => e.type === "done");
    expect(done).toMatchObject({ outcome: "applied" });
    expect((done as { changes: number }).changes).toBeGreaterThanOrEqual(planned.length);

    for (const kind of ["429", "500", "reset", "lose-answer", "latency"])
      expect(proxy.injected[kind], `${kind} injected`).toBeGreaterThanOrEqual(1);
    const total = Object.values(proxy.injected).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(20);
    // A 429's Retry-After (1 s) is honoured, not hammered with the backoff's first 100 ms.
    const gaps = retryGaps(proxy.seen);
    expect(gaps.length).toBeGreaterThanOrEqual(1);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(950);

    proxy.clear();
    const again = await plinth(["plan", ENV, "--json"], dir);
    expect(again.code, again.stderr).toBe(0);
    expect(pending(JSON.parse(again.stdout) as Plan)).toEqual([]);
  });

  it("a server that keeps answering 500 ends in a clear error after bounded retries, not a stack", async () => {
    writeFaultConfig(dir, proxy.kubeconfig);
    const from = proxy.seen.length;
    proxy.chaos({ rate: 1, budget: Number.POSITIVE_INFINITY, faults: [{ kind: "status", status: 500 }] });
    const started = Date.now();
    const r = await plinth(["apply", ENV, "--yes"], dir);
    const elapsed = Date.now() - started;
    proxy.clear();

    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /the API server kept failing \(500: injected by the test's fault proxy \(500\)\) after 8 attempts/,
    );
    expect(r.stderr).toContain("check that the cluster is reachable and healthy");
    expect(r.stderr).not.toContain("bug in plinth");
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(elapsed).toBeLessThan(60_000);
    const asked = new Map<string, number>();
    for (const s of proxy.seen.slice(from))
      asked.set(`${s.method} ${s.path}`, (asked.get(`${s.method} ${s.path}`) ?? 0) + 1);
    expect(Math.max(...asked.values())).toBeLessThanOrEqual(8);

    // The failed run released its lock: the next one proceeds (and finds nothing to do).
    const next = await plinth(["plan", ENV, "--json"], dir);
    expect(next.code, next.stderr).toBe(0);
    expect(pending(JSON.parse(next.stdout) as Plan)).toEqual([]);
  });

  it("writes that keep failing name the object being applied", async () => {
    // Reads answer; every server-side apply (and its dry run) gets 500: the plan step fails on the first.
    proxy.chaos({
      rate: 1,
      budget: Number.POSITIVE_INFINITY,
      faults: [{ kind: "status", status: 500 }],
      match: (m) => m === "PATCH",
    });
    writeFaultConfig(dir, proxy.kubeconfig);
    const r = await plinth(["plan", ENV], dir);
    proxy.clear();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/dry-run \w+ [\w/-]+: the API server kept failing \(500/);
    expect(r.stderr).not.toContain("check the component's settings");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
