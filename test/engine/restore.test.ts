/**
 * `plinth restore <env> --from <env>` end to end through the built CLI on the test bed's API server
 * (CloudNativePG's and the Barman Cloud plugin's real CRDs): a prod-kind environment with backups
 * to the test bed's S3 server, its business PostgreSQL and Backstage (a consumer: its HelmChart
 * names `<cluster>-rw`). Stand-in: CloudNativePG's operator does not run here, so
 * standInCnpgOperator (bed.ts) reports each Cluster of the namespace Ready as soon as it exists.
 *
 * What the test bed cannot do: apply phase 0. The Barman Cloud plugin's manifest (cnpg-operator,
 * rendered wherever a cluster has backups) is fetched from raw.githubusercontent.com at every
 * apply and checked against its pinned sha256; that host does not resolve here, and no copy with
 * those bytes exists here to serve in its place. So the environment is applied phase by phase
 * (1 and 3; phase 0's operators are the cluster's, already present), and the restore's switch,
 * which applies the whole environment, stops at that manifest: the test proves what it leaves
 * (state names the new generation, the old Cluster kept, the failure said), then that the next
 * applies render the recorded generation (consumers on `<new>-rw`, old backup objects pruned)
 * and that the plan is then at zero everywhere but phase 0.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../src/plan/plan.js";
import { testbedEnv } from "../testbed/env.js";
import { kubeconfig, kubectl, kubectlJson, plinth, type Run, standInCnpgOperator } from "./bed.js";

const ENV = `rse${randomBytes(3).toString("hex")}`;
const NS = `data-${ENV}`;
const CONSUMERS = `observability-${ENV}`;
const CLUSTER = "clusters.postgresql.cnpg.io";
let dir: string;

const run = (args: string[]): Promise<Run> =>
  plinth(args, dir, {
    env: {
      BACKUP_S3_KEY_ID: testbedEnv("AWS_ACCESS_KEY_ID"),
      BACKUP_S3_SECRET: testbedEnv("AWS_SECRET_ACCESS_KEY"),
    },
  });

const stateFile = () => join(dir, ".plinth/state", `${ENV}.json`);
const outputs = () =>
  (JSON.parse(readFileSync(stateFile(), "utf8")) as { outputs: Record<string, string> }).outputs;
const clusters = async () =>
  (await kubectlJson<{ items: { metadata: { name: string } }[] }>("get", CLUSTER, "-n", NS)).items
    .map((c) => c.metadata.name)
    .sort();
const get = <T>(...args: string[]) => kubectlJson<T>("get", ...args);
async function exists(...args: string[]): Promise<boolean> {
  return (await kubectl("get", ...args, "--ignore-not-found", "-o", "name")).trim() !== "";
}
const backstageValues = async () =>
  JSON.stringify(await get<{ spec: unknown }>("helmchart", "-n", "kube-system", `backstage-${ENV}`));

describe.sequential("plinth restore end to end through the built CLI (test bed)", {
  timeout: 300_000,
}, () => {
  let next = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "plinth-restore-"));
    const destination = {
      bucket: testbedEnv("S3_BUCKET"),
      endpoint: testbedEnv("S3_ENDPOINT"),
      region: testbedEnv("AWS_REGION"),
      path: `restore-engine/${ENV}`,
    };
    const off = [
      "traefik",
      "redis",
      "kubero",
      "arangodb",
      "clickhouse",
      "signoz",
      "openpanel",
      "sso",
      "dashboard",
    ];
    writeFileSync(
      join(dir, "plinth.config.ts"),
      `import { defineConfig, secret } from "plinth";

// The peer gives ${ENV} its own namespaces (${NS}, ${CONSUMERS}); it is never applied.
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org", acmeEmail: "ops@example.com" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig())} } },
  environments: {
    ${ENV}: {
      kind: "prod",
      cluster: "bed",
      features: { vault: false, observability: false, backstage: true },
      backups: {
        schedule: "0 3 * * *",
        destination: { ...${JSON.stringify(destination)}, credentials: { accessKeyId: secret.env("BACKUP_S3_KEY_ID"), secretAccessKey: secret.env("BACKUP_S3_SECRET") } },
      },
      components: { ${off.map((c) => `${c}: { enabled: false }`).join(", ")} },
    },
    "${ENV}-peer": { kind: "ci", cluster: "bed" },
  },
});
`,
    );
    for (const phase of ["1", "3"]) {
      const applied = await run(["apply", ENV, "--yes", "--no-wait", "--phase", phase]);
      expect(applied.code, applied.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    // Only what this environment made; phase 0's operators are the cluster's (no destroy).
    await kubectl("delete", "helmchart", "-n", "kube-system", `backstage-${ENV}`, "--ignore-not-found");
    await kubectl("delete", "namespace", NS, CONSUMERS, "--ignore-not-found", "--wait=false");
    await kubectl("delete", "configmap", "-n", "kube-system", `plinth-applyset-${ENV}`, "--ignore-not-found");
  });

  it("a prod-kind environment without --confirm is refused (exit 2) and nothing changes", async () => {
    const live = await get<{ metadata: { resourceVersion: string } }>(CLUSTER, "-n", NS, "postgres");
    const state = readFileSync(stateFile(), "utf8");
    const out = await run(["restore", ENV, "--from", ENV, "--yes"]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(`${ENV} is a production environment: a restore replaces its database`);
    expect(out.stderr).toContain(`re-run with --confirm ${ENV}`);
    expect(out.stdout).not.toContain("Restore plan");
    expect(await clusters()).toEqual(["postgres"]);
    const after = await get<{ metadata: { resourceVersion: string } }>(CLUSTER, "-n", NS, "postgres");
    expect(after.metadata.resourceVersion).toBe(live.metadata.resourceVersion);
    expect(readFileSync(stateFile(), "utf8")).toBe(state);
    expect(existsSync(join(dir, ".plinth/state", `${ENV}.lock`))).toBe(false);
    // A partial switch would leave consumers on the Cluster about to go: refused, not ignored.
    const partial = await run(["restore", ENV, "--from", ENV, "--yes", "--confirm", ENV, "--phase", "1"]);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain("Unknown option '--phase'");
    expect(await clusters()).toEqual(["postgres"]);
  });

  it("with --confirm: the new generation is restored from the environment's own backups and recorded; the switch's apply stops at the unreachable plugin manifest and the old Cluster is kept", async () => {
    expect(await backstageValues()).toContain(`postgres-rw.${NS}.svc`);
    const stop = standInCnpgOperator(NS);
    let out: Run;
    try {
      out = await run([
        "restore",
        ENV,
        "--from",
        ENV,
        "--yes",
        "--confirm",
        ENV,
        "--no-wait",
        "--timeout",
        "60s",
      ]);
    } finally {
      await stop();
    }
    next = /is replaced by a new Cluster \S+\/(postgres-r\d{14})/.exec(out.stdout)?.[1] ?? "";
    expect(next, out.stdout + out.stderr).not.toBe("");
    expect(out.stdout).toContain(`Restore plan for ${ENV} (kind prod) on cluster bed:`);
    expect(out.stdout).toMatch(new RegExp(`postgres: ${next} Ready in [\\d.]+ s`));

    // The new generation: restored by recovery from this environment's ObjectStore and server.
    const cluster = await get<{ spec: Record<string, unknown> }>(CLUSTER, "-n", NS, next);
    expect(cluster.spec).toMatchObject({
      bootstrap: { recovery: { source: "origin", secret: { name: "postgres-app" } } },
      externalClusters: [
        {
          name: "origin",
          plugin: { parameters: { barmanObjectName: "postgres-backups", serverName: "postgres" } },
        },
      ],
    });

    // State records the active generation before the switch's apply.
    expect(out.stderr).toContain(`recorded in ${ENV}'s state: postgres runs as ${next}`);
    expect(outputs()["database.postgres.cluster"]).toBe(next);
    expect(outputs()["restore.postgres"]).toMatch(
      new RegExp(`restore from ${ENV}: ${next} replaced postgres$`),
    );

    // The switch's apply: phase 0 first, where the plugin's manifest cannot be fetched here.
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(
      "cannot fetch the operator manifest https://raw.githubusercontent.com/cloudnative-pg/plugin-barman-cloud/",
    );
    expect(out.stderr).toContain(
      `the switch's apply failed: ${ENV}'s state records postgres as ${next}, and Cluster ${NS}/postgres is kept`,
    );
    // Nothing was deleted: the old Cluster stays until the switch's apply has gone through.
    expect(await clusters()).toEqual(["postgres", next].sort());
    expect(await backstageValues()).toContain(`postgres-rw.${NS}.svc`);
    expect(out.stderr).not.toContain(testbedEnv("AWS_SECRET_ACCESS_KEY"));
    expect(out.stdout).not.toContain(testbedEnv("AWS_SECRET_ACCESS_KEY"));
    expect(existsSync(join(dir, ".plinth/state", `${ENV}.lock`))).toBe(false);
  });

  it("the next applies render the recorded generation: the consumer names <new>-rw, the old backup objects are pruned, and the plan is at zero outside phase 0", async () => {
    expect(next).not.toBe("");
    for (const phase of ["1", "3"]) {
      const applied = await run(["apply", ENV, "--yes", "--no-wait", "--phase", phase]);
      expect(applied.code, applied.stderr).toBe(0);
    }
    const values = await backstageValues();
    expect(values).toContain(`${next}-rw.${NS}.svc`);
    expect(values).not.toContain(`postgres-rw.${NS}.svc`);
    const scheduled = await get<{ spec: { cluster: { name: string } } }>(
      "scheduledbackups.postgresql.cnpg.io",
      "-n",
      NS,
      `${next}-scheduled`,
    );
    expect(scheduled.spec.cluster.name).toBe(next);
    expect(await exists("objectstores.barmancloud.cnpg.io", "-n", NS, `${next}-backups`)).toBe(true);
    expect(await exists("objectstores.barmancloud.cnpg.io", "-n", NS, "postgres-backups")).toBe(false);
    expect(await exists("scheduledbackups.postgresql.cnpg.io", "-n", NS, "postgres-scheduled")).toBe(false);
    // The old generation, data, is left by apply (released, not pruned): removed by hand, as said.
    expect(await clusters()).toEqual(["postgres", next].sort());
    await kubectl("delete", CLUSTER, "-n", NS, "postgres", "--wait=true");

    const planned = await run(["plan", ENV, "--json"]);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as Plan;
    const pending = plan.phases.flatMap((p) =>
      p.components.flatMap((c) =>
        c.changes
          .filter((ch) => ch.action !== "no-op")
          .map((ch) => `${p.id} ${ch.action} ${ch.kind} ${ch.name}`),
      ),
    );
    expect(pending.filter((p) => !p.startsWith("0 "))).toEqual([]);
    // Phase 0 was never applied here, and its plugin manifest cannot be read here: an update saying so (src/plan/manifest.ts).
    expect(pending).toContain("0 update OperatorManifest plugin-barman-cloud");
    expect(await clusters()).toEqual([next]);
  });
});
