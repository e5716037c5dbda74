/**
 * `plinth restore` and `plinth data clone` on the test bed's real API server (CloudNativePG 1.28's,
 * the Barman Cloud plugin's and the batch CRDs/APIs): the objects they create are accepted as sent,
 * the sequence creates, waits, scrubs and cleans up exactly what it says, the live Cluster is never
 * touched, and the restored generation is what plinth renders for it afterwards (the next plan's
 * dry run changes nothing). No CloudNativePG operator or kubelet runs there: where a step waits for
 * the operator (Cluster Ready) or a Job to finish, the test answers those reads as the operator
 * would (said where it does); without that answer the command times out, removes what it made and
 * switches nothing, which the built CLI shows last. The data path itself: clone-barman.test.ts.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve as resolvePath } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planClone } from "../../src/apply/clone.js";
import {
  planRestore,
  type RestoreApi,
  type RestoreStep,
  removeOldGeneration,
  restoreGenerations,
  withGeneration,
} from "../../src/apply/restore.js";
import { postgresCluster } from "../../src/catalog/postgres-cluster.js";
import { databaseOptions } from "../../src/catalog/restore.js";
import type { KubeObject } from "../../src/catalog/types.js";
import { resolve } from "../../src/model/resolve.js";
import type { KubeApi } from "../../src/providers/kubernetes/api.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { apiError } from "../../src/providers/kubernetes/errors.js";
import { type ObjectRef, refOf } from "../../src/providers/kubernetes/identity.js";
import { LocalStateBackend } from "../../src/state/local.js";
import { exampleWith, projectWithConfig } from "../helpers/config.js";
import { root, testbedEnv } from "../testbed/env.js";
import { backupsSettings } from "./config.js";

const exec = promisify(execFile);
const ns = `restore-${process.pid}-${Date.now().toString(36)}`;
let api: KubeApi;

const config = exampleWith((raw) => {
  raw.defaults = { ...raw.defaults, backups: backupsSettings() };
});
const staging = resolve(config, "staging");
const prod = resolve(config, "prod");
const at = new Date("2026-05-01T03:05:12Z");
const token = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-real-secret" };

/** The step's objects in this test's namespace (the API server is everyone's). */
function here(step: RestoreStep): RestoreStep {
  const move = (o: KubeObject): KubeObject =>
    JSON.parse(
      JSON.stringify({ ...o, metadata: { ...o.metadata, namespace: ns } }).replaceAll(
        ".data.svc",
        `.${ns}.svc`,
      ),
    );
  return {
    ...step,
    namespace: ns,
    cluster: move(step.cluster),
    desired: move(step.desired),
    transient: step.transient.map(move),
    ...(step.scrub ? { scrub: step.scrub.map(move) } : {}),
  };
}

const name = (kind: string, n: string) => `${kind} ${ns}/${n}`;

/**
 * The restore's API calls, recorded; reads of `ready` objects answered as the operator and the Job
 * controller would (stand-ins for what cannot run here: CloudNativePG, a kubelet).
 */
function recording(calls: string[], ready: Record<string, Record<string, unknown>> = {}): RestoreApi {
  return {
    apply: async (o, opts) => {
      const m = o.metadata as { name: string; namespace: string };
      calls.push(`apply ${o.kind} ${m.namespace}/${m.name} as ${opts.fieldManager}`);
      return api.apply(o as never, opts);
    },
    read: async (ref) => {
      const o = await api.read(ref);
      const status = ready[`${ref.kind} ${ref.name}`];
      return status ? { ...o, status } : o;
    },
    delete: async (ref) => {
      calls.push(`delete ${ref.kind} ${ref.namespace}/${ref.name}`);
      await api.delete(ref);
    },
  };
}

async function gone(ref: ObjectRef): Promise<boolean> {
  try {
    await api.read(ref);
    return false;
  } catch (e) {
    if (apiError(e).code === 404) return true;
    throw e;
  }
}

const clusterReady = { conditions: [{ type: "Ready", status: "True", reason: "ClusterIsReady" }] };
const jobDone = { conditions: [{ type: "Complete", status: "True" }] };
const liveRef: ObjectRef = {
  apiVersion: "postgresql.cnpg.io/v1",
  kind: "Cluster",
  name: "postgres",
  namespace: ns,
};

