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
  it("staging and prod get everything but Backstage (and the sso gate, which the example does not configure)", () => {
    const all = COMPONENT_IDS.filter((id) => id !== "backstage" && id !== "sso");
    expect(enabled("staging")).toEqual(all);
    expect(enabled("prod")).toEqual(all);
  });

  it("test: no Vault (so no platform PostgreSQL) and no SigNoz", () => {
    const test = enabled("test");
    expect(test).not.toContain("vault");
    expect(test).not.toContain("platform-postgres");
    expect(test).not.toContain("signoz");
    expect(test).toContain("cert-manager");
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

  it("a component may run on another defined cluster", () => {
    const config = exampleWith((c) => {
      c.environments.staging = {
        ...c.environments.staging,
        components: { signoz: { placement: { cluster: "prod" } } },
      };
    });
    expect(resolve(config, "staging").components.signoz.placement).toEqual({
      kind: "cluster",
      cluster: "prod",
    });
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

describe("resolve is pure and deterministic", () => {
  it("gives equal, frozen results for equal input", () => {
    const a = resolve(exampleConfig(), "staging");
    const b = resolve(exampleConfig(), "staging");
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.hosts)).toBe(true);
  });
});
