/**
 * A live plan's Vault changes in the pull request's comment (pure): counted in the table's Vault
 * column and listed in the environment's section, and a Vault that could not be planned is said,
 * as `plinth plan` says it, rather than left out as if nothing changed.
 */
import { describe, expect, it } from "vitest";
import { renderComment, replyMarker, rowFromPlan } from "../../src/github/comment.js";
import { type Change, finishPlan, type PlanComponent } from "../../src/plan/plan.js";

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