describe("plinth restore and data clone on the test bed's API server", () => {
  beforeAll(async () => {
    const kubeconfig = resolvePath(testbedEnv("KUBECONFIG"));
    if (!kubeconfig.startsWith(resolvePath(root, ".testbed")))
      throw new Error(`${kubeconfig} is not the test bed's`);
    ({ api } = await connect({ kubeconfig }));
    await api.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      { fieldManager: "test" },
    );
    // staging's live business database, as plinth applies it.
    const live = postgresCluster(staging, databaseOptions(staging, "postgres"));
    await api.apply({ ...live, metadata: { ...live.metadata, namespace: ns } } as never, {
      fieldManager: "plinth",
    });
  });
  afterAll(async () => {
    await api?.delete({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => {});
  });

  it("accepts a clone's objects as sent: prod's ObjectStore and token, the recovery Cluster, the scrub ConfigMap and Job", async () => {
    const step = here(
      planClone({
        source: prod,
        target: staging,
        scrub: ["UPDATE users SET email = 'x'"],
        credentials: token,
        at,
      }),
    );
    const objects = [...step.transient, step.cluster, ...(step.scrub ?? [])];
    expect(objects.map((o) => o.kind)).toEqual(["Secret", "ObjectStore", "Cluster", "ConfigMap", "Job"]);
    for (const o of objects) {
      await api.apply(o as never, { fieldManager: "plinth-restore-test", dryRun: true });
    }
    // Stored for real (not a dry run) for the Cluster and the ObjectStore: nothing dropped by the schemas.
    for (const o of [step.transient[1], step.cluster] as KubeObject[]) {
      await api.apply(o as never, { fieldManager: "plinth-restore-test" });
      const stored = (await api.read(refOf(o))) as { spec: Record<string, unknown> };
      expect(stored.spec).toMatchObject(o.spec as Record<string, unknown>);
      await api.delete(refOf(o));
    }
    expect(step.cluster.spec).toMatchObject({
      bootstrap: { recovery: { source: "origin", owner: "app", secret: { name: "postgres-app" } } },
      externalClusters: [
        {
          plugin: {
            parameters: { barmanObjectName: "postgres-r20260501030512-source", serverName: "postgres" },
          },
        },
      ],
    });
  });

  it("restores next to the live Cluster, scrubs, removes only the transient objects, and leaves the live one untouched", async () => {
    const before = (await api.read(liveRef)) as { metadata: { resourceVersion: string } };
    const step = here(
      planClone({ source: prod, target: staging, scrub: ["SELECT 1"], credentials: token, at }),
    );
    const calls: string[] = [];
    const events: string[] = [];
    const results = await restoreGenerations({
      // Stand-ins: CloudNativePG reporting the new Cluster Ready, the Job controller the scrub done.
      api: recording(calls, { [`Cluster ${step.next}`]: clusterReady, [`Job ${step.next}-scrub`]: jobDone }),
      steps: [step],
      timeoutMs: 10_000,
      pollMs: 100,
      onEvent: (e) => events.push(e),
    });
    expect(results).toMatchObject([{ component: "postgres", next: step.next, ready: true, scrubbed: true }]);
    const n = step.next;
    expect(calls).toEqual([
      `apply Secret ${ns}/${n}-source-credentials as plinth-restore`,
      `apply ObjectStore ${ns}/${n}-source as plinth-restore`,
      `apply Cluster ${ns}/${n} as plinth-restore`,
      `apply Cluster ${ns}/${n} as plinth`,
      `apply ConfigMap ${ns}/${n}-scrub as plinth-restore`,
      `apply Job ${ns}/${n}-scrub as plinth-restore`,
      `delete ${name("Job", `${n}-scrub`)}`,
      `delete ${name("ConfigMap", `${n}-scrub`)}`,
      `delete ${name("ObjectStore", `${n}-source`)}`,
      `delete ${name("Secret", `${n}-source-credentials`)}`,
    ]);
    expect(events).toEqual([
      `+ Cluster ${ns}/${n}: restoring ${step.from}`,
      `+ Job ${ns}/${n}-scrub: running the scrub SQL in ${n}`,
    ]);
    for (const o of [...step.transient, ...(step.scrub ?? [])]) expect(await gone(refOf(o))).toBe(true);
    expect(await gone(refOf(step.cluster))).toBe(false);
    const after = (await api.read(liveRef)) as { metadata: { resourceVersion: string } };
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    // The switch's apply of the new generation as plinth renders it (field manager plinth) changes
    // nothing in its spec: the recovery bootstrap stays the restore's, so the next plan is at zero.
    const next = withGeneration(staging, "postgres", n);
    const desired = postgresCluster(next, databaseOptions(next, "postgres"));
    const live = (await api.read(refOf(step.cluster))) as { spec: unknown };
    const dry = (await api.apply({ ...desired, metadata: { ...desired.metadata, namespace: ns } } as never, {
      fieldManager: "plinth",
      dryRun: true,
    })) as { spec: unknown };
    expect(dry.spec).toEqual(live.spec);

    // Then the old generation goes, never the active one.
    const old = { ...liveRef };
    expect(await removeOldGeneration(api, refOf(step.cluster), n, { timeoutMs: 5_000, pollMs: 100 })).toBe(
      false,
    );
    expect(await removeOldGeneration(api, old, n, { timeoutMs: 10_000, pollMs: 100 })).toBe(true);
    expect(await gone(old)).toBe(true);
    expect(await gone(refOf(step.cluster))).toBe(false);
    await api.delete(refOf(step.cluster));
  });

  it("a restore that does not become Ready is removed again and stops the run; a failed scrub likewise", async () => {
    const live = postgresCluster(prod, databaseOptions(prod, "postgres"));
    await api.apply({ ...live, metadata: { ...live.metadata, namespace: ns } } as never, {
      fieldManager: "plinth",
    });
    const before = (await api.read(liveRef)) as { metadata: { resourceVersion: string } };
    const steps = planRestore({
      env: prod,
      components: ["postgres", "platform-postgres"],
      from: { kind: "own" },
      at: new Date("2026-05-02T00:00:00Z"),
    }).map(here);
    const calls: string[] = [];
    const results = await restoreGenerations({ api: recording(calls), steps, timeoutMs: 1_500, pollMs: 100 });
    // The platform database's restore never started: the first one failed.
    expect(results).toEqual([
      {
        component: "postgres",
        next: "postgres-r20260502000000",
        ready: false,
        failure: "not Ready within 2 s; last seen: no Ready condition yet",
        removed: true,
      },
    ]);
    expect(calls).toEqual([
      `apply Cluster ${ns}/postgres-r20260502000000 as plinth-restore`,
      `apply Cluster ${ns}/postgres-r20260502000000 as plinth`,
      `delete ${name("Cluster", "postgres-r20260502000000")}`,
    ]);
    expect((await api.read(liveRef)) as { metadata: { resourceVersion: string } }).toMatchObject({
      metadata: { resourceVersion: before.metadata.resourceVersion },
    });

    const clone = here(
      planClone({
        source: prod,
        target: staging,
        scrub: ["SELECT 1"],
        credentials: token,
        at: new Date("2026-05-03T00:00:00Z"),
      }),
    );
    const failed = await restoreGenerations({
      // Stand-ins: the Cluster Ready, the Job controller reporting the scrub failed.
      api: recording([], {
        [`Cluster ${clone.next}`]: clusterReady,
        [`Job ${clone.next}-scrub`]: {
          conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }],
        },
      }),
      steps: [clone],
      timeoutMs: 10_000,
      pollMs: 100,
    });
    expect(failed).toMatchObject([
      {
        ready: false,
        scrubbed: false,
        removed: true,
        failure: "the scrub Job failed: Failed=True (BackoffLimitExceeded)",
      },
    ]);
    for (const o of [clone.cluster, ...clone.transient, ...(clone.scrub ?? [])])
      expect(await gone(refOf(o))).toBe(true);
  });
});

