/**
 * Two environments of one config on one cluster, as on a single VPS: both render CloudNativePG's
 * and the redis operator's charts in kube-system and the namespaces those run in. Destroying one
 * keeps what the other, still deployed, uses (the chart's CRDs hold the other's databases);
 * destroying the last one removes it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../src/plan/plan.js";
import { ensureStandInCrds, kubeconfig, kubectl, plinth, project } from "./bed.js";

const A = "share-a";
const B = "share-b";
let dir: string;

const exists = async (...args: string[]) =>
  kubectl("get", ...args, "-o", "name").then(
    () => true,
    () => false,
  );

function changesOf(plan: Plan): { action: string; id: string; detail?: string }[] {
  return plan.phases.flatMap((p) =>
    p.components.flatMap((c) =>
      c.changes.map((ch) => ({
        action: ch.action,
        id: `${ch.kind} ${ch.name}`,
        ...(ch.detail ? { detail: ch.detail } : {}),
      })),
    ),
  );
}

describe.sequential("environments sharing a cluster", () => {
  beforeAll(async () => {
    dir = project({ env: A });
    // Traefik is k3s's own (its config one per cluster); Kubero's manifest is fetched from GitHub.
    const env = {
      kind: "ci",
      cluster: "bed",
      components: { kubero: { enabled: false }, traefik: { enabled: false } },
    };
    writeFileSync(
      join(dir, "plinth.config.ts"),
      `import { defineConfig } from "plinth";

export default defineConfig(${JSON.stringify(
        {
          project: "acme",
          defaults: { baseDomain: "example.com", internalDomain: "example.org" },
          clusters: { bed: { type: "existing", kubeconfig: kubeconfig() } },
          environments: { [A]: env, [B]: env },
        },
        null,
        2,
      )});
`,
    );
    await ensureStandInCrds();
    for (const e of [A, B]) {
      await plinth(["unlock", e], dir);
      await plinth(["destroy", e, "--yes", "--delete-data"], dir);
    }
  });

  afterAll(async () => {
    for (const e of [B, A]) await plinth(["destroy", e, "--yes", "--delete-data"], dir);
  });

  it("the second environment leaves the operators, rendered alike, to the first: both plans settle at zero", async () => {
    const first = await plinth(["apply", B, "--yes", "--no-wait"], dir);
    expect(first.code, first.stderr).toBe(0);
    const second = await plinth(["plan", A, "--json"], dir);
    expect(second.code, second.stderr).toBe(0);
    expect(changesOf(JSON.parse(second.stdout) as Plan)).toContainEqual({
      action: "no-op",
      id: "HelmChart cnpg-operator",
      detail: `shared: held by environment ${B} on this cluster`,
    });
    const r = await plinth(["apply", A, "--yes", "--no-wait"], dir);
    expect(r.code, r.stderr).toBe(0);
    for (const e of [A, B]) {
      const again = await plinth(["plan", e, "--detailed-exitcode"], dir);
      expect(again.code, `${e}: ${again.stdout}`).toBe(0);
    }
    expect(await exists("helmchart", "cnpg-operator", "-n", "kube-system")).toBe(true);
  });

  it("destroying the holder keeps the operators the other still uses, and says why", async () => {
    const destroyed = await plinth(["destroy", B, "--yes", "--delete-data"], dir);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    const kept = `(kept: environment ${A} on this cluster also uses it; released from this environment's ownership)`;
    const lines = destroyed.stdout.split("\n");
    for (const shared of [
      "HelmChart kube-system/cnpg-operator",
      "Namespace cnpg-system",
      "HelmChart kube-system/redis-operator",
      "Namespace redis-operator",
    ]) {
      expect(
        lines.filter((l) => l.includes(` ${shared}`) && l.endsWith(kept)),
        shared,
      ).toHaveLength(1);
    }
    expect(lines.some((l) => l.includes(`- Namespace data-${B}`))).toBe(true);

    expect(await exists("helmchart", "cnpg-operator", "-n", "kube-system")).toBe(true);
    expect(await exists("namespace", "cnpg-system")).toBe(true);
    expect(await exists("namespace", `data-${B}`)).toBe(false);
    expect(await exists("namespace", `data-${A}`)).toBe(true);
  });

  it("the remaining environment takes the released objects back; destroying the last one removes them", async () => {
    const adopt = await plinth(["plan", A, "--json"], dir);
    expect(adopt.code, adopt.stderr).toBe(0);
    expect(changesOf(JSON.parse(adopt.stdout) as Plan)).toContainEqual(
      expect.objectContaining({ action: "adopt", id: "HelmChart cnpg-operator" }),
    );
    const r = await plinth(["apply", A, "--yes", "--no-wait"], dir);
    expect(r.code, r.stderr).toBe(0);

    const last = await plinth(["destroy", A, "--yes", "--delete-data"], dir);
    expect(last.code, last.stderr).toBe(0);
    expect(await exists("helmchart", "cnpg-operator", "-n", "kube-system")).toBe(false);
    expect(await exists("namespace", "cnpg-system")).toBe(false);
  });
});
