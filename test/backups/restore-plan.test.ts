/**
 * `plinth restore` and `plinth data clone` without a cluster: what the plan says, what a restored
 * generation renders (and what it does not change), and every refusal through the real CLI before
 * anything is read from state, a bucket or a cluster. The restore itself on the test bed's API
 * server: restore-apiserver.test.ts; the data path with Barman and PostgreSQL: clone-barman.test.ts.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { planClone } from "../../src/apply/clone.js";
import { formatRestorePlan, planRestore, withGeneration } from "../../src/apply/restore.js";
import { CATALOG } from "../../src/catalog/index.js";
import { RESTORE_LABEL, SCRUB_PSQL_ARGS, scrubScript } from "../../src/catalog/restore.js";
import type { KubeObject } from "../../src/catalog/types.js";
import { buildGraph } from "../../src/graph/graph.js";
import { activeClusterOutputs, generationName, withActiveClusters } from "../../src/model/backups.js";
import { resolve } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { exampleWith, projectWithConfig } from "../helpers/config.js";
import { backupsSettings } from "./config.js";

const exec = promisify(execFile);
const config = exampleWith((raw) => {
  raw.defaults = { ...raw.defaults, backups: backupsSettings() };
  raw.environments.staging = {
    ...raw.environments.staging,
    backups: { clone: { scrub: ["UPDATE users SET email = 'user' || id || '@example.invalid'"] } },
  } as never;
});
const staging = resolve(config, "staging");
const prod = resolve(config, "prod");
const at = new Date("2026-05-01T03:05:12Z");
const token = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-real-secret" };

function objects(env: ResolvedEnvironment): KubeObject[] {
  return desiredComponents(env, buildGraph(env)).flatMap((c) => c.objects);
}
const find = (list: KubeObject[], kind: string, name: string) =>
  list.find((o) => o.kind === kind && o.metadata.name === name);

describe("a restored generation as plinth renders it", () => {
  it("names each restore by its UTC second, and reads only generation names from state", () => {
    expect(generationName("postgres", at)).toBe("postgres-r20260501030512");
    const env = withActiveClusters(staging, { "database.postgres.cluster": "postgres-r20260501030512" });
    expect(env.activeClusters).toEqual({ postgres: "postgres-r20260501030512" });
    // The catalog's own name in state is the same as none.
    expect(
      withActiveClusters(staging, { "database.postgres.cluster": "postgres" }).activeClusters,
    ).toBeUndefined();
    expect(() => withActiveClusters(staging, { "database.postgres.cluster": "redis-master" })).toThrow(
      /not a Cluster of postgres/,
    );
  });

  it("plinth refresh finds the generation in use among the Clusters the ApplySet owns", () => {
    expect(
      activeClusterOutputs([
        "platform-postgres",
        "postgres-r20260501030512",
        "postgres-r20260601000000",
        "postgres-drill",
      ]),
    ).toEqual({ "database.postgres.cluster": "postgres-r20260601000000" });
    expect(activeClusterOutputs(["platform-postgres", "postgres"])).toEqual({});
  });

  it("renders the Cluster under its new name with no bootstrap, keeps the owner's Secret, and moves every consumer", () => {
    const before = objects(staging);
    const after = objects(withGeneration(staging, "postgres", "postgres-r20260501030512"));
    const old = find(before, "Cluster", "postgres");
    const next = find(after, "Cluster", "postgres-r20260501030512");
    expect(old).toBeDefined();
    expect(find(after, "Cluster", "postgres")).toBeUndefined();
    if (!old || !next) throw new Error("a Cluster is missing from the render");
    const { bootstrap: _b, plugins: oldPlugins, ...oldRest } = old.spec as Record<string, unknown>;
    const { plugins, ...rest } = next.spec as Record<string, unknown>;
    expect(rest).toEqual(oldRest);
    expect((next.spec as Record<string, unknown>).bootstrap).toBeUndefined();
    // Its own Barman server folder: backups of the restored data never go into the old one's.
    expect(plugins).toEqual([
      {
        name: "barman-cloud.cloudnative-pg.io",
        isWALArchiver: true,
        parameters: {
          barmanObjectName: "postgres-r20260501030512-backups",
          serverName: "postgres-r20260501030512",
        },
      },
    ]);
    expect(oldPlugins).not.toEqual(plugins);
    // Consumers follow the name: every `postgres-rw` host in what plinth renders (objects and the
    // secrets' connection templates: Vault's database engine, OpenPanel) became the new one.
    const text = (env: ResolvedEnvironment) =>
      JSON.stringify(
        desiredComponents(env, buildGraph(env)).map((c) => [c.objects, CATALOG[c.id].secrets(env)]),
      );
    const moved = text(withGeneration(staging, "postgres", "postgres-r20260501030512"));
    const hosts = (t: string) => [...new Set(t.match(/[a-z0-9-]*postgres[a-z0-9-]*-rw\.[a-z-]+/g))].sort();
    expect(hosts(text(staging))).toEqual(["platform-postgres-rw.platform", "postgres-rw.data"]);
    expect(hosts(moved)).toEqual(["platform-postgres-rw.platform", "postgres-r20260501030512-rw.data"]);
    expect(moved.split("postgres-r20260501030512-rw.data").length).toBe(
      text(staging).split("postgres-rw.data").length,
    );
    const moved2 = withGeneration(staging, "postgres", "postgres-r20260501030512");
    // The owner's credentials stay the environment's; the bucket token's Secret goes with the ObjectStore.
    expect(CATALOG.postgres.secrets(moved2).map((x) => x.name)).toEqual([
      "postgres-app",
      "postgres-r20260501030512-backup-credentials",
    ]);
    // The platform database is untouched by a restore of the business one.
    expect(find(after, "Cluster", "platform-postgres")).toEqual(find(before, "Cluster", "platform-postgres"));
  });
});

describe("the restore plan", () => {
  it("from the environment's own backups: the live ObjectStore and server, to a time, nothing transient", () => {
    const steps = planRestore({
      env: prod,
      components: ["platform-postgres", "postgres"],
      from: { kind: "own" },
      targetTime: "2026-05-01T02:00:00Z",
      at,
    });
    expect(steps.map((s) => [s.component, s.old, s.next, s.transient.length])).toEqual([
      ["platform-postgres", "platform-postgres", "platform-postgres-r20260501030512", 0],
      ["postgres", "postgres", "postgres-r20260501030512", 0],
    ]);
    const spec = steps[1]?.cluster.spec as Record<string, unknown>;
    expect(steps[1]?.cluster.metadata.labels?.[RESTORE_LABEL]).toBe("postgres");
    expect(spec.bootstrap).toEqual({
      recovery: {
        source: "origin",
        database: "app",
        owner: "app",
        secret: { name: "postgres-app" },
        recoveryTarget: { targetTime: "2026-05-01T02:00:00Z" },
      },
    });
    expect(spec.externalClusters).toEqual([
      {
        name: "origin",
        plugin: {
          name: "barman-cloud.cloudnative-pg.io",
          parameters: { barmanObjectName: "postgres-backups", serverName: "postgres" },
        },
      },
    ]);
    const text = formatRestorePlan(prod, steps);
    expect(text).toContain("Restore plan for prod (kind prod) on cluster prod:");
    expect(text).toContain(
      "postgres: Cluster data/postgres is replaced by a new Cluster data/postgres-r20260501030512",
    );
    expect(text).toContain("from prod's postgres (to 2026-05-01T02:00:00Z)");
    expect(text).toContain(
      "postgres-r20260501030512 archives to its own folder (server postgres-r20260501030512)",
    );
    expect(text).toContain(
      "once postgres-r20260501030512 is Ready: consumers switch to postgres-r20260501030512-rw (plinth apply of prod), then postgres is deleted",
    );
    expect(text).toContain(
      "if it does not become Ready: postgres-r20260501030512 is deleted, postgres stays in use, untouched",
    );
  });

  it("a second restore reads from the generation running now", () => {
    const running = withActiveClusters(prod, { "database.postgres.cluster": "postgres-r20260501030512" });
    const [step] = planRestore({
      env: running,
      components: ["postgres"],
      from: { kind: "own", backupId: "20260502T030000" },
      at: new Date("2026-05-03T00:00:00Z"),
    });
    expect([step?.old, step?.next]).toEqual(["postgres-r20260501030512", "postgres-r20260503000000"]);
    const spec = step?.cluster.spec as {
      externalClusters: { plugin: { parameters: unknown } }[];
      bootstrap: unknown;
    };
    expect(spec.externalClusters[0]?.plugin.parameters).toEqual({
      barmanObjectName: "postgres-r20260501030512-backups",
      serverName: "postgres-r20260501030512",
    });
    expect(JSON.stringify(spec.bootstrap)).toContain('"recoveryTarget":{"backupID":"20260502T030000"}');
  });

  it("a clone: prod's folder through a transient ObjectStore with prod's token, staging's owner password, then the scrub", () => {
    const step = planClone({
      source: prod,
      target: staging,
      scrub: staging.clone?.scrub ?? [],
      credentials: token,
      at,
    });
    expect(step.transient.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      "Secret postgres-r20260501030512-source-credentials",
      "ObjectStore postgres-r20260501030512-source",
    ]);
    const store = step.transient[1]?.spec as { configuration: Record<string, unknown> };
    expect(store.configuration.destinationPath).toBe("s3://acme-backups/backups/prod");
    expect(JSON.stringify(step.cluster.spec)).toContain('"serverName":"postgres"');
    // Backups of the clone go to staging's folder, under its own server name.
    expect(step.cluster.spec).toMatchObject({
      plugins: [
        {
          parameters: {
            barmanObjectName: "postgres-r20260501030512-backups",
            serverName: "postgres-r20260501030512",
          },
        },
      ],
      managed: { roles: [{ name: "app", passwordSecret: { name: "postgres-app" } }] },
    });
    const [configMap, job] = step.scrub ?? [];
    if (!configMap || !job) throw new Error("no scrub objects");
    expect(configMap.kind).toBe("ConfigMap");
    const script = (configMap as unknown as { data: Record<string, string> }).data["scrub.sql"];
    expect(script).toContain("ALTER ROLE %I NOLOGIN");
    expect(script).toContain("UPDATE users SET email = 'user' || id || '@example.invalid';");
    const container = (job.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
      .spec.containers[0];
    expect(container?.command).toEqual(["psql", ...SCRUB_PSQL_ARGS, "/scrub/scrub.sql"]);
    expect(JSON.stringify(container?.env)).toContain('"value":"postgres-r20260501030512-rw.data.svc"');
    // The token is in the transient Secret only, never in the plan's text.
    const text = formatRestorePlan(staging, [step], "Clone");
    expect(text).not.toContain(token.secretAccessKey);
    expect(text).toContain(
      "then the scrub SQL runs in postgres-r20260501030512 (Job data/postgres-r20260501030512-scrub)",
    );
  });

  it("a clone refuses the source as target", () => {
    expect(() => planClone({ source: staging, target: staging, scrub: [], credentials: token, at })).toThrow(
      /the source and the target are both staging/,
    );
  });

  it("the scrub script ends every statement and stops at the first error, in one transaction", () => {
    expect(
      scrubScript(["SELECT 1", "SELECT 2;  "], { source: "prod", target: "staging" }).split("\n").slice(-3),
    ).toEqual(["SELECT 1;", "SELECT 2;", ""]);
    expect(SCRUB_PSQL_ARGS).toEqual(["-X", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f"]);
  });
});

/** The built CLI (bin/plinth), as a person runs it. */
async function plinth(
  cwd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = join(import.meta.dirname, "../../bin/plinth");
  try {
    const { stdout, stderr } = await exec(bin, args, {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** Two environments on a kubeconfig that does not exist: anything that reached for a cluster would fail otherwise. */
function project(): string {
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
  clusters: {
    main: { type: "existing", kubeconfig: "no-such-kubeconfig.yaml" },
    other: { type: "existing", kubeconfig: "no-such-kubeconfig.yaml" },
  },
  environments: {
    live: { kind: "prod", cluster: "main", baseDomain: "example.com", internalDomain: "example.org", acmeEmail: "ops@example.com", domainPrefix: "", features: { vault: false, observability: false }, backups },
    stage: { kind: "staging", cluster: "other", baseDomain: "example.com", internalDomain: "example.org", acmeEmail: "ops@example.com", features: { vault: false, observability: false }, backups: { ...backups, clone: { scrubFile: "scrub/stage.sql" } } },
  },
});
`);
  writeFileSync(join(dir, "README"), "restore refusals\n");
  return dir;
}

describe("refusals through the built CLI, before anything is touched", () => {
  const dir = project();

  it("a restore of a prod-kind environment without --confirm <env>: exit 2, nothing done", async () => {
    const out = await plinth(dir, ["restore", "live", "--from", "live", "--yes"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("live is a production environment: a restore replaces its database");
    expect(out.stderr).toContain("re-run with --confirm live if you really mean to; nothing was done");
    const wrong = await plinth(dir, ["restore", "live", "--from", "live", "--confirm", "stage", "--yes"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("--confirm");
    expect(wrong.stdout).not.toContain("Restore plan");
  });

  it("a clone into a prod-kind environment without --confirm, and a clone onto itself", async () => {
    const intoProd = await plinth(dir, ["data", "clone", "stage", "live", "--yes"]);
    expect(intoProd.code).toBe(2);
    expect(intoProd.stderr).toContain("live is a production environment: a clone replaces its database");
    const same = await plinth(dir, ["data", "clone", "stage", "stage", "--yes"]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain("the source and the target are both stage");
  });

  it("a --from that is neither an environment nor a backup id, a backup id with --target-time, a missing --from", async () => {
    const unknown = await plinth(dir, ["restore", "stage", "--from", "yesterday", "--yes"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"yesterday" is neither an environment of the config nor a backup id');
    expect(unknown.stderr).toContain("live, stage");
    const mixed = await plinth(dir, [
      ...["restore", "stage", "--from", "20260501T030000", "--target-time", "2026-05-01T03:00:00Z", "--yes"],
    ]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("goes with --from <env>, not with a backup id");
    const none = await plinth(dir, ["restore", "stage", "--yes"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--from");
    const badTime = await plinth(dir, ["restore", "stage", "--from", "stage", "--target-time", "yesterday"]);
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain("is not a point in time with its offset");
  });

  it("the platform database from another environment, and a clone whose scrub file is missing", async () => {
    const platform = await plinth(dir, [
      "restore",
      "stage",
      "--from",
      "live",
      "--database",
      "platform-postgres",
      "--yes",
    ]);
    expect(platform.code).toBe(2);
    expect(platform.stderr).toContain("the platform PostgreSQL is Vault's storage");
    const scrub = await plinth(dir, ["data", "clone", "live", "stage", "--yes"]);
    expect(scrub.code).toBe(2);
    expect(scrub.stderr).toContain("environments.stage.backups.clone.scrubFile");
    expect(scrub.stderr).toContain("cannot be read: ENOENT");
  });
});