describe("the built CLI against the test bed", () => {
  const id = `rs${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  let dir: string;
  const vars = () => ({
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    BACKUP_S3_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"),
    BACKUP_S3_SECRET: testbedEnv("AWS_SECRET_ACCESS_KEY"),
  });
  async function plinth(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await exec(join(root, "bin/plinth"), args, { cwd: dir, env: vars() });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  }

  beforeAll(async () => {
    const destination = {
      bucket: testbedEnv("S3_BUCKET"),
      endpoint: testbedEnv("S3_ENDPOINT"),
      region: testbedEnv("AWS_REGION"),
      path: `restore-test/${id}`,
    };
    const envOf = (kind: string) =>
      `{ kind: "${kind}", cluster: "bed", baseDomain: "example.com", internalDomain: "example.org", acmeEmail: "ops@example.com", features: { vault: false, observability: false }, components: { kubero: { enabled: false } }, backups }`;
    dir = projectWithConfig(`import { defineConfig, secret } from "plinth";
const backups = {
  schedule: "0 3 * * *",
  destination: { ...${JSON.stringify(destination)}, credentials: { accessKeyId: secret.env("BACKUP_S3_KEY_ID"), secretAccessKey: secret.env("BACKUP_S3_SECRET") } },
  clone: { scrub: ["UPDATE users SET email = 'user' || id || '@example.invalid'"] },
};
export default defineConfig({
  project: "acme",
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(testbedEnv("KUBECONFIG"))} } },
  environments: { ${id}a: ${envOf("prod")}, ${id}b: ${envOf("staging")} },
});
`);
    mkdirSync(join(dir, ".plinth"), { recursive: true });
    if (!api) ({ api } = await connect({ kubeconfig: resolvePath(testbedEnv("KUBECONFIG")) }));
    await api.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: `data-${id}b` } },
      { fieldManager: "test" },
    );
  });
  afterAll(async () => {
    await api?.delete({ apiVersion: "v1", kind: "Namespace", name: `data-${id}b` }).catch(() => {});
  });

  it("an unknown backup id is refused from the bucket's contents, exit 2, nothing done", async () => {
    const out = await plinth(["restore", `${id}b`, "--from", "20200101T000000", "--yes"]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(
      `backup 20200101T000000 of postgres is not in s3://${testbedEnv("S3_BUCKET")}/restore-test/${id}/${id}b/postgres/`,
    );
    expect(out.stderr).toContain(`postgres has no finished base backup yet; see plinth backup status ${id}b`);
    expect(out.stdout).not.toContain("Restore plan");
  });

  it("a clone prints its plan, takes the lock, waits, and with nothing Ready removes what it made and switches nothing (exit 3)", async () => {
    const out = await plinth(["data", "clone", `${id}a`, `${id}b`, "--yes", "--timeout", "3s"]);
    expect(out.code, out.stderr).toBe(3);
    expect(out.stdout).toMatch(
      new RegExp(
        `Clone plan for ${id}b \\(kind staging\\) on cluster bed:\\n  postgres: Cluster data-${id}b/postgres is replaced by a new Cluster data-${id}b/postgres-r\\d{14}`,
      ),
    );
    expect(out.stdout).toContain(
      `from ${id}a's postgres (latest backup and all archived WAL) in s3://${testbedEnv("S3_BUCKET")}/restore-test/${id}/${id}a/postgres/`,
    );
    expect(out.stdout).toContain("not Ready within 3 s; last seen: no Ready condition yet");
    expect(out.stdout).toContain(`nothing was switched: ${id}b runs on its old database`);
    expect(out.stderr).toMatch(/- Cluster data-\S+\/postgres-r\d{14}: removed \(postgres untouched\)/);
    expect(out.stderr).not.toContain(testbedEnv("AWS_SECRET_ACCESS_KEY"));
    expect(out.stdout).not.toContain(testbedEnv("AWS_SECRET_ACCESS_KEY"));
    // Nothing left in the namespace, no generation recorded, the lock released.
    for (const [apiVersion, kind] of [
      ["postgresql.cnpg.io/v1", "Cluster"],
      ["barmancloud.cnpg.io/v1", "ObjectStore"],
      ["v1", "Secret"],
      ["batch/v1", "Job"],
    ] as const) {
      expect(await api.list(apiVersion, kind, { namespace: `data-${id}b` }), kind).toEqual([]);
    }
    expect(existsSync(join(dir, ".plinth/state", `${id}b.json`))).toBe(false);
    expect(existsSync(join(dir, ".plinth/state", `${id}b.lock`))).toBe(false);
    const again = await plinth(["restore", `${id}a`, "--from", `${id}a`]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${id}a is a production environment`);
  });
  it("after a restore, commands read the generation state records: backup status looks in its own folder", async () => {
    const state = new LocalStateBackend({ dir: join(dir, ".plinth/state") });
    await state.write({
      version: 1,
      env: `${id}b`,
      owned: [],
      applied: [],
      outputs: { "database.postgres.cluster": "postgres-r20260501030512" },
    });
    const out = await plinth(["backup", "status", `${id}b`, "--json"]);
    const report = JSON.parse(out.stdout) as { databases: { component: string; location: string }[] };
    expect(report.databases.find((d) => d.component === "postgres")?.location).toBe(
      `s3://${testbedEnv("S3_BUCKET")}/restore-test/${id}/${id}b/postgres-r20260501030512/`,
    );
    // A value state must not hold: refused by name, not rendered.
    await state.write({
      version: 1,
      env: `${id}b`,
      owned: [],
      applied: [],
      outputs: { "database.postgres.cluster": "redis" },
    });
    const bad = await plinth(["backup", "status", `${id}b`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`state of ${id}b: outputs["database.postgres.cluster"]`);
  });
});
