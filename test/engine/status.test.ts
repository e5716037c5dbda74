/** `plinth status` against the test bed's API server, after an apply (operators do not run there). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ComponentStatus } from "../../src/status/status.js";
import { ensureStandInCrds, plinth, project, setStatus } from "./bed.js";

const ENV = "statusprobe";
let dir: string;

describe.sequential("plinth status", () => {
  beforeAll(async () => {
    dir = project({ env: ENV });
    await ensureStandInCrds();
    const r = await plinth(["apply", ENV, "--yes", "--no-wait"], dir);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    await plinth(["destroy", ENV, "--yes", "--delete-data"], dir);
  });

  it("reports per component the pinned and deployed versions, readiness, health and hosts", async () => {
    const r = await plinth(["status", ENV, "--json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const { components } = JSON.parse(r.stdout) as { components: ComponentStatus[] };
    const byId = Object.fromEntries(components.map((c) => [c.id, c]));
    expect(byId["cert-manager"]?.version).toEqual({
      desired: "cert-manager@v1.21.2",
      deployed: "cert-manager@v1.21.2",
    });
    // No operator runs on the test bed, so the CloudNativePG cluster is not Ready, and status says why.
    expect(byId.postgres?.ready).toBe(false);
    expect(byId.postgres?.waiting).toContain("Cluster postgres: Ready: no Ready condition yet");
    expect(byId.vault?.hosts.map((h) => h.host)).toEqual([`secrets-${ENV}.example.org`]);
    expect(byId.vault?.hosts[0]?.dns).toMatch(/no answer|\d/);
    expect(byId.vault?.hosts[0]?.certificate).toMatch(/unreachable|expires/);
  });

  it("shows a component ready once its objects are (here the test sets the status an operator would)", async () => {
    // The environment is alone on its cluster, so its namespaces carry no suffix.
    const ready = {
      type: "Ready",
      status: "True",
      reason: "ClusterIsReady",
      message: "",
      lastTransitionTime: new Date().toISOString(),
    };
    await setStatus("cluster.postgresql.cnpg.io", "data", "postgres", { conditions: [ready] });
    const r = await plinth(["status", ENV], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^postgres\s+1\s+yes/m);
  });
});
