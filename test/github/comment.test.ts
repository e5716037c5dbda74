/**
 * The pull request's comments (pure): the summary table first, a section per environment, always
 * under GitHub's 65,536-character limit with the rest left to the job summary. (Older replies are
 * minimized through GraphQL: test/github/fork-publish.test.ts.)
 */
import { describe, expect, it } from "vitest";
import {
  COMMENT_LIMIT,
  type EnvRow,
  renderComment,
  rowFromPlan,
  rowsFromDesired,
  STICKY_MARKER,
  touchesData,
  withApplied,
} from "../../src/github/comment.js";
import type { EnvDiff } from "../../src/github/desired-diff.js";
import { finishPlan } from "../../src/plan/plan.js";

const row = (env: string, lines: number, width = 200): EnvRow => ({
  env,
  source: "desired state",
  create: lines,
  update: 0,
  adopt: 0,
  delete: 0,
  data: 0,
  dns: 0,
  vault: 0,
  lines: Array.from({ length: lines }, (_, i) => `+ create ConfigMap data/c${i} ${"x".repeat(width)}`),
});

describe("plan comments", () => {
  it("puts the table first, unchanged environments on one line, a section per environment", () => {
    const { body, cut } = renderComment({
      marker: STICKY_MARKER,
      title: "plinth: what pull request #12 changes",
      rows: [row("staging", 2)],
      unchanged: ["dev", "prod"],
      notes: ["Comment `/plan` to plan live."],
    });
    expect(cut).toBe(false);
    expect(
      body.startsWith(`${STICKY_MARKER}\n### plinth: what pull request #12 changes\n\n| environment |`),
    ).toBe(true);
    expect(body).toContain("| **staging** | 2 | · | · | · | · | · | · | desired state |");
    expect(body).toContain("No changes: dev, prod.");
    expect(body).toContain(
      "<details><summary>staging: 2 to create, 0 to update, 0 to adopt, 0 to delete</summary>",
    );
    expect(body.indexOf("| **staging**")).toBeLessThan(body.indexOf("<details>"));
    expect(body.trimEnd().endsWith("Comment `/plan` to plan live.")).toBe(true);
  });

  it("stays under GitHub's limit however large the diff, keeping the table and the notes", () => {
    const rows = [row("staging", 2_000), row("prod", 50), row("test", 1_000, 2_000)];
    const { body, full, cut } = renderComment({ marker: STICKY_MARKER, title: "t", rows, notes: ["NOTE"] });
    expect(full.length).toBeGreaterThan(COMMENT_LIMIT);
    expect(cut).toBe(true);
    expect(body.length).toBeLessThanOrEqual(COMMENT_LIMIT);
    for (const env of ["staging", "prod", "test"]) expect(body).toContain(`| **${env}** |`);
    expect(body).toContain("NOTE");
    expect(body).toMatch(/… \d+ more lines in the job summary/);
    // The small environment keeps all of its lines: the longest ones are cut first.
    expect(body).toContain("data/c49 ");
  });

  it("counts the desired-state diff per environment: data, DNS and Vault apart", () => {
    const item = (id: string, o: Partial<EnvDiff["changes"][number]["item"]> = {}) => ({
      id,
      component: "postgres",
      kind: "Cluster",
      name: id,
      body: {},
      area: "cluster" as const,
      data: false,
      ...o,
    });
    const diffs: EnvDiff[] = [
      { env: "dev", status: "same", changes: [] },
      {
        env: "staging",
        status: "changed",
        changes: [
          { action: "delete", item: item("pg", { data: true, namespace: "data" }), diff: [] },
          {
            action: "update",
            item: item("host:frontend", { area: "dns", kind: "DNS record" }),
            diff: [{ path: "host", before: "a", after: "b" }],
          },
          { action: "create", item: item("vso", { area: "vault", kind: "VaultAuth" }), diff: [] },
        ],
      },
    ];
    const { rows, unchanged } = rowsFromDesired(diffs);
    expect(unchanged).toEqual(["dev"]);
    expect(rows[0]).toMatchObject({
      env: "staging",
      create: 1,
      update: 1,
      delete: 1,
      data: 1,
      dns: 1,
      vault: 1,
    });
    expect(rows[0]?.lines).toContain('    host: "a" → "b"');
  });

  it("says when a plan deletes or releases data, so /apply needs --delete-data", () => {
    const plan = (
      spec: unknown,
      action: "delete" | "no-op" | "update",
      kind = "Cluster",
      apiVersion = "postgresql.cnpg.io/v1",
    ) =>
      finishPlan({
        env: "staging",
        cluster: "one",
        offline: false,
        phases: [
          {
            id: "1",
            components: [
              {
                id: "postgres",
                title: "PostgreSQL",
                step: "1.3",
                layer: "L3",
                namespace: "data",
                placement: "cluster",
                dependsOn: [],
                changes: [
                  {
                    action,
                    provider: "kubernetes",
                    apiVersion,
                    kind,
                    name: "postgres",
                    namespace: "data",
                    spec,
                  },
                ],
              },
            ],
          },
        ],
      });
    // A database leaving the config: kept, released from plinth's ownership.
    const released = plan({ release: true }, "no-op");
    expect(touchesData(released)).toBe(true);
    expect(rowFromPlan(released, "live plan")).toMatchObject({ data: 1, delete: 0 });
    expect(touchesData(plan({ release: false }, "delete"))).toBe(true);
    expect(touchesData(plan({}, "update"))).toBe(false);
    expect(touchesData(plan({ release: false }, "delete", "ConfigMap", "v1"))).toBe(false);
  });

  it("records applies in the sticky comment after the table, one line per environment", () => {
    const { body } = renderComment({
      marker: STICKY_MARKER,
      title: "t",
      rows: [row("staging", 1)],
      notes: ["N"],
    });
    const once = withApplied(body, "staging", "plan `abc` applied by @bob");
    expect(once.indexOf("**Applied**")).toBeGreaterThan(once.indexOf("| **staging** |"));
    expect(once.indexOf("**Applied**")).toBeLessThan(once.indexOf("<details>"));
    const twice = withApplied(
      withApplied(once, "prod", "plan `def` applied by @carol"),
      "staging",
      "plan `ghi` applied by @bob",
    );
    expect(twice.match(/- \*\*staging\*\*/g)).toHaveLength(1);
    expect(twice).toContain("- **staging**: plan `ghi` applied by @bob");
    expect(twice).toContain("- **prod**: plan `def` applied by @carol");
    expect(twice).not.toContain("`abc`");
  });
});
