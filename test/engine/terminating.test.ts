/**
 * Objects being deleted are not there: an object (or its namespace) with a deletionTimestamp is
 * planned as a create after that deletion finishes, apply waits for it and then creates it, and a
 * destroy finds it already going and waits. On the test bed deletions finish fast (the namespace
 * controller at once; helm-controller's finalizer on a HelmChart once its uninstall Job completes
 * under kwok), so the test holds them with a finalizer of its own, `plinth.dev/test-hold`, on the
 * CNPG Cluster (a stand-in CRD: no operator runs here), and removes it itself, as the operator
 * would once its work is done.
 *
 * Environment "term" (ci kind) is PostgreSQL alone: namespace `data-term` (its own, through a peer
 * environment) with the Cluster and its Secret, and the CloudNativePG operator's namespace and
 * HelmChart, which are cluster-wide like every environment's operators (a known limit: another
 * engine test converging them at the same moment, outside `npm test`'s one-file-at-a-time run,
 * adopts them). A destroy --delete-data removes it all, which is where an interrupted destroy leaves
 * things terminating. (Backstage or OpenPanel alone, which own nothing shared, cannot be applied
 * without PostgreSQL: their Secrets' templates read `postgres-app`.)
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "../../src/apply/events.js";
import type { Plan } from "../../src/plan/plan.js";
import { applySetId } from "../../src/providers/kubernetes/applyset.js";
import { seeded } from "../helpers/seeded.js";
import { ensureStandInCrds, kubeconfig, kubectl, kubectlJson, plinth, project, type Run } from "./bed.js";

const ENV = "term";
const NS = `data-${ENV}`;
const HOLD = "plinth.dev/test-hold";
const CLUSTER = { kind: "cluster.postgresql.cnpg.io", name: "postgres", namespace: NS };
type Target = typeof CLUSTER;
const KINDS = "namespaces,helmcharts.helm.cattle.io,clusters.postgresql.cnpg.io,secrets,configmaps";

/**
 * Where kills land: a run spends its first ~1 s loading the config and planning (measured on the
 * test bed: destroy's first DELETE at about 1.1 s, its deletions done by ~1.5 s unless held), so
 * kill points spread over 0.8 to 3.3 s land mostly among the deletions and the waits after them.
 */
const KILL_FROM_MS = 800;
const KILL_SPAN_MS = 2_500;

let dir: string;
/** What an uninterrupted apply leaves owned: the reference every interrupted run is held to. */
let baseline: string[];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run = (args: string[], opts: { killAfterMs?: number } = {}) => plinth(args, dir, opts);

function writeTermConfig(cwd: string): void {
  writeFileSync(
    join(cwd, "plinth.config.ts"),
    `import { defineConfig } from "plinth";

// A second environment on the cluster gives "${ENV}" its own namespace (${NS}).
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig())} } },
  environments: {
    ${ENV}: {
      kind: "ci",
      cluster: "bed",
      components: { traefik: { enabled: false }, redis: { enabled: false } },
    },
    "${ENV}-peer": { kind: "ci", cluster: "bed" },
  },
});
`,
  );
}

