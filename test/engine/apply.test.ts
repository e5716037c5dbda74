/**
 * The engine against the test bed's real API server (etcd, kube-apiserver, controller-manager,
 * scheduler, kwok, helm-controller). One environment converged, changed, drifted, conflicted,
 * killed and destroyed, in order: the steps share the cluster, so this file runs sequentially.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../src/plan/plan.js";
import { ensureStandInCrds, kubectl, kubectlJson, plinth, project, writeConfig } from "./bed.js";

const ENV = "staging";
let dir: string;

async function planJson(cwd: string, extra: string[] = []): Promise<Plan> {
  const r = await plinth(["plan", ENV, "--json", ...extra], cwd);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Plan;
}

function pending(plan: Plan) {
  return plan.phases.flatMap((p) =>
    p.components.flatMap((c) =>
      c.changes.filter((ch) => ch.action !== "no-op").map((ch) => ({ component: c.id, ...ch })),
    ),
  );
}

async function secretValues(): Promise<string[]> {
  const list = await kubectlJson<{
    items: { metadata: { labels?: Record<string, string> }; data?: Record<string, string> }[];
  }>("get", "secrets", "-A", "-l", "app.kubernetes.io/managed-by=plinth");
  return list.items
    .flatMap((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, "base64").toString()))
    .filter((v) => v.length >= 16);
}

const outputs: string[] = [];
function keep<R extends { stdout: string; stderr: string }>(r: R): R {
  outputs.push(r.stdout, r.stderr);
  return r;
}

describe.sequential("plinth apply on the test bed", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = project();
    await ensureStandInCrds();
    // Start from nothing this environment owns, whatever an earlier run left.
    await plinth(["destroy", ENV, "--yes", "--delete-data"], dir);
  });

  it("applies the staging environment to an empty cluster, then plans zero changes", async () => {
    const first = keep(await plinth(["apply", ENV, "--yes", "--no-wait"], dir));
    expect(first.code, first.stderr).toBe(0);
    const created = await kubectlJson(
      "get",
      "clusters.postgresql.cnpg.io,helmcharts.helm.cattle.io,deployments,redis.redis.redis.opstreelabs.in",
      "-A",
      "-l",
      "plinth.dev/environment=staging",
    );
    expect(created.items.length).toBeGreaterThanOrEqual(8);
    const again = await planJson(dir);
    expect(pending(again)).toEqual([]);
    expect(again.summary).toMatchObject({ create: 0, update: 0, adopt: 0, delete: 0 });
  });

  it("a changed storage size is exactly one update, with its field diff", async () => {
    writeConfig(dir, { extra: 'storage: { postgres: "60Gi" },' });
    const plan = await planJson(dir);
    const changes = pending(plan);
    expect(changes.map((c) => `${c.action} ${c.kind} ${c.namespace}/${c.name}`)).toEqual([
      "update Cluster data/postgres",
    ]);
    expect(changes[0]?.diff).toContainEqual({ path: "spec.storage.size", before: "50Gi", after: "60Gi" });
    const r = keep(await plinth(["apply", ENV, "--yes", "--no-wait"], dir));
    expect(r.code, r.stderr).toBe(0);
    expect(pending(await planJson(dir))).toEqual([]);
  });

  it("removing a component prunes its objects and nothing else; another manager's object survives", async () => {
    await kubectl("create", "configmap", "someone-elses", "-n", "data", "--from-literal=x=1").catch(
      () => undefined,
    );
    writeConfig(dir, {
      extra: 'storage: { postgres: "60Gi" },',
      components: "arangodb: { enabled: false },",
    });
    const plan = await planJson(dir);
    const changes = pending(plan);
    expect(new Set(changes.map((c) => c.component))).toEqual(new Set(["arangodb"]));
    expect(
      changes
        .filter((c) => c.action === "delete")
        .map((c) => `${c.kind} ${c.name}`)
        .sort(),
    ).toEqual([
      "HelmChart arangodb-operator",
      "Namespace arangodb-operator",
      "ServiceAccount plinth-staging-arangodb",
      "VaultAuth plinth-staging-arangodb",
    ]);
    // staging's credentials come from Vault: what keeps their in-cluster copy is kept with the data.
    const kept = plan.phases
      .flatMap((p) => p.components.flatMap((c) => c.changes))
      .filter((c) => c.detail?.startsWith("kept"));
    expect(kept.map((c) => `${c.kind} ${c.name}`).sort()).toEqual([
      "ArangoDeployment arangodb",
      "VaultStaticSecret arangodb-jwt",
      "VaultStaticSecret arangodb-root",
    ]);
    const r = keep(await plinth(["apply", ENV, "--yes", "--no-wait"], dir));
    expect(r.code, r.stderr).toBe(0);
    await expect(kubectl("get", "helmchart", "arangodb-operator", "-n", "kube-system")).rejects.toThrow(
      /NotFound/,
    );
    expect(await kubectl("get", "configmap", "someone-elses", "-n", "data", "-o", "name")).toContain(
      "someone-elses",
    );
    // Kept data is released from the ApplySet, not deleted.
    const arango = await kubectlJson<{ metadata: { labels: Record<string, string> } }>(
      "get",
      "arangodeployment",
      "arangodb",
      "-n",
      "data",
    );
    expect(arango.metadata.labels["applyset.kubernetes.io/part-of"]).toBeUndefined();
    expect(pending(await planJson(dir))).toEqual([]);
  });

  it("a field owned by another applier is reported, not overwritten, unless --force-conflicts", async () => {
    // An object plinth owns, whose field another tool applies with its own field manager:
    const patch = join(dir, "other.json");
    const deployment = "openpanel-api";
    const other = JSON.stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: deployment, namespace: "observability" },
      spec: { replicas: 3 },
    });
    await import("node:fs").then((fs) => fs.writeFileSync(patch, other));
    await kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=other-gitops", "-f", patch);
    const refused = keep(await plinth(["plan", ENV], dir));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "Deployment observability/openpanel-api: another field manager owns .spec.replicas (owned by other-gitops)",
    );
    expect(refused.stderr).toContain("--force-conflicts");
    const live = await kubectlJson<{ spec: { replicas: number } }>(
      "get",
      "deployment",
      deployment,
      "-n",
      "observability",
    );
    expect(live.spec.replicas).toBe(3);
    const forced = keep(await plinth(["apply", ENV, "--yes", "--no-wait", "--force-conflicts"], dir));
    expect(forced.code, forced.stderr).toBe(0);
    expect(
      (
        await kubectlJson<{ spec: { replicas: number } }>(
          "get",
          "deployment",
          deployment,
          "-n",
          "observability",
        )
      ).spec.replicas,
    ).toBe(1);
  });

  it("a hand edit of an owned object is drift: plan shows the update, apply puts it back", async () => {
    await kubectl("scale", "deployment", "openpanel-worker", "-n", "observability", "--replicas=4");
    const plan = await planJson(dir);
    const changes = pending(plan);
    expect(changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      "update Deployment openpanel-worker",
    ]);
    expect(changes[0]?.diff).toContainEqual({ path: "spec.replicas", before: 4, after: 1 });
    const r = keep(await plinth(["apply", ENV, "--yes", "--no-wait"], dir));
    expect(r.code, r.stderr).toBe(0);
    expect(
      (
        await kubectlJson<{ spec: { replicas: number } }>(
          "get",
          "deployment",
          "openpanel-worker",
          "-n",
          "observability",
        )
      ).spec.replicas,
    ).toBe(1);
  });

  it("an existing object with the same identity is adopted in the plan, not imported", async () => {
    writeConfig(dir, { extra: 'storage: { postgres: "60Gi" },' });
    // The ArangoDeployment and its VaultStaticSecrets were kept (released) above: re-enabling arangodb adopts them.
    const plan = await planJson(dir);
    const adopt = pending(plan)
      .filter((c) => c.action === "adopt")
      .map((c) => `${c.kind} ${c.name}`);
    expect(adopt).toContain("ArangoDeployment arangodb");
    const r = keep(await plinth(["apply", ENV, "--yes", "--no-wait"], dir));
    expect(r.code, r.stderr).toBe(0);
    expect(pending(await planJson(dir))).toEqual([]);
  });

  it("a saved plan is applied exactly, and refused once the cluster moved", async () => {
    writeConfig(dir, { extra: 'storage: { postgres: "70Gi" },' });
    const saved = keep(await plinth(["plan", ENV, "-o", "plan.json"], dir));
    expect(saved.code, saved.stderr).toBe(0);
    await kubectl("label", "cluster.postgresql.cnpg.io", "postgres", "-n", "data", "touched=yes");
    const refused = keep(await plinth(["apply", "plan.json", "--yes", "--no-wait"], dir));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("plan.json: no longer matches what it was planned against");
    expect(refused.stderr).toContain("Cluster data/postgres");
    const fresh = keep(await plinth(["plan", ENV, "-o", "plan.json"], dir));
    expect(fresh.code).toBe(0);
    const applied = keep(await plinth(["apply", "plan.json", "--yes", "--no-wait"], dir));
    expect(applied.code, applied.stderr).toBe(0);
    expect(
      (
        await kubectlJson<{ spec: { storage: { size: string } } }>(
          "get",
          "cluster.postgresql.cnpg.io",
          "postgres",
          "-n",
          "data",
        )
      ).spec.storage.size,
    ).toBe("70Gi");
  });

  it("two applies at once: exactly one proceeds, the other names the holder", async () => {
    writeConfig(dir, { extra: 'storage: { postgres: "80Gi" },' });
    const [a, b] = await Promise.all([
      plinth(["apply", ENV, "--yes", "--no-wait"], dir, { env: { PLINTH_HOLDER: "alice@one" } }),
      plinth(["apply", ENV, "--yes", "--no-wait"], dir, { env: { PLINTH_HOLDER: "bob@two" } }),
    ]);
    keep(a);
    keep(b);
    const codes = [a.code, b.code].sort();
    expect(codes).toEqual([0, 2]);
    const loser = a.code === 2 ? a : b;
    expect(loser.stderr).toMatch(/environment staging is locked by (alice@one|bob@two) \(apply staging\)/);
  });

  it("killed with SIGKILL at several points, the next apply converges with nothing duplicated or orphaned", async () => {
    for (const [i, ms] of [150, 600, 1200, 2000].entries()) {
      writeConfig(dir, {
        extra: `storage: { postgres: "${81 + i}Gi" },`,
        components: i % 2 ? "arangodb: { enabled: false }," : "",
      });
      await plinth(["apply", ENV, "--yes", "--no-wait"], dir, { killAfterMs: ms });
      // The killed run's lock is still held: unlock, as its message says, then apply again.
      await plinth(["unlock", ENV], dir);
      const r = keep(await plinth(["apply", ENV, "--yes", "--no-wait"], dir));
      expect(r.code, r.stderr).toBe(0);
      expect(pending(await planJson(dir))).toEqual([]);
    }
    const state = JSON.parse(readFileSync(join(dir, ".plinth", "state", `${ENV}.json`), "utf8")) as {
      owned: string[];
    };
    expect(new Set(state.owned).size).toBe(state.owned.length);
    const live = await kubectlJson<{ items: unknown[] }>(
      "get",
      "configmap,deployment,service,ingress",
      "-A",
      "-l",
      "plinth.dev/environment=staging",
    );
    // Deployments and Services share names: an object is its kind, namespace and name.
    const ids = live.items.map((o) => {
      const { kind, metadata } = o as { kind: string; metadata: { name: string; namespace: string } };
      return `${kind} ${metadata.namespace}/${metadata.name}`;
    });
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("refresh rebuilds lost state from the cluster's ApplySet labels", async () => {
    const file = join(dir, ".plinth", "state", `${ENV}.json`);
    const before = (JSON.parse(readFileSync(file, "utf8")) as { owned: string[] }).owned;
    await import("node:fs").then((fs) => fs.rmSync(join(dir, ".plinth"), { recursive: true }));
    const r = keep(await plinth(["refresh", ENV], dir));
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(readFileSync(file, "utf8")) as { owned: string[] }).owned).toEqual(before);
  });

  it("destroy keeps data unless --delete-data; prod refuses without --confirm prod", async () => {
    const kept = keep(await plinth(["destroy", ENV, "--yes"], dir));
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toContain("kept: holds data");
    expect(
      await kubectl("get", "cluster.postgresql.cnpg.io", "postgres", "-n", "data", "-o", "name"),
    ).toContain("postgres");
    await expect(kubectl("get", "helmchart", "cnpg-operator", "-n", "kube-system")).rejects.toThrow(
      /NotFound/,
    );
    // Nothing is a member any more: the ApplySet's parent goes too.
    await expect(kubectl("get", "configmap", `plinth-applyset-${ENV}`, "-n", "kube-system")).rejects.toThrow(
      /NotFound/,
    );

    const prodDir = project({ env: "prod" });
    await import("node:fs").then((fs) =>
      fs.writeFileSync(
        join(prodDir, "plinth.config.ts"),
        readFileSync(join(prodDir, "plinth.config.ts"), "utf8").replace('kind: "staging"', 'kind: "prod"'),
      ),
    );
    const refused = keep(await plinth(["destroy", "prod", "--yes"], prodDir));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--confirm prod");
  });

  it("no generated secret value appears in any output, event stream or state file", async () => {
    // Re-apply to have every secret live again, with --json events captured too.
    keep(await plinth(["apply", ENV, "--yes", "--no-wait", "--json"], dir));
    const values = await secretValues();
    // staging has Vault: plinth writes only phase 0's Secrets (the platform PostgreSQL password,
    // Vault's storage URL); the others live in Vault, whose scan is test/vault's.
    expect(values.length).toBeGreaterThanOrEqual(2);
    const stateDir = join(dir, ".plinth", "state");
    const files = readdirSync(stateDir).map((f) => readFileSync(join(stateDir, f), "utf8"));
    for (const text of [...outputs, ...files]) {
      for (const v of values)
        expect(text.includes(v), `a secret value leaked into output: ${text.slice(0, 80)}`).toBe(false);
    }
  });
});
