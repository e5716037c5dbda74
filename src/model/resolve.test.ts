import { describe, expect, it } from "vitest";
import { exampleConfig, exampleWith } from "../../test/helpers/config.js";
import { COMPONENT_IDS, type ComponentId } from "../config/ids.js";
import { resolve, resolveEnvironment } from "./resolve.js";

function enabled(env: string, config = exampleConfig()): ComponentId[] {
  const r = resolve(config, env);
  return COMPONENT_IDS.filter((id) => r.components[id].enabled);
}

describe("namespaces", () => {
  it("an environment alone on its cluster gets plain namespaces and platform once", () => {
    expect(resolve(exampleConfig(), "staging").namespaces).toEqual({
      platform: "platform",
      data: "data",
      kubero: "kubero",
      apps: "apps",
      observability: "observability",
    });
  });

  it("environments sharing a cluster get suffixed namespaces, and platform stays shared", () => {
    const config = exampleWith((c) => {
      c.environments.test = { ...c.environments.test, cluster: "staging" };
    });
    const staging = resolve(config, "staging").namespaces;
    const test = resolve(config, "test").namespaces;
    expect(staging).toMatchObject({ platform: "platform", data: "data-staging", apps: "apps-staging" });
    expect(test).toMatchObject({
      platform: "platform",
      data: "data-test",
      observability: "observability-test",
    });
  });
});

describe("components per environment", () => {
  it("staging and prod get everything but Backstage, the sso gate included", () => {
    const all = COMPONENT_IDS.filter((id) => id !== "backstage");
    expect(enabled("staging")).toEqual(all);
    expect(enabled("prod")).toEqual(all);
  });

  it("test: no Vault (so no platform PostgreSQL) and no SigNoz", () => {
    const test = enabled("test");
    expect(test).not.toContain("vault");
    expect(test).not.toContain("platform-postgres");
    expect(test).not.toContain("signoz");
    expect(test).toContain("cert-manager");
    expect(test).toContain("sso");
  });

  it("ci: in-cluster only: no k3s install, no certificates, no UI", () => {
    expect(enabled("ci")).toEqual(["traefik", "cnpg-operator", "postgres", "redis"]);
  });

  it("dev: on an existing local cluster, no Vault and no certificates", () => {
    const dev = enabled("dev");
    expect(dev).not.toContain("k3s");
    expect(dev).not.toContain("vault");
    expect(dev).not.toContain("cert-manager");
    expect(dev).toContain("kubero");
    expect(dev).not.toContain("sso");
  });

  it("backstage is off by default and on with features.backstage", () => {
    expect(enabled("prod")).not.toContain("backstage");
    const config = exampleWith((c) => {
      c.environments.prod = { ...c.environments.prod, features: { observability: true, backstage: true } };
    });
    expect(enabled("prod", config)).toContain("backstage");
  });
});

describe("placement", () => {
  it("an external managed PostgreSQL renders nothing and needs no CNPG for it", () => {
    const config = exampleWith((c) => {
      c.environments.test = {
        ...c.environments.test,
        components: { postgres: { placement: { external: { url: { fromEnv: "TEST_DATABASE_URL" } } } } },
      };
    });
    const test = resolve(config, "test");
    expect(test.components.postgres.placement).toEqual({
      kind: "external",
      url: { fromEnv: "TEST_DATABASE_URL" },
    });
    expect(test.components["cnpg-operator"].enabled).toBe(false);
  });

  it("a component placed on another environment's cluster is refused: apply reaches only its own", () => {
    const config = exampleWith((c) => {
      c.environments.staging = {
        ...c.environments.staging,
        components: { signoz: { placement: { cluster: "prod" } }, redis: { placement: { cluster: "prod" } } },
      };
    });
    const { environment, diagnostics } = resolveEnvironment(config, "staging");
    expect(environment?.components.signoz.placement).toEqual({ kind: "cluster", cluster: "prod" });
    expect(diagnostics).toEqual([
      {
        severity: "error",
        path: "environments.staging.components.redis.placement.cluster",
        message:
          "redis is placed on cluster prod, but plinth plans and applies environment staging on its own cluster staging only: redis would land on staging, not on prod, and on prod its VaultAuth would have no connection to staging's Vault",
        fix: 'run redis on cluster staging (remove the placement), or use a managed service: { external: { url: secret.env("NAME") } }; a component on another environment\'s cluster is not supported yet',
      },
      {
        severity: "error",
        path: "environments.staging.components.signoz.placement.cluster",
        message:
          "signoz is placed on cluster prod, but plinth plans and applies environment staging on its own cluster staging only: signoz would land on staging, not on prod, and on prod its VaultAuth would have no connection to staging's Vault",
        fix: "run signoz on cluster staging (remove the placement); a component on another environment's cluster is not supported yet",
      },
    ]);
  });

  it("a placement on a cluster that does not exist is an error naming the field and the clusters", () => {
    const config = exampleWith((c) => {
      c.environments.staging = {
        ...c.environments.staging,
        components: { redis: { placement: { cluster: "nowhere" } } },
      };
    });
    expect(resolveEnvironment(config, "staging").diagnostics).toContainEqual(
      expect.objectContaining({
        path: "environments.staging.components.redis.placement.cluster",
        message: 'cluster "nowhere" does not exist',
        fix: expect.stringContaining("ci, local, prod, staging, test"),
      }),
    );
  });
});

