/**
 * A restore drill on the test bed's real API server: what it creates and removes, exactly, and
 * that it never touches the live Cluster. No CloudNativePG operator runs there (its pods would have
 * to run PostgreSQL), so the restored Cluster never becomes Ready: the drill's restore itself is the
 * path test/backups/barman.test.ts proves with Barman, and here it must time out, say so, and still
 * leave nothing behind.
 */
import { readFileSync } from "node:fs";
import { join, resolve as resolvePath } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DrillApi, runRestoreDrill } from "../../src/apply/drill.js";
import { backedUpDatabases } from "../../src/catalog/backup-targets.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import { desiredComponents } from "../../src/plan/desired.js";
import type { KubeApi } from "../../src/providers/kubernetes/api.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { apiError } from "../../src/providers/kubernetes/errors.js";
import type { ObjectRef } from "../../src/providers/kubernetes/identity.js";
import { cli, exampleWith, projectWithConfig } from "../helpers/config.js";
import { root, testbedEnv } from "../testbed/env.js";
import { backupsSettings } from "./config.js";

const ns = `drill-${process.pid}-${Date.now().toString(36)}`;
let api: KubeApi;

const env = resolve(
  exampleWith((raw) => {
    raw.defaults = { ...raw.defaults, backups: backupsSettings() };
  }),
  "staging",
);
const postgres = backedUpDatabases(env)
  .filter((d) => d.component === "postgres")
  .map((d) => ({ ...d, namespace: ns }));
const live = desiredComponents(env, buildGraph(env))
  .find((c) => c.id === "postgres")
  ?.objects.find((o) => o.kind === "Cluster");
const liveRef: ObjectRef = {
  apiVersion: "postgresql.cnpg.io/v1",
  kind: "Cluster",
  name: "postgres",
  namespace: ns,
};
const drillRef: ObjectRef = { ...liveRef, name: "postgres-drill" };

