/**
 * A live plan's Vault changes in the pull request's comment (pure): counted in the table's Vault
 * column and listed in the environment's section, and a Vault that could not be planned is said,
 * as `plinth plan` says it, rather than left out as if nothing changed. The autoplan's
 * desired-state diff (no credentials) shows Vault's configuration and secret paths by the names
 * the live plan gives them.
 */
import { describe, expect, it } from "vitest";
import { renderComment, replyMarker, rowFromPlan, rowsFromDesired } from "../../src/github/comment.js";
import { desiredState, diffDesired } from "../../src/github/desired-diff.js";
import { type Change, finishPlan, type PlanComponent } from "../../src/plan/plan.js";
import { exampleWith } from "../helpers/config.js";

const component = (id: string, changes: Change[]): PlanComponent => ({
  id: id as PlanComponent["id"],
  title: id,
  step: "0.6",
  layer: "L2",
  namespace: "platform",
  placement: "local",
  dependsOn: [],
  changes,
});

const plan = (vault: Change[], redis: Change[] = []) =>
  finishPlan({
    env: "staging",
    cluster: "bed",
    offline: false,
    phases: [
      { id: "0", components: [component("vault", vault)] },
      { id: "1", components: [component("redis", redis)] },
    ],
  });

describe("Vault in a live plan's comment", () => {
  it("counts Vault's configuration and secrets in the Vault column and lists them", () => {
    const p = plan(
      [
        { action: "create", provider: "vault", kind: "VaultPolicy", name: "plinth-staging-redis" },
        { action: "create", provider: "vault", kind: "VaultRole", name: "kubernetes/plinth-staging-redis" },
        {
          action: "create",
          provider: "vault",
          kind: "VaultSecret",
          name: "secret/staging/redis/redis-auth",
          detail: "generated: password",
        },
        { action: "no-op", provider: "vault", kind: "VaultMount", name: "secret" },
      ],
      [
        {
          action: "create",
          provider: "kubernetes",
          kind: "Redis",
          name: "redis",
          namespace: "data-staging",
          apiVersion: "redis.redis.opstreelabs.in/v1beta2",
        },
      ],
    );
    const row = rowFromPlan(p, "live plan");
    expect(row).toMatchObject({ create: 4, vault: 3, dns: 0 });
    expect(row.lines).toContain("+ create VaultPolicy plinth-staging-redis (vault)");
    expect(row.lines).toContain(
      "+ create VaultSecret secret/staging/redis/redis-auth (vault): generated: password",
    );
    expect(row.lines.join("\n")).not.toContain("VaultMount");
    const { body } = renderComment({ marker: replyMarker("plan staging"), title: "t", rows: [row] });
    expect(body).toContain("| **staging** | 4 | · | · | · | ⚠ 1 | · | 3 | live plan |");
  });

  it("says when Vault could not be planned, without counting it as a change", () => {
    const p = plan([
      {
        action: "no-op",
        provider: "vault",
        kind: "VaultServer",
        name: "https://vault.staging.example.org",
        detail: "not reachable (connection refused): apply configures it once it is",
      },
    ]);
    const row = rowFromPlan(p, "live plan");
    expect(row.vault).toBe(0);
    expect(row.lines).toEqual([
      "  VaultServer https://vault.staging.example.org (vault): not reachable (connection refused): apply configures it once it is",
    ]);
  });
});

describe("Vault in the desired-state diff (autoplan, no credentials)", () => {
  const loaded = (redis: boolean) => ({
    file: "/nowhere/plinth.config.ts",
    displayFile: "plinth.config.ts",
    config: exampleWith((raw) => {
      const staging = raw.environments.staging as { components?: Record<string, unknown> };
      staging.components = { ...staging.components, redis: { enabled: redis } };
    }),
  });

  it("shows the policy, role and secret path a component brings, named as the live plan names them", () => {
    const diffs = diffDesired(desiredState(loaded(false)), desiredState(loaded(true)));
    const staging = diffs.find((d) => d.env === "staging");
    const vault = (staging?.changes ?? [])
      .filter(
        (c) => c.item.area === "vault" && c.item.kind.startsWith("Vault") && c.item.component === "redis",
      )
      .map((c) => `${c.action} ${c.item.kind} ${c.item.name}`)
      .sort();
    expect(vault).toEqual(
      expect.arrayContaining([
        "create VaultPolicy plinth-staging-redis",
        "create VaultRole kubernetes/plinth-staging-redis",
        "create VaultSecret secret/staging/redis/redis-auth",
      ]),
    );
    const { rows } = rowsFromDesired(diffs);
    const row = rows.find((r) => r.env === "staging");
    expect(row?.vault).toBeGreaterThanOrEqual(3);
    expect(row?.lines).toContain("+ create VaultSecret secret/staging/redis/redis-auth (redis)");
    // No secret value is in a desired state: the KV secret is its key rules.
    const secret = staging?.changes.find(
      (c) => c.item.kind === "VaultSecret" && c.item.component === "redis",
    );
    expect(secret?.item.body).toEqual({ keys: "generated: password", copyFrom: null });
    // Environments without Vault get no Vault items.
    expect(diffs.find((d) => d.env === "dev")?.changes ?? []).toEqual([]);
  });
});