describe("placement on a cluster no environment runs on", () => {
  const obs = {
    type: "k3s-vps" as const,
    vps: { host: "203.0.113.40", sshKey: { fromEnv: "OBS_SSH_KEY" }, memory: "16Gi", cores: 8 },
    k3s: { channel: "stable" as const, version: "v1.33.5+k3s1" },
  };

  it("is refused, naming the component, the cluster, what would be missing there and the fix", () => {
    const config = exampleWith((c) => {
      c.clusters.obs = obs;
      c.environments.staging = {
        ...c.environments.staging,
        components: { signoz: { placement: { cluster: "obs" } } },
      };
    });
    expect(resolveEnvironment(config, "staging").diagnostics).toEqual([
      {
        severity: "error",
        path: "environments.staging.components.signoz.placement.cluster",
        message:
          "signoz is placed on cluster obs, which no environment runs on: nothing would set up k3s and its helm-controller, cert-manager or the Vault connection signoz's VaultAuth needs there",
        fix: 'run signoz on this environment\'s cluster staging (remove the placement), or put environment staging itself on cluster obs (environments.staging.cluster: "obs")',
      },
    ]);
  });

  it("names only what the environment would bring: test has no Vault, an existing cluster no k3s", () => {
    const config = exampleWith((c) => {
      c.clusters.obs = { type: "existing" };
      c.environments.test = {
        ...c.environments.test,
        components: { redis: { placement: { cluster: "obs" } } },
      };
    });
    expect(resolveEnvironment(config, "test").diagnostics.map((d) => d.message)).toEqual([
      "redis is placed on cluster obs, which no environment runs on: nothing would set up the helm-controller or cert-manager there",
    ]);
  });

  it("is ignored for a component that is off", () => {
    const off = exampleWith((c) => {
      c.clusters.obs = obs;
      c.environments.test = {
        ...c.environments.test,
        components: { signoz: { placement: { cluster: "obs" } } },
      };
    });
    expect(resolveEnvironment(off, "test").diagnostics).toEqual([]);
  });
});

describe("dependsOn", () => {
  it("naming a component that is off is an error naming it, why it is off and the fix", () => {
    const config = exampleWith((c) => {
      c.environments.test = { ...c.environments.test, components: { redis: { dependsOn: ["signoz"] } } };
    });
    expect(resolveEnvironment(config, "test").diagnostics).toEqual([
      {
        severity: "error",
        path: "environments.test.components.redis.dependsOn",
        message: "redis depends on signoz, which is off in environment test (features.observability is off)",
        fix: "remove signoz from redis's dependsOn, or turn signoz on (environments.test.components.signoz.enabled: true)",
      },
    ]);
  });

  it("written in defaults, it is named there, once for each environment where the target is off", () => {
    const config = exampleWith((c) => {
      c.defaults = { ...c.defaults, components: { redis: { dependsOn: ["signoz"] } } };
    });
    const problems = ["dev", "ci", "test", "staging", "prod"].flatMap(
      (env) => resolveEnvironment(config, env).diagnostics,
    );
    expect(problems.map((d) => `${d.path}: ${d.message}`)).toEqual(
      ["dev", "ci", "test"].map(
        (env) =>
          `defaults.components.redis.dependsOn: redis depends on signoz, which is off in environment ${env} (features.observability is off)`,
      ),
    );
  });

  it("on a component that is on is accepted, and a component that is off may name anything", () => {
    const config = exampleWith((c) => {
      c.environments.staging = {
        ...c.environments.staging,
        components: { redis: { dependsOn: ["clickhouse"] }, backstage: { dependsOn: ["arangodb"] } },
      };
      c.environments.test = {
        ...c.environments.test,
        components: { signoz: { enabled: false, dependsOn: ["vault"] } },
      };
    });
    expect(resolveEnvironment(config, "staging").diagnostics).toEqual([]);
    expect(resolveEnvironment(config, "test").diagnostics).toEqual([]);
  });
});

describe("environment names", () => {
  it("asking for an environment of a config without any never prints an empty list", () => {
    const config = { ...exampleConfig(), environments: {} };
    expect(() => resolveEnvironment(config, "staging")).toThrow(
      'environments: unknown environment "staging" (add environments.staging to the config)',
    );
  });
});

describe("resolve is pure and deterministic", () => {
  it("gives equal, frozen results for equal input", () => {
    const a = resolve(exampleConfig(), "staging");
    const b = resolve(exampleConfig(), "staging");
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.hosts)).toBe(true);
  });
});