/** The drill's API calls, recorded: the test checks it made exactly these. */
function recording(calls: string[]): DrillApi {
  const name = (r: { kind?: string; metadata?: { namespace?: string; name?: string } }) =>
    `${r.kind} ${r.metadata?.namespace}/${r.metadata?.name}`;
  return {
    apply: async (o, opts) => {
      calls.push(`apply ${name(o as never)}`);
      return api.apply(o as never, opts);
    },
    read: (ref) => api.read(ref),
    delete: async (ref) => {
      calls.push(`delete ${ref.kind} ${ref.namespace}/${ref.name}`);
      await api.delete(ref);
    },
    list: (apiVersion, kind, o) => api.list(apiVersion, kind, o),
    getText: (path) => api.getText(path),
    exchange: (method, path, json, headers) => api.exchange(method, path, json, headers),
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

describe("plinth restore-drill on the test bed's API server", () => {
  beforeAll(async () => {
    const kubeconfig = resolvePath(testbedEnv("KUBECONFIG"));
    if (!kubeconfig.startsWith(resolvePath(root, ".testbed")))
      throw new Error(`${kubeconfig} is not the test bed's`);
    ({ api } = await connect({ kubeconfig }));
    await api.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
      { fieldManager: "test" },
    );
    if (!live) throw new Error("no live Cluster rendered");
    await api.apply({ ...live, metadata: { ...live.metadata, namespace: ns } } as never, {
      fieldManager: "plinth",
    });
  });
  afterAll(async () => {
    await api?.delete({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => {});
  });

  it("creates its own Cluster next to the live one, waits (named, with a timeout), and removes it", async () => {
    const before = (await api.read(liveRef)) as { metadata: { resourceVersion: string } };
    const calls: string[] = [];
    const events: string[] = [];
    const results = await runRestoreDrill({
      api: recording(calls),
      env,
      databases: postgres,
      timeoutMs: 3_000,
      pollMs: 200,
      onEvent: (e) => events.push(e),
    });
    expect(results).toEqual([
      {
        component: "postgres",
        object: `Cluster ${ns}/postgres-drill`,
        ready: false,
        failure: "not Ready within 3 s; last seen: no Ready condition yet",
        removed: true,
      },
    ]);
    expect(calls).toEqual([`apply Cluster ${ns}/postgres-drill`, `delete Cluster ${ns}/postgres-drill`]);
    expect(events[0]).toBe(`+ Cluster ${ns}/postgres-drill: restoring postgres's backups`);
    expect(await gone(drillRef)).toBe(true);
    const after = (await api.read(liveRef)) as { metadata: { resourceVersion: string } };
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("restores to a point in time when asked, from the live Cluster's ObjectStore through the plugin", async () => {
    let seen: Record<string, unknown> | undefined;
    const api2 = recording([]);
    await runRestoreDrill({
      api: {
        ...api2,
        apply: async (o, opts) => {
          const res = await api2.apply(o, opts);
          seen = (await api.read(drillRef)) as Record<string, unknown>;
          return res;
        },
      },
      env,
      databases: postgres,
      targetTime: "2026-12-01T03:00:00Z",
      timeoutMs: 500,
      pollMs: 100,
    });
    // As stored by the API server with CloudNativePG's CRD: nothing of it dropped.
    expect((seen as { spec: unknown }).spec).toMatchObject({
      bootstrap: { recovery: { source: "origin", recoveryTarget: { targetTime: "2026-12-01T03:00:00Z" } } },
      externalClusters: [
        {
          name: "origin",
          plugin: {
            name: "barman-cloud.cloudnative-pg.io",
            parameters: { barmanObjectName: "postgres-backups", serverName: "postgres" },
          },
        },
      ],
      storage: { storageClass: "local-path" },
    });
    expect((seen as { spec: object }).spec).not.toHaveProperty("plugins");
    expect(await gone(drillRef)).toBe(true);
  });

  it("once the restore is Ready, runs its checks in the cluster and removes exactly what it made", async () => {
    // No CloudNativePG operator here: the drill Cluster's Ready is a stand-in, answered by the
    // reads below. With no kubelet, the counting Job never runs and the scratch Vault never
    // answers: both checks must fail by name, and every object go again.
    const platform = backedUpDatabases(env)
      .filter((d) => d.component === "platform-postgres")
      .map((d) => ({ ...d, namespace: ns }));
    expect(platform).toHaveLength(1);
    const calls: string[] = [];
    const stored: Record<string, Record<string, unknown>> = {};
    const base = recording(calls);
    const drillApi: DrillApi = {
      ...base,
      apply: async (o, opts) => {
        const res = await base.apply(o, opts);
        const m = o.metadata as { name: string; namespace: string };
        stored[`${o.kind as string} ${m.name}`] = (await api.read({
          apiVersion: o.apiVersion as string,
          kind: o.kind as string,
          name: m.name,
          namespace: m.namespace,
        })) as Record<string, unknown>;
        return res;
      },
      read: async (ref) => {
        const o = await api.read(ref);
        if (ref.kind !== "Cluster" || ref.name !== "platform-postgres-drill") return o;
        return {
          ...o,
          status: { conditions: [{ type: "Ready", status: "True", reason: "ClusterIsReady" }] },
        };
      },
    };
    const [result] = await runRestoreDrill({
      api: drillApi,
      env,
      databases: platform,
      timeoutMs: 5_000,
      pollMs: 200,
      checks: { counts: true, vault: { tokens: ["t"], keys: ["k"] }, timeoutMs: 2_000 },
    });
    const name = (kind: string, n: string) => `${kind} ${ns}/${n}`;
    expect(calls).toEqual([
      `apply ${name("Cluster", "platform-postgres-drill")}`,
      `apply ${name("Job", "platform-postgres-drill-counts")}`,
      `apply ${name("ConfigMap", "platform-postgres-drill-vault")}`,
      `apply ${name("Pod", "platform-postgres-drill-vault")}`,
      `apply ${name("Service", "platform-postgres-drill-vault")}`,
      `delete ${name("Service", "platform-postgres-drill-vault")}`,
      `delete ${name("Pod", "platform-postgres-drill-vault")}`,
      `delete ${name("ConfigMap", "platform-postgres-drill-vault")}`,
      `delete ${name("Job", "platform-postgres-drill-counts")}`,
      `delete ${name("Cluster", "platform-postgres-drill")}`,
    ]);
    expect(result).toMatchObject({ ready: true, removed: true });
    // The test bed's simulated nodes (kwok) may mark the Job's pod done, but serve no log.
    expect(result?.failure).toMatch(
      /^row counts: (the Job \S+ did not finish within 2 s|the log of pod \S+ is not the counting output: .+); scratch Vault: the scratch Vault did not answer within 2 s/,
    );
    // As the API server stored them: the restore logs its owner in with the live owner's Secret,
    // and the checks read that Secret; every object carries the drill's label.
    expect(
      (stored["Cluster platform-postgres-drill"] as { spec: { bootstrap: unknown } }).spec.bootstrap,
    ).toMatchObject({
      recovery: { database: "vault", owner: "vault", secret: { name: "platform-postgres-vault" } },
    });
    const job = stored["Job platform-postgres-drill-counts"] as {
      spec: {
        template: {
          spec: { containers: { env: { name: string; valueFrom?: unknown; value?: string }[] }[] };
        };
      };
    };
    const jobEnv = job.spec.template.spec.containers[0]?.env ?? [];
    expect(jobEnv.find((e) => e.name === "PGPASSWORD")?.valueFrom).toEqual({
      secretKeyRef: { name: "platform-postgres-vault", key: "password" },
    });
    expect(jobEnv.find((e) => e.name === "PLINTH_RESTORE_HOST")?.value).toBe("platform-postgres-drill-rw");
    const pod = stored["Pod platform-postgres-drill-vault"] as {
      spec: { containers: { env: { name: string; value?: string }[] }[] };
    };
    const url = pod.spec.containers[0]?.env.find((e) => e.name.endsWith("_PG_CONNECTION_URL"))?.value;
    expect(url).toBe(
      `postgresql://vault:$(DRILL_PG_PASSWORD)@platform-postgres-drill-rw.${ns}.svc:5432/vault?sslmode=require`,
    );
    for (const o of Object.values(stored)) {
      expect((o.metadata as { labels: Record<string, string> }).labels["plinth.dev/restore-drill"]).toBe(
        "platform-postgres",
      );
    }
    for (const [kind, n] of [
      ["Cluster", "platform-postgres-drill"],
      ["Job", "platform-postgres-drill-counts"],
      ["Pod", "platform-postgres-drill-vault"],
      ["Service", "platform-postgres-drill-vault"],
      ["ConfigMap", "platform-postgres-drill-vault"],
    ] as const) {
      const apiVersion = kind === "Cluster" ? "postgresql.cnpg.io/v1" : kind === "Job" ? "batch/v1" : "v1";
      expect(await gone({ apiVersion, kind, name: n, namespace: ns })).toBe(true);
    }
  }, 60_000);

  it("leaves alone an object of the drill's name that is not a drill's", async () => {
    if (!live) throw new Error("no live Cluster rendered");
    await api.apply(
      { ...live, metadata: { ...live.metadata, name: "postgres-drill", namespace: ns } } as never,
      {
        fieldManager: "someone-else",
      },
    );
    const calls: string[] = [];
    const [result] = await runRestoreDrill({
      api: recording(calls),
      env,
      databases: postgres,
      timeoutMs: 500,
    });
    expect(result?.failure).toBe(`Cluster ${ns}/postgres-drill exists and is not a drill's: left alone`);
    expect(calls).toEqual([]);
    expect(await gone(drillRef)).toBe(false);
  });
});

describe("plinth restore-drill, the command", () => {
  const name = `dr${process.pid}`;
  const data = `data-${name}`;
  beforeAll(async () => {
    ({ api } = await connect({ kubeconfig: resolvePath(testbedEnv("KUBECONFIG")) }));
    await api.apply(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: data } },
      { fieldManager: "test" },
    );
  });
  afterAll(async () => {
    await api?.delete({ apiVersion: "v1", kind: "Namespace", name: data }).catch(() => {});
  });

  it("runs the drill against the environment's cluster, records the outcome in state, exit 3 when not restored", async () => {
    // Two environments on the cluster, so this one's namespaces are its own (data-<env>).
    const dir = projectWithConfig(`import { defineConfig, secret } from "plinth";
const backups = {
  schedule: "0 3 * * *",
  destination: {
    bucket: "acme-backups",
    endpoint: "https://0123456789abcdef.r2.cloudflarestorage.com",
    credentials: { accessKeyId: secret.env("BACKUP_S3_KEY_ID"), secretAccessKey: secret.env("BACKUP_S3_SECRET") },
  },
};
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org", acmeEmail: "ops@example.com", features: { vault: false, observability: false } },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(resolvePath(testbedEnv("KUBECONFIG")))} } },
  environments: {
    ${name}: { kind: "staging", cluster: "bed", domainPrefix: "${name}", backups },
    ${name}x: { kind: "test", cluster: "bed", domainPrefix: "${name}x" },
  },
});
`);
    const out = await cli(["restore-drill", name, "--timeout", "2s", "--json"], dir);
    expect(out.code, out.stderr).toBe(3);
    const report = JSON.parse(out.stdout) as { ok: boolean; databases: Record<string, unknown>[] };
    expect(report.ok).toBe(false);
    expect(report.databases).toEqual([
      expect.objectContaining({
        component: "postgres",
        object: `Cluster ${data}/postgres-drill`,
        ready: false,
        removed: true,
        failure: "not Ready within 2 s; last seen: no Ready condition yet",
      }),
    ]);
    expect(await gone({ ...drillRef, namespace: data })).toBe(true);
    const state = JSON.parse(readFileSync(join(dir, ".plinth", "state", `${name}.json`), "utf8")) as {
      outputs: Record<string, string>;
    };
    expect(state.outputs["restore-drill.postgres"]).toMatch(
      /^\d{4}-\d\d-\d\dT\S+ FAILED rto=-s rpo=-s rows=- vault=-$/,
    );
  }, 60_000);
});
