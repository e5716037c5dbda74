/**
 * The drift check's decision, a pure function of (environment, plan summary, existing issues):
 * one issue per environment, opened, updated only when the drift itself changes, closed when clean.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DriftIssue,
  DriftIssues,
  type DriftSummary,
  driftActions,
  driftBody,
  driftMarker,
  driftSummary,
  runDrift,
} from "../../src/github/drift.js";
import type { Plan } from "../../src/plan/plan.js";
import { githubClient } from "../../src/providers/github/index.js";
import { type GitHubStandin, startGitHubStandin } from "./standin.js";

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

/** A live plan of `env` with `updates` updated HelmCharts (what the cluster would report). */
function planOf(env: string, updates: number): Plan {
  return {
    env,
    cluster: env,
    offline: false,
    hash: "h",
    summary: { create: 0, update: updates, adopt: 0, delete: 0, "no-op": 0, secrets: 0 },
    phases: [
      {
        id: "0",
        components: [
          {
            id: "traefik",
            changes: Array.from({ length: updates }, (_, i) => ({
              action: "update",
              provider: "kubernetes",
              kind: "HelmChart",
              name: `chart-${i}`,
              namespace: "kube-system",
              diff: [{ path: "spec.version", before: "1", after: "2" }],
            })),
          },
        ],
      },
    ],
  } as unknown as Plan;
}

describe("drift issues through Octokit, against the GitHub stand-in", () => {
  let gh: GitHubStandin;
  let issues: DriftIssues;
  beforeAll(async () => {
    gh = await startGitHubStandin();
    issues = new DriftIssues(await githubClient({ token: gh.token, baseUrl: gh.url }), {
      owner: gh.owner,
      repo: gh.repo,
    });
  });
  afterAll(async () => {
    await gh.close();
  });

  it("a label another job made first (GitHub's 422) is no failure; an environment that cannot be planned keeps its issue", async () => {
    gh.route("get", "/repos/{owner}/{repo}/labels/{name}", () => ({
      status: 404,
      body: { message: "Not Found" },
    }));
    gh.route("post", "/repos/{owner}/{repo}/labels", () => ({
      status: 422,
      body: {
        message: "Validation Failed",
        errors: [{ resource: "Label", code: "already_exists", field: "name" }],
        documentation_url: "https://docs.github.com/rest/issues/labels#create-a-label",
      },
    }));
    gh.state.issues.push({
      number: 50,
      title: "Drift in gone",
      body: `${driftMarker("gone")}\nold`,
      state: "open",
      labels: ["plinth-drift"],
    });
    const runs = await runDrift({
      envs: ["blue", "gone"],
      issues,
      plan: async (env) => {
        if (env === "gone") throw new Error("the cluster did not answer");
        return planOf(env, 2);
      },
    });
    expect(runs.map((r) => [r.env, r.failed ?? "planned", r.actions.map((a) => a.kind)])).toEqual([
      ["blue", "planned", ["open"]],
      ["gone", "the cluster did not answer", []],
    ]);
    expect(gh.state.issues.find((i) => i.number === 50)?.state).toBe("open");
    const blue = gh.state.issues.find((i) => i.body.includes(driftMarker("blue")));
    expect(blue).toMatchObject({ state: "open", labels: ["plinth-drift"] });

    // Clean again: closed, with a comment saying why.
    const clean = await runDrift({ envs: ["blue"], issues, plan: async (env) => planOf(env, 0) });
    expect(clean[0]?.actions).toEqual([expect.objectContaining({ kind: "close", number: blue?.number })]);
    expect(gh.state.issues.find((i) => i.number === blue?.number)?.state).toBe("closed");
    expect(gh.violations).toEqual([]);
  });
});