async function planJson(): Promise<Plan> {
  const r = await run(["plan", ENV, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Plan;
}

function changes(plan: Plan) {
  return plan.phases.flatMap((p) => p.components.flatMap((c) => c.changes));
}

function pending(plan: Plan): string[] {
  return changes(plan)
    .filter((ch) => ch.action !== "no-op")
    .map((ch) => `${ch.action} ${ch.kind} ${ch.namespace ? `${ch.namespace}/` : ""}${ch.name}`);
}

/** Every live member of the environment's ApplySet, as `Kind ns/name`, sorted. */
async function owned(): Promise<string[]> {
  const list = await kubectlJson<{
    items: { kind: string; metadata: { name: string; namespace?: string } }[];
  }>("get", KINDS, "-A", "-l", `applyset.kubernetes.io/part-of=${applySetId(ENV)}`);
  return list.items
    .map((o) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`)
    .sort();
}

async function finalizersOf(t: Target): Promise<string[] | undefined> {
  const live = await kubectlJson<{ metadata: { finalizers?: string[] } }>(
    "get",
    t.kind,
    t.name,
    "-n",
    t.namespace,
  ).catch(() => undefined);
  return live ? (live.metadata.finalizers ?? []) : undefined;
}

/** Adds the test's finalizer beside any other (helm-controller keeps its own on a HelmChart). */
async function hold(t: Target): Promise<void> {
  const now = await finalizersOf(t);
  if (!now || now.includes(HOLD)) return;
  const ops = now.length
    ? [{ op: "add", path: "/metadata/finalizers/-", value: HOLD }]
    : [{ op: "add", path: "/metadata/finalizers", value: [HOLD] }];
  await kubectl("patch", t.kind, t.name, "-n", t.namespace, "--type=json", "-p", JSON.stringify(ops));
}

/** Removes the test's finalizer (guarded by a JSON patch test, retried): the deletion may finish. */
async function release(t: Target): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const i = (await finalizersOf(t))?.indexOf(HOLD) ?? -1;
    if (i < 0) return;
    const ops = [
      { op: "test", path: `/metadata/finalizers/${i}`, value: HOLD },
      { op: "remove", path: `/metadata/finalizers/${i}` },
    ];
    const patch = ["patch", t.kind, t.name, "-n", t.namespace, "--type=json", "-p", JSON.stringify(ops)];
    if (
      await kubectl(...patch).then(
        () => true,
        () => false,
      )
    )
      return;
    await sleep(100);
  }
  throw new Error(`could not remove ${HOLD} from ${t.kind} ${t.namespace}/${t.name}`);
}

async function metadataOf(t: Target) {
  const live = await kubectlJson<{ metadata: { deletionTimestamp?: string; uid: string } }>(
    "get",
    t.kind,
    t.name,
    "-n",
    t.namespace,
  ).catch(() => undefined);
  return live?.metadata;
}

/** The environment's objects being deleted right now, as `Kind ns/name`. */
async function terminatingNow(): Promise<string[]> {
  const list = await kubectlJson<{
    items: { kind: string; metadata: { name: string; namespace?: string; deletionTimestamp?: string } }[];
  }>("get", KINDS, "-A", "-l", `applyset.kubernetes.io/part-of=${applySetId(ENV)}`);
  return list.items
    .filter((o) => o.metadata.deletionTimestamp)
    .map((o) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`);
}

function waiting(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as EngineEvent)
    .flatMap((e) => (e.type === "component" && e.status === "waiting" && e.detail ? [e.detail] : []));
}

/** Starts a run, waits `ms`, checks it is still running (waiting), then lets `release` happen. */
async function heldRun(args: string[], released: () => Promise<void>): Promise<Run> {
  let finished = false;
  const r = run(args).then((x) => {
    finished = true;
    return x;
  });
  await sleep(2_500);
  expect(finished, "the run must wait for the deletion, not finish around it").toBe(false);
  await released();
  return r;
}

async function cleanUp(): Promise<void> {
  await run(["unlock", ENV]);
  await release(CLUSTER).catch(() => undefined);
  await run(["destroy", ENV, "--yes", "--delete-data"]);
  await kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
}

describe.sequential("objects being deleted are not there (test bed)", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = project();
    writeTermConfig(dir);
    await ensureStandInCrds();
    await cleanUp();
    const r = await run(["apply", ENV, "--yes", "--no-wait"]);
    expect(r.code, r.stderr).toBe(0);
    expect(pending(await planJson())).toEqual([]);
    baseline = await owned();
    expect(baseline).toEqual(
      [
        `Cluster ${NS}/postgres`,
        "HelmChart kube-system/cnpg-operator",
        "Namespace cnpg-system",
        `Namespace ${NS}`,
        `Secret ${NS}/postgres-app`,
      ].sort(),
    );
  });

  it("an object being deleted is planned as a create after its deletion; apply waits, then creates it", async () => {
    await hold(CLUSTER);
    await kubectl("delete", CLUSTER.kind, CLUSTER.name, "-n", NS, "--wait=false");
    const before = await metadataOf(CLUSTER);
    expect(before?.deletionTimestamp).toBeTruthy();

    const cluster = `Cluster ${NS}/postgres`;
    const text = await run(["plan", ENV]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`+ ${cluster}  (after the deletion of ${cluster} finishes)`);
    const plan = await planJson();
    expect(pending(plan)).toEqual([`create ${cluster}`]);
    expect(changes(plan).find((c) => c.kind === "Cluster")?.diff ?? []).toEqual([]);

    const r = await heldRun(["apply", ENV, "--yes", "--no-wait", "--json"], () => release(CLUSTER));
    expect(r.code, r.stderr).toBe(0);
    expect(waiting(r.stdout)).toContain(
      `${cluster}: waiting until its deletion finishes (finalizers pending: ${HOLD})`,
    );
    const after = await metadataOf(CLUSTER);
    expect(after?.deletionTimestamp).toBeUndefined();
    expect(after?.uid).not.toBe(before?.uid);
    expect(pending(await planJson())).toEqual([]);
    expect(await owned()).toEqual(baseline);
  });

  it("a namespace being deleted: everything in it is a create after the namespace's deletion", async () => {
    await hold(CLUSTER);
    await kubectl("delete", "namespace", NS, "--wait=false");
    const plan = await planJson();
    const after = `after the deletion of Namespace ${NS} finishes`;
    expect(
      changes(plan)
        .filter((ch) => ch.action !== "no-op")
        .map((ch) => `${ch.action} ${ch.kind} ${ch.name}: ${ch.detail}`),
    ).toEqual([
      `create Namespace ${NS}: ${after}`,
      `create Cluster postgres: ${after}`,
      `create Secret postgres-app: generated: password, username; ${after}`,
    ]);
    const r = await heldRun(["apply", ENV, "--yes", "--no-wait", "--json"], () => release(CLUSTER));
    expect(r.code, r.stderr).toBe(0);
    // The namespace's own finalizer (`kubernetes`) is the namespace controller emptying it.
    const said = waiting(r.stdout).filter((d) => d.startsWith(`Namespace ${NS}: `));
    expect(said[0]).toMatch(
      new RegExp(`^Namespace ${NS}: waiting until its deletion finishes \\(finalizers pending: kubernetes`),
    );
    expect(pending(await planJson())).toEqual([]);
    expect(await owned()).toEqual(baseline);
  });

  it("destroy finds an object already being deleted: it waits for it, no error", async () => {
    await hold(CLUSTER);
    await kubectl("delete", CLUSTER.kind, CLUSTER.name, "-n", NS, "--wait=false");
    const out = await heldRun(["destroy", ENV, "--yes", "--delete-data"], () => release(CLUSTER));
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain(
      `- Cluster ${NS}/postgres  (already being deleted (finalizers pending: ${HOLD}); apply waits until it is gone)`,
    );
    await expect(kubectl("get", "namespace", NS)).rejects.toThrow(/NotFound/);
    expect(await owned()).toEqual([]);
    const again = await run(["apply", ENV, "--yes", "--no-wait"]);
    expect(again.code, again.stderr).toBe(0);
    expect(await owned()).toEqual(baseline);
  });

  it("apply and destroy killed at random moments: one unlock and one apply converge, whatever was terminating", async () => {
    const seed = Number(process.env.PLINTH_TRIAL_SEED ?? Date.now() % 1_000_000);
    const random = seeded(seed);
    console.log(`kill trials: seed ${seed} (PLINTH_TRIAL_SEED=${seed} repeats them)`);
    let killedWhileDeleting = 0;
    for (let trial = 1; trial <= 6; trial++) {
      // Odd trials hold the data namespace's deletion (a finalizer on the Cluster), so the destroy
      // is at its deletions or waiting for them when killed; even ones let it run on to phase 0's
      // (helm-controller's finalizer holds the operator's HelmChart while it uninstalls), and
      // kill an apply too.
      const held = trial % 2 === 1;
      if (held) await hold(CLUSTER);
      const killDestroyAt = Math.round(KILL_FROM_MS + random() * KILL_SPAN_MS);
      const releaseAfter = Math.round(random() * 3_000);
      const killApplyAt = held ? undefined : Math.round(KILL_FROM_MS + random() * KILL_SPAN_MS);
      const destroyed = await run(["destroy", ENV, "--yes", "--delete-data"], { killAfterMs: killDestroyAt });
      const released = sleep(releaseAfter).then(() => release(CLUSTER));
      const terminating = await terminatingNow();
      if (destroyed.code === null && terminating.length > 0) killedWhileDeleting++;
      console.log(
        `trial ${trial}: destroy ${destroyed.code === null ? `killed at ${killDestroyAt} ms` : `finished (exit ${destroyed.code}) before its kill at ${killDestroyAt} ms`}, terminating then: ${terminating.join(", ") || "nothing"}${held ? `; hold released ${releaseAfter} ms later` : ""}${killApplyAt ? `; an apply killed at ${killApplyAt} ms` : ""}`,
      );
      if (killApplyAt !== undefined) {
        await run(["unlock", ENV]);
        await run(["apply", ENV, "--yes", "--no-wait"], { killAfterMs: killApplyAt });
      }
      await run(["unlock", ENV]);
      const r = await run(["apply", ENV, "--yes", "--no-wait"]);
      await released;
      expect(r.code, `trial ${trial}: ${r.stderr}`).toBe(0);
      expect(pending(await planJson()), `trial ${trial}`).toEqual([]);
      expect(await owned(), `trial ${trial}`).toEqual(baseline);
    }
    // The point of the trials: most interruptions left something terminating for the apply.
    expect(killedWhileDeleting).toBeGreaterThanOrEqual(3);
  });
});
