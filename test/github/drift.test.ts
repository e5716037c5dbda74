/**
 * The drift check's decision, a pure function of (environment, plan summary, existing issues):
 * one issue per environment, opened, updated only when the drift itself changes, closed when clean.
 */
import { describe, expect, it } from "vitest";
import {
  type DriftIssue,
  type DriftSummary,
  driftActions,
  driftBody,
  driftMarker,
  driftSummary,
} from "../../src/github/drift.js";
import type { Plan } from "../../src/plan/plan.js";

const drifted: DriftSummary = {
  env: "staging",
  cluster: "staging",
  objects: [
    {
      action: "update",
      component: "redis",
      kind: "HelmChart",
      name: "redis-staging",
      namespace: "kube-system",
      paths: ["spec.version"],
    },
  ],
};
const clean: DriftSummary = { ...drifted, objects: [] };
const issue = (number: number, env: string, body = `${driftMarker(env)}\nold`): DriftIssue => ({
  number,
  title: `Drift in ${env}`,
  body,
  state: "open",
});

describe("drift issues: what to do", () => {
  it("drift and no issue: open one, labelled by the caller, marked for its environment", () => {
    const [a, ...rest] = driftActions(drifted, [issue(3, "prod")], { runUrl: "https://x/runs/1" });
    expect(rest).toEqual([]);
    expect(a).toMatchObject({
      kind: "open",
      env: "staging",
      title: "Drift in staging: 1 object differ from the config",
    });
    if (a?.kind !== "open") throw new Error("open");
    expect(a.body).toContain(driftMarker("staging"));
    expect(a.body).toContain("- update HelmChart `kube-system/redis-staging` (redis): `spec.version`");
    expect(a.body).toContain("Found by https://x/runs/1");
  });

  it("drift and its issue: updated when the drift changed, left alone when only the run differs", () => {
    const body = driftBody(drifted, { runUrl: "https://x/runs/1" });
    const open = { ...issue(7, "staging", body), title: "Drift in staging: 1 object differ from the config" };
    expect(driftActions(drifted, [open], { runUrl: "https://x/runs/2" })).toEqual([
      { kind: "none", env: "staging", why: "#7 already describes this drift" },
    ]);
    const more: DriftSummary = {
      ...drifted,
      objects: [
        ...drifted.objects,
        { action: "delete", component: "redis", kind: "Service", name: "x", paths: [] },
      ],
    };
    expect(driftActions(more, [open])).toEqual([
      expect.objectContaining({
        kind: "update",
        number: 7,
        title: "Drift in staging: 2 objects differ from the config",
      }),
    ]);
  });

  it("clean: every open issue of the environment closed, other environments' untouched", () => {
    expect(driftActions(clean, [issue(7, "staging"), issue(8, "prod"), issue(9, "staging")])).toEqual([
      { kind: "close", env: "staging", number: 7, comment: "staging matches the config again: closing." },
      { kind: "close", env: "staging", number: 9, comment: "staging matches the config again: closing." },
    ]);
    expect(driftActions(clean, [issue(8, "prod")])).toEqual([
      { kind: "none", env: "staging", why: "clean, no open drift issue" },
    ]);
    // A marker of another environment whose name starts the same is not this one's.
    expect(driftActions(clean, [issue(4, "staging-eu")])[0]?.kind).toBe("none");
  });

  it("duplicates (a race): the oldest kept, the others closed pointing at it", () => {
    const actions = driftActions(drifted, [issue(12, "staging"), issue(5, "staging")]);
    expect(actions[0]).toMatchObject({ kind: "update", number: 5 });
    expect(actions[1]).toEqual({
      kind: "close",
      env: "staging",
      number: 12,
      comment: "Duplicate of #5: one drift issue per environment.",
    });
  });

  it("a long drift stays under GitHub's 65,536-character body limit", () => {
    const many: DriftSummary = {
      ...drifted,
      objects: Array.from({ length: 5000 }, (_, i) => ({
        action: "update" as const,
        component: "redis",
        kind: "ConfigMap",
        name: `cm-${i}-${"x".repeat(20)}`,
        namespace: "data-staging",
        paths: ["data.a", "data.b"],
      })),
    };
    const body = driftBody(many);
    expect(body.length).toBeLessThan(65_536);
    expect(body).toMatch(/… and \d+ more \(run `plinth plan staging` for all of them\)/);
  });

  it("from a plan: no-ops left out, field paths kept, values never", () => {
    const plan = {
      env: "staging",
      cluster: "staging",
      offline: false,
      hash: "h",
      summary: { create: 0, update: 1, adopt: 0, delete: 0, "no-op": 1, secrets: 0 },
      phases: [
        {
          id: "2",
          components: [
            {
              id: "redis",
              changes: [
                { action: "no-op", provider: "kubernetes", kind: "Service", name: "a" },
                {
                  action: "update",
                  provider: "kubernetes",
                  kind: "Secret",
                  name: "redis-auth",
                  namespace: "data-staging",
                  diff: [{ path: "data.password", before: "(redacted)", after: "(redacted)", secret: true }],
                },
              ],
            },
          ],
        },
      ],
    } as unknown as Plan;
    const s = driftSummary(plan);
    expect(s.objects).toEqual([
      {
        action: "update",
        component: "redis",
        kind: "Secret",
        name: "redis-auth",
        namespace: "data-staging",
        paths: ["data.password"],
      },
    ]);
    expect(driftBody(s)).not.toContain("redacted");
  });
});
