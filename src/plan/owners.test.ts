import { dirname } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, EXAMPLE_PATH } from "../../test/helpers/config.js";
import { ownerLine } from "./owners.js";
import type { Plan } from "./plan.js";

const at = (argv: string[]) => cli(argv, dirname(EXAMPLE_PATH));

describe("owner accounts in a plan", () => {
  it("an offline plan says SigNoz's and OpenPanel's owners are made at apply, unless they exist, and counts them as no change", async () => {
    const text = await at(["plan", "staging", "--offline"]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split("\n");
    const owners = lines.filter((l) => l.includes("owner account"));
    expect(owners).toEqual([
      "      * owner account for SigNoz (ops@example.com): at apply, unless it exists (once SigNoz passes its health checks)",
      "      * owner account for OpenPanel (ops@example.com): at apply, unless it exists (once OpenPanel passes its health checks)",
    ]);
    // Each under its own component, after its objects and Secrets.
    const under = (line: string) =>
      lines
        .slice(0, lines.indexOf(line))
        .reverse()
        .find((l) => /^ {2}\d/.test(l));
    expect(under(owners[0] ?? "")).toMatch(/^ {2}3\.1 signoz /);
    expect(under(owners[1] ?? "")).toMatch(/^ {2}3\.2 openpanel /);

    const json = JSON.parse((await at(["plan", "staging", "--offline", "--json"])).stdout) as Plan;
    const withOwner = json.phases.flatMap((p) => p.components).filter((c) => c.owner);
    expect(withOwner.map((c) => [c.id, c.owner])).toEqual([
      ["signoz", { title: "SigNoz", email: "ops@example.com", state: "unknown" }],
      ["openpanel", { title: "OpenPanel", email: "ops@example.com", state: "unknown" }],
    ]);
    // Not a change: apply makes the owner after the health checks, not from the plan's list.
    expect(withOwner.flatMap((c) => c.changes).some((ch) => ch.kind === "OwnerAccount")).toBe(false);
  });

  it("no owner line where neither runs (the example's test, dev and ci)", async () => {
    for (const env of ["test", "dev", "ci"]) {
      const r = await at(["plan", env, "--offline"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, env).not.toContain("owner account");
    }
  });

  it("a live plan's line: will be created when plinth has no record of it, nothing once it has", () => {
    expect(ownerLine({ title: "SigNoz", email: "o@x.org", state: "create" })).toBe(
      "owner account for SigNoz (o@x.org): will be created at apply, once SigNoz passes its health checks",
    );
    expect(ownerLine({ title: "SigNoz", email: "o@x.org", state: "exists" })).toBeUndefined();
  });
});
