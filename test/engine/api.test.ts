/**
 * plinth as a library, on the test bed's API server: an environment planned and applied through
 * the package's own entry (src/index.ts), with no CLI process, no terminal and nothing printed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { applyPlan, destroyEnvironment, type EngineEvent, planEnvironment } from "../../src/index.js";
import type { Plan } from "../../src/plan/plan.js";
import { BED_CLOUDFLARE_TOKEN, ensureStandInCrds, kubectlJson, project } from "./bed.js";

const ENV = "apienv";
const variables = { CLOUDFLARE_API_TOKEN: BED_CLOUDFLARE_TOKEN };
let dir: string;

const pending = (plan: Plan) =>
  plan.phases.flatMap((p) => p.components.flatMap((c) => c.changes)).filter((c) => c.action !== "no-op");

describe.sequential("planEnvironment and applyPlan, without the CLI", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = project({ env: ENV });
    await ensureStandInCrds();
  });

  afterAll(async () => {
    // Leaves nothing behind: the same API plans the environment's removal and applies it.
    const gone = await destroyEnvironment({
      env: ENV,
      cwd: dir,
      variables,
      deleteData: true,
      holder: "api@bed",
    });
    expect(gone.plan.summary.delete).toBeGreaterThan(0);
  });

  it("plans, applies (events, state) and then plans nothing to do", async () => {
    const log = vi.spyOn(process.stdout, "write");
    const events: EngineEvent[] = [];
    // Other engine runs share this API server and converge cluster-wide objects (operators'
    // namespaces) at any time: a plan they moved is refused as documented, and made again.
    let plan: Plan | undefined;
    let result: { changes: number } | undefined;
    for (let attempt = 1; !result; attempt++) {
      plan = await planEnvironment({ env: ENV, cwd: dir, variables });
      try {
        result = await applyPlan(plan, {
          cwd: dir,
          variables,
          noWait: true,
          holder: "api@bed",
          onEvent: (e) => events.push(e),
        });
      } catch (e) {
        if (attempt >= 3 || !/no longer matches what it was planned against/.test((e as Error).message))
          throw e;
      }
    }
    if (!plan) throw new Error("planned");
    expect(plan).toMatchObject({ env: ENV, cluster: "bed", offline: false });
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/);
    const creates = pending(plan).filter((c) => c.action === "create");
    expect(creates.length).toBeGreaterThan(5);
    expect(creates).toContainEqual(
      expect.objectContaining({ kind: "ServiceAccount", name: `plinth-${ENV}-postgres` }),
    );
    expect(result.changes).toBeGreaterThanOrEqual(creates.length);
    expect(events[0]).toMatchObject({ type: "start", env: ENV, hash: plan.hash });
    expect(events.at(-1)).toMatchObject({ type: "done", outcome: "applied" });
    // A library call prints nothing: progress went to the events alone.
    expect(log).not.toHaveBeenCalled();
    log.mockRestore();

    const live = await kubectlJson<{ items: unknown[] }>(
      "get",
      "helmcharts.helm.cattle.io",
      "-A",
      "-l",
      `plinth.dev/environment=${ENV}`,
    );
    expect(live.items.length).toBeGreaterThan(0);
    const state = JSON.parse(readFileSync(join(dir, ".plinth", "state", `${ENV}.json`), "utf8")) as {
      applied: { hash: string; who: string; outcome: string }[];
      owned: string[];
    };
    expect(state.applied.at(-1)).toMatchObject({ hash: plan.hash, who: "api@bed", outcome: "applied" });
    expect(state.owned.length).toBeGreaterThan(5);

    const again = await planEnvironment({ env: ENV, cwd: dir, variables });
    expect(pending(again)).toEqual([]);
  });

  it("refuses a plan that is not what the config produces, naming the change, and changes nothing", async () => {
    const plan = await planEnvironment({ env: ENV, cwd: dir, variables });
    const forged = structuredClone(plan);
    forged.phases[0]?.components[0]?.changes.push({
      action: "create",
      provider: "kubernetes",
      id: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding:api-forged",
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      name: "api-forged",
      spec: {},
    });
    const refused = await applyPlan(forged, { cwd: dir, variables, holder: "api@bed" }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(UserError);
    expect((refused as Error).message).toContain("ClusterRoleBinding");
    const bindings = await kubectlJson<{ items: { metadata: { name: string } }[] }>(
      "get",
      "clusterrolebindings",
    );
    expect(bindings.items.map((b) => b.metadata.name)).not.toContain("api-forged");
  });
});
