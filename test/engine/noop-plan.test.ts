/**
 * The fast no-op plan: an object the ApplySet's lists hold exactly as plinth sent it (and owns as
 * sent) is planned as a no-op without a dry run, so a converged plan is its lists and nothing per
 * object. That must never hide drift: an owned object edited by hand (a merge patch of a field
 * plinth sets, a label plinth sets) is planned as an update with the edit in its diff, and apply
 * puts it back.
 *
 * Requests are counted by the test's own TLS proxy (fault-proxy.ts, no fault injected) between
 * plinth and the test bed's API server. Environment "quiet" (ci kind) is PostgreSQL alone, in its
 * own namespace `data-quiet` (through a peer environment), like terminating.test.ts's; the
 * CloudNativePG operator's namespace and HelmChart are cluster-wide, as for every environment.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Change, Plan } from "../../src/plan/plan.js";
import { ensureStandInCrds, kubeconfig, kubectl, plinth, project, type Run } from "./bed.js";
import { type KubeFaultProxy, startKubeFaultProxy } from "./fault-proxy.js";

const ENV = "quiet";
const NS = `data-${ENV}`;
let dir: string;
let proxy: KubeFaultProxy;

const run = (args: string[]): Promise<Run> => plinth(args, dir);

function writeQuietConfig(kube: string): void {
  writeFileSync(
    join(dir, "plinth.config.ts"),
    `import { defineConfig } from "plinth";

// A second environment on the cluster gives "${ENV}" its own namespace (${NS}).
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kube)} } },
  environments: {
    ${ENV}: { kind: "ci", cluster: "bed", components: { traefik: { enabled: false }, redis: { enabled: false } } },
    "${ENV}-peer": { kind: "ci", cluster: "bed" },
  },
});
`,
  );
}

/** A plan as JSON, with the requests it sent through the proxy. */
async function plan(): Promise<{ plan: Plan; dryRuns: string[]; requests: string[] }> {
  const from = proxy.seen.length;
  const r = await run(["plan", ENV, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  const seen = proxy.seen.slice(from);
  return {
    plan: JSON.parse(r.stdout) as Plan,
    dryRuns: seen.filter((s) => s.method === "PATCH" && s.path.includes("dryRun")).map((s) => s.path),
    requests: seen.map((x) => `${x.method} ${x.path.replace(/\?.*/, "")}`),
  };
}

const changesOf = (p: Plan): Change[] => p.phases.flatMap((ph) => ph.components.flatMap((c) => c.changes));
const kube = (c: Change) => c.provider === "kubernetes";

describe.sequential("a no-op plan is fast and still shows drift made by hand (test bed)", {
  timeout: 300_000,
}, () => {
  beforeAll(async () => {
    dir = project();
    await ensureStandInCrds();
    proxy = await startKubeFaultProxy({ kubeconfig: kubeconfig(), dir });
    writeQuietConfig(proxy.kubeconfig);
    await run(["unlock", ENV]);
    await run(["destroy", ENV, "--yes", "--delete-data"]);
    const applied = await run(["apply", ENV, "--yes", "--no-wait"]);
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    if (dir) await run(["destroy", ENV, "--yes", "--delete-data"]);
    await kubectl("delete", "configmap", "-n", "kube-system", `plinth-applyset-${ENV}`, "--ignore-not-found");
    await proxy?.close();
  });

  it("plans a converged environment as no-ops from the ApplySet's lists, not one request per object", async () => {
    const { plan: p, dryRuns, requests } = await plan();
    const changes = changesOf(p).filter(kube);
    expect(changes.length).toBeGreaterThanOrEqual(4); // namespaces, the operator's HelmChart, the Cluster
    expect(changes.filter((c) => c.action !== "no-op")).toEqual([]);
    // Only the CNPG Cluster goes to the server: its CRD defaults fields inside `managed.roles`, an
    // atomic list, and an item plinth stopped sending cannot be told from a default without a dry run.
    expect(dryRuns).toEqual([
      `/apis/postgresql.cnpg.io/v1/namespaces/${NS}/clusters/postgres?fieldManager=plinth&dryRun=All`,
    ]);
    // Everything else is a read of a whole kind (the ApplySet's lists), of an ApplySet parent, of
    // discovery or of kube-system (not a member): no owned object is read or dry-run on its own.
    const single = requests.filter(
      (r) =>
        !/^GET \/apis?\/[^/]+(\/v[^/]+)?\/[a-z]+$/.test(r) && // a list, or discovery
        !/^GET \/apis?\/[^/]+(\/v[^/]+)?$/.test(r) &&
        !/configmaps\/plinth-applyset-/.test(r) &&
        r !== "GET /api/v1/namespaces/kube-system",
    );
    expect(single).toEqual([`PATCH /apis/postgresql.cnpg.io/v1/namespaces/${NS}/clusters/postgres`]);
  });

  it("shows a hand-edited field and a hand-edited label as updates, dry-running only those objects", async () => {
    // A field plinth sets (the instance count of the CNPG Cluster) and a label plinth sets (the
    // namespace's component), each changed by hand with a merge patch, as kubectl patch does.
    const cluster = JSON.parse(
      await kubectl("get", "cluster.postgresql.cnpg.io", "postgres", "-n", NS, "-o", "json"),
    ) as { spec: { instances: number } };
    const instances = cluster.spec.instances;
    await kubectl(
      "patch",
      "cluster.postgresql.cnpg.io",
      "postgres",
      "-n",
      NS,
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { instances: instances + 2 } }),
    );
    await kubectl("label", "namespace", NS, "--overwrite", "plinth.dev/component=edited-by-hand");

    const { plan: p, dryRuns } = await plan();
    const changes = changesOf(p).filter(kube);
    const pending = changes.filter((c) => c.action !== "no-op");
    expect(pending.map((c) => `${c.action} ${c.kind} ${c.name}`).sort()).toEqual([
      "update Cluster postgres",
      `update Namespace ${NS}`,
    ]);
    const byKind = Object.fromEntries(pending.map((c) => [c.kind, c]));
    expect(byKind.Cluster?.diff).toEqual([
      { path: "spec.instances", before: instances + 2, after: instances },
    ]);
    expect(byKind.Namespace?.diff).toEqual([
      { path: "metadata.labels.plinth.dev/component", before: "edited-by-hand", after: expect.any(String) },
    ]);
    // Only the edited objects (and the Cluster, as ever) went to the server for a dry run: each
    // edited one twice, as the hand edit's manager now owns the field (409, then forced as drift).
    expect([...new Set(dryRuns.map((d) => d.replace(/\?.*/, "")))].sort()).toEqual([
      `/api/v1/namespaces/${NS}`,
      `/apis/postgresql.cnpg.io/v1/namespaces/${NS}/clusters/postgres`,
    ]);

    // apply puts both back, and the next plan is a no-op from the lists again.
    const applied = await run(["apply", ENV, "--yes", "--no-wait"]);
    expect(applied.code, applied.stderr).toBe(0);
    const again = await plan();
    expect(changesOf(again.plan).filter((c) => kube(c) && c.action !== "no-op")).toEqual([]);
    expect(again.dryRuns).toHaveLength(1);
  });
});
