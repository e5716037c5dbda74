import { spawnSync } from "node:child_process";
import { describe, expect, expectTypeOf, it } from "vitest";
import { defineConfig, secret } from "../../src/index.js";
import type { Plan } from "../../src/plan/plan.js";
import { cli, EXAMPLE_PATH, projectWithConfig } from "../helpers/config.js";

const at = (argv: string[]) => cli([...argv, "--config", EXAMPLE_PATH], process.cwd());

describe("plinth plan --offline", () => {
  it("--json: phases in order, components with their changes, against an empty cluster", async () => {
    const r = await at(["plan", "staging", "--offline", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as Plan;
    expect(plan.env).toBe("staging");
    expect(plan.phases.map((p) => p.id)).toEqual(["0", "1", "2", "3", "999"]);
    const vault = plan.phases[0]?.components.find((c) => c.id === "vault");
    expect(vault).toMatchObject({ id: "vault", namespace: "platform" });
    expect(vault?.changes).toContainEqual(
      expect.objectContaining({
        action: "create",
        kind: "HelmChart",
        name: "vault",
        namespace: "kube-system",
      }),
    );
    expect(plan.phases[0]?.components.map((c) => c.id)).toEqual([
      "k3s",
      "traefik",
      "cert-manager",
      "cnpg-operator",
      "platform-postgres",
      "vault",
      "vault-secrets-operator",
    ]);
    const actions = new Set(
      plan.phases.flatMap((p) => p.components.flatMap((c) => c.changes.map((ch) => ch.action))),
    );
    expect([...actions]).toEqual(["create"]);
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("text: phase by phase, secrets shown by key name only", async () => {
    const r = await at(["plan", "prod", "--offline"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Phase 0\n  0.1 k3s");
    // Phase 0's Secrets are plinth's; later ones come from Vault through the operator.
    expect(r.stdout).toContain("+ Secret platform/platform-postgres-vault  (generated: password, username)");
    expect(r.stdout).toContain("+ VaultStaticSecret data/redis-auth");
    expect(r.stdout).not.toContain("+ Secret data/redis-auth");
    expect(r.stdout).toMatch(/Plan: \d+ to create, 0 to update/);
  });

  it("the same plan twice has the same hash", async () => {
    const a = JSON.parse((await at(["plan", "prod", "--offline", "--json"])).stdout) as Plan;
    const b = JSON.parse((await at(["plan", "prod", "--offline", "--json"])).stdout) as Plan;
    expect(a.hash).toBe(b.hash);
  });
});

describe("plinth domains", () => {
  it("--json maps service ids to hosts and omits what the environment lacks", async () => {
    const r = await at(["domains", "test", "--json"]);
    const hosts = JSON.parse(r.stdout) as Record<string, string>;
    expect(hosts.frontend).toBe("x-test.example.com");
    expect(hosts).not.toHaveProperty("vault");
    expect(hosts).not.toHaveProperty("signoz");
    expect(JSON.parse((await at(["domains", "ci", "--json"])).stdout)).toEqual({});
  });
});

describe("plinth graph", () => {
  it("mermaid: a subgraph per phase and an edge per dependency", async () => {
    const r = await at(["graph", "staging"]);
    expect(r.stdout.startsWith("flowchart TB\n")).toBe(true);
    expect(r.stdout).toContain('subgraph phase_0["Phase 0.x"]');
    expect(r.stdout).toContain("platform_postgres --> vault");
    expect(r.stdout).toContain("clickhouse --> openpanel");
  });

  it("json: the same graph as data", async () => {
    const g = JSON.parse((await at(["graph", "staging", "--format", "json"])).stdout) as {
      phases: { id: string; components: { id: string; dependsOn: string[] }[] }[];
    };
    const openpanel = g.phases.flatMap((p) => p.components).find((c) => c.id === "openpanel");
    expect(openpanel?.dependsOn).toEqual(["clickhouse", "postgres", "redis"]);
  });
});

describe("plinth validate", () => {
  it("accepts the blueprint example", async () => {
    const r = await at(["validate"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("valid (ci, dev, prod, staging, test)");
  });

  it("accepts two environments on one cluster; refuses (exit 2) what one shared object cannot hold for both", async () => {
    const source = (emails: [string, string]) => `import { defineConfig } from "plinth";
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { vps: { type: "existing", kubeconfig: "vps.yaml" } },
  environments: {
    staging: { kind: "staging", cluster: "vps", domainPrefix: "x-staging", acmeEmail: "${emails[0]}", features: { observability: true } },
    prod: { kind: "prod", cluster: "vps", acmeEmail: "${emails[1]}", features: { observability: true } },
  },
});
`;
    const ok = await cli(["validate"], projectWithConfig(source(["ops@example.com", "ops@example.com"])));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("valid (prod, staging)");
    expect(ok.stderr).toBe("");
    const refused = await cli(["validate"], projectWithConfig(source(["a@example.com", "b@example.com"])));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'environments.staging: renders ClusterIssuer plinth-letsencrypt-dns01 (cert-manager), one object on cluster vps, differently from environment prod: spec.acme.email is "a@example.com" here and "b@example.com" there',
    );
    expect(refused.stderr).toContain("put them on separate clusters");
  });
});

// `npm test` builds dist/ first, so this runs the CLI exactly as a user of the package does.
describe("bin/plinth (the built CLI, as a user runs it)", () => {
  it("exits 0 on the example and 2 on bad input, without a stack trace", () => {
    const ok = spawnSync("bin/plinth", ["plan", "staging", "--offline", "--config", EXAMPLE_PATH], {
      encoding: "utf8",
    });
    expect(ok.status, ok.stderr).toBe(0);
    const bad = spawnSync("bin/plinth", ["plan", "nope", "--offline", "--config", EXAMPLE_PATH], {
      encoding: "utf8",
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown environment "nope"');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("defineConfig", () => {
  it("returns its argument and keeps the literal types of every form", () => {
    const config = defineConfig({
      clusters: { one: { type: "existing" } },
      environments: { dev: { cluster: "one" } },
    });
    expectTypeOf(config.environments.dev.cluster).toEqualTypeOf<"one">();
    const fn = defineConfig(() => ({ clusters: {}, environments: {} }));
    expectTypeOf(fn).toBeFunction();
    const promised = defineConfig(Promise.resolve({ clusters: {}, environments: {} }));
    expectTypeOf(promised).resolves.toHaveProperty("clusters");
    expect(defineConfig(config)).toBe(config);
    expect(secret.env("TOKEN")).toEqual({ fromEnv: "TOKEN" });
    // @ts-expect-error an unknown component id is a type error, not only a load-time one
    defineConfig({ clusters: {}, environments: { dev: { components: { mongo: {} } } } });
  });
});
