/**
 * The Secret cert-manager's DNS-01 ClusterIssuer reads, written by plinth from CLOUDFLARE_API_TOKEN
 * at apply time, against the test bed's API server: refused without the variable (nothing
 * applied), created, a no-op on re-plan, updated when the variable changes, pruned (not kept as
 * data) when cert-manager leaves the config, and the token in no output, event or state file.
 * Only cert-manager is applied (`--target`), so the other components' objects are never touched.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../src/plan/plan.js";
import { kubectl, kubectlJson, plinth, project, type Run, writeConfig } from "./bed.js";

const ENV = "cfsecret";
const NS = "cert-manager";
const SECRET = "cloudflare-api-token";
const first = `cf-${randomBytes(20).toString("hex")}`;
const second = `cf-${randomBytes(20).toString("hex")}`;
const third = `cf-${randomBytes(20).toString("hex")}`;
let dir: string;

const outputs: string[] = [];
function keep(r: Run): Run {
  outputs.push(r.stdout, r.stderr);
  return r;
}

const run = (args: string[], token: string) =>
  plinth(args, dir, { env: { CLOUDFLARE_API_TOKEN: token } }).then(keep);

function secretChange(plan: Plan) {
  return plan.phases
    .flatMap((p) => p.components)
    .flatMap((c) => c.changes)
    .find((ch) => ch.kind === "Secret" && ch.namespace === NS && ch.name === SECRET);
}

async function liveSecret() {
  return kubectlJson<{
    data: Record<string, string>;
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  }>("get", "secret", SECRET, "-n", NS);
}

describe.sequential("cloudflare-api-token from the environment", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = project({ env: ENV });
    await plinth(["destroy", ENV, "--yes", "--delete-data"], dir);
  });
  afterAll(async () => {
    // Destroy removes the ApplySet parent itself once no member is left.
    await plinth(["destroy", ENV, "--yes", "--delete-data"], dir);
  });

  it("without CLOUDFLARE_API_TOKEN: exit 2 naming the variable and the fix; nothing applied", async () => {
    const parent = () =>
      kubectlJson<{ metadata: { resourceVersion: string } }>(
        "get",
        "configmap",
        `plinth-applyset-${ENV}`,
        "-n",
        "kube-system",
      ).then(
        (p) => p.metadata.resourceVersion,
        () => "absent",
      );
    // Other environments on this API server may hold the Secret (it is cluster-wide): it must not move.
    const secretVersion = () =>
      kubectlJson<{ metadata: { resourceVersion: string } }>("get", "secret", SECRET, "-n", NS).then(
        (x) => x.metadata.resourceVersion,
        () => "absent",
      );
    const before = [await parent(), await secretVersion()];
    for (const args of [
      ["apply", ENV, "--yes", "--no-wait", "--target", "cert-manager"],
      ["plan", ENV],
    ]) {
      const r = await run(args, "");
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("environment variable CLOUDFLARE_API_TOKEN is not set");
      expect(r.stderr).toContain(`Secret ${NS}/${SECRET}`);
      expect(r.stderr).toContain(
        "export CLOUDFLARE_API_TOKEN (a Cloudflare API token with Zone.Zone:Read and Zone.DNS:Edit on example.com, example.org) and run again",
      );
      expect(r.stderr).not.toContain("    at ");
    }
    expect([await parent(), await secretVersion()]).toEqual(before);
  });

  it("the plan shows the Secret as a change (redacted); apply writes the token, owned by the environment", async () => {
    const planned = await run(["plan", ENV, "--json"], first);
    expect(planned.code, planned.stderr).toBe(0);
    const change = secretChange(JSON.parse(planned.stdout) as Plan);
    // A create on a fresh API server; an update or adoption where another environment wrote it.
    expect(["create", "update", "adopt"]).toContain(change?.action);
    expect(change).toMatchObject({ provider: "secret", detail: "from CLOUDFLARE_API_TOKEN: api-token" });
    const r = await run(["apply", ENV, "--yes", "--no-wait", "--target", "cert-manager"], first);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`[+~=] Secret ${NS}/${SECRET}  \\(from CLOUDFLARE_API_TOKEN: api-token\\)`),
    );
    const live = await liveSecret();
    expect(Buffer.from(live.data["api-token"] ?? "", "base64").toString()).toBe(first);
    expect(live.metadata.labels["plinth.dev/component"]).toBe("cert-manager");
    expect(live.metadata.labels["applyset.kubernetes.io/part-of"]).toBeTruthy();
    expect(live.metadata.annotations["plinth.dev/from-environment"]).toBe("CLOUDFLARE_API_TOKEN");
  });

  it("the same variable again: the Secret is a no-op", async () => {
    const r = await run(["plan", ENV, "--json"], first);
    expect(r.code, r.stderr).toBe(0);
    expect(secretChange(JSON.parse(r.stdout) as Plan)?.action).toBe("no-op");
  });

  it("a changed variable: an update with the value redacted, then the new token live", async () => {
    const planned = await run(["plan", ENV], second);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain(`~ Secret ${NS}/${SECRET}`);
    expect(planned.stdout).toContain("data.api-token: (redacted) → (from CLOUDFLARE_API_TOKEN)");
    const r = await run(["apply", ENV, "--yes", "--no-wait", "--target", "cert-manager", "--json"], second);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`"action":"update","kind":"Secret","name":"${SECRET}"`);
    const live = await liveSecret();
    expect(Buffer.from(live.data["api-token"] ?? "", "base64").toString()).toBe(second);
  });

  it("a saved plan applied without the variable: exit 2, nothing applied; with it, apply time's value", async () => {
    const saved = await run(["plan", ENV, "-o", "plan.json"], third);
    expect(saved.code, saved.stderr).toBe(0);
    outputs.push(readFileSync(join(dir, "plan.json"), "utf8"));
    const apply = ["apply", "plan.json", "--yes", "--no-wait", "--target", "cert-manager"];
    const refused = await run(apply, "");
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain("environment variable CLOUDFLARE_API_TOKEN is not set");
    const token = async () => Buffer.from((await liveSecret()).data["api-token"] ?? "", "base64").toString();
    expect(await token()).toBe(second);
    const applied = await run(apply, third);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await token()).toBe(third);
  });

  it("cert-manager left out of the config: the Secret is pruned, not kept as data", async () => {
    writeConfig(dir, { env: ENV, components: `"cert-manager": { enabled: false },` });
    const planned = await run(["plan", ENV], second);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain(`- Secret ${NS}/${SECRET}  (no longer desired)`);
    // Without cert-manager nothing needs the variable any more.
    const r = await run(["apply", ENV, "--yes", "--no-wait", "--target", "cert-manager"], "");
    expect(r.code, r.stderr).toBe(0);
    await expect(kubectl("get", "secret", SECRET, "-n", NS)).rejects.toThrow(/NotFound/);
  });

  it("no token appears in any output, --json event, saved plan or state file", () => {
    const stateDir = join(dir, ".plinth", "state");
    const files = readdirSync(stateDir).map((f) => readFileSync(join(stateDir, f), "utf8"));
    expect(files.length).toBeGreaterThan(0);
    for (const text of [...outputs, ...files]) {
      for (const token of [first, second, third])
        expect(text.includes(token), `the token leaked: ${text.slice(0, 80)}`).toBe(false);
    }
  });
});
