import { describe, expect, it } from "vitest";
import { exampleConfig, exampleWith } from "../../test/helpers/config.js";
import { validateAll } from "../validate/validate.js";
import { resolve, resolveEnvironment } from "./resolve.js";

function hostTable(env: string, config = exampleConfig()): Record<string, string> {
  const r = resolve(config, env);
  return Object.fromEntries(Object.entries(r.hosts).map(([k, v]) => [k, v?.host ?? ""]));
}

describe("domain rules (DESIGN: Domains)", () => {
  it("prod: the apex for the frontend, api. for the backend, bare names on the internal domain", () => {
    expect(hostTable("prod")).toEqual({
      frontend: "example.com",
      backend: "api.example.com",
      "k3s-api": "k3s.example.org",
      vault: "secrets.example.org",
      dashboard: "dashboard.example.org",
      kubero: "kcloud.example.org",
      "kubero-api": "kapi.example.org",
      signoz: "signoz.example.org",
      "otel-collector": "otel.example.org",
      openpanel: "openpanel.example.org",
      "openpanel-api": "openpanel-api.example.org",
      sso: "auth.example.org",
    });
  });

  it("staging: its prefix on the base domain, and {name}-staging for its own services", () => {
    expect(hostTable("staging")).toEqual({
      frontend: "x-staging.example.com",
      backend: "x-staging-api.example.com",
      "k3s-api": "k3s-staging.example.org",
      vault: "secrets-staging.example.org",
      dashboard: "dashboard-staging.example.org",
      kubero: "kcloud-staging.example.org",
      "kubero-api": "kapi-staging.example.org",
      signoz: "signoz-staging.example.org",
      "otel-collector": "otel-staging.example.org",
      openpanel: "openpanel-staging.example.org",
      "openpanel-api": "openpanel-api-staging.example.org",
      sso: "auth-staging.example.org",
    });
  });

  it("test: x-test on the base domain, no Vault and no SigNoz", () => {
    const hosts = hostTable("test");
    expect(hosts.frontend).toBe("x-test.example.com");
    expect(hosts.backend).toBe("x-test-api.example.com");
    expect(hosts.vault).toBeUndefined();
    expect(hosts.signoz).toBeUndefined();
    expect(hosts.kubero).toBe("kcloud-test.example.org");
  });

  it("ci: no hosts at all (in-cluster only); dev: localhost", () => {
    expect(hostTable("ci")).toEqual({});
    const dev = resolve(exampleConfig(), "dev");
    expect(dev.hosts.frontend?.host).toBe("localhost");
    expect(dev.zones).toEqual([]);
    expect(dev.publicHosts).toBe(false);
  });

  it("no environment ever emits a host starting with '.' or '-', and none is deeper than one label", () => {
    const config = exampleConfig();
    for (const env of Object.keys(config.environments)) {
      const r = resolve(config, env);
      for (const entry of Object.values(r.hosts)) {
        expect(entry?.host).not.toMatch(/^[.-]/);
        const zone = r.zones.find((z) => entry?.host === z || entry?.host.endsWith(`.${z}`));
        if (zone)
          expect(entry?.host.slice(0, -zone.length).split(".").filter(Boolean).length).toBeLessThanOrEqual(1);
      }
    }
  });

  it("the k3s API and Vault are DNS-only, web UIs proxied", () => {
    const r = resolve(exampleConfig(), "prod");
    expect(r.hosts["k3s-api"]?.proxied).toBe(false);
    expect(r.hosts.vault?.proxied).toBe(false);
    expect(r.hosts.kubero?.proxied).toBe(true);
    expect(r.zones).toEqual(["example.com", "example.org"]);
  });

  it("refuses a prefix two labels deep, naming the host and the fix", () => {
    const config = exampleWith((c) => {
      c.environments.staging = { ...c.environments.staging, domainPrefix: "a.b" };
    });
    const { diagnostics } = resolveEnvironment(config, "staging");
    expect(diagnostics).toContainEqual(
      expect.objectContaining({
        severity: "error",
        path: "environments.staging.domainPrefix",
        message: expect.stringContaining("a.b.example.com"),
        fix: expect.stringContaining('"a-b"'),
      }),
    );
  });

  it("refuses a host override deeper than one label below its zone", () => {
    const config = exampleWith((c) => {
      c.environments.prod = { ...c.environments.prod, hosts: { backend: "api.v2.example.com" } };
    });
    const { diagnostics } = resolveEnvironment(config, "prod");
    expect(diagnostics).toContainEqual(
      expect.objectContaining({
        path: "environments.prod.hosts.backend",
        message: "host api.v2.example.com (backend) is 2 labels below zone example.com",
        fix: expect.stringContaining("api-v2.example.com"),
      }),
    );
  });

  it("refuses two services of one environment on the same host", () => {
    const config = exampleWith((c) => {
      c.environments.staging = { ...c.environments.staging, hosts: { backend: "x-staging.example.com" } };
    });
    const { diagnostics } = resolveEnvironment(config, "staging");
    expect(diagnostics.map((d) => d.message)).toContain(
      "host x-staging.example.com is claimed by both frontend and backend",
    );
  });

  it("refuses two environments claiming one host", () => {
    const config = exampleWith((c) => {
      c.environments.test = { ...c.environments.test, domainPrefix: "x-staging" };
    });
    const messages = validateAll(config).diagnostics.map((d) => d.message);
    expect(messages).toContain(
      "host x-staging.example.com (frontend) is also used by environment staging (frontend)",
    );
  });

  it("a custom environment name is its own prefix: qa beside test, uat beside staging, no collision", () => {
    const config = exampleWith((c) => {
      c.environments.qa = { kind: "test", cluster: "test" };
      c.environments.uat = { kind: "staging", cluster: "staging" };
      const staging = c.clusters.staging;
      if (staging?.vps) staging.vps.memory = "64Gi";
    });
    expect(hostTable("qa", config)).toMatchObject({
      frontend: "qa.example.com",
      backend: "qa-api.example.com",
      "k3s-api": "k3s-test.example.org",
      dashboard: "dashboard-test.example.org",
      kubero: "kcloud-qa.example.org",
      "kubero-api": "kapi-qa.example.org",
    });
    expect(hostTable("uat", config)).toMatchObject({
      frontend: "uat.example.com",
      backend: "uat-api.example.com",
      kubero: "kcloud-uat.example.org",
      // Vault and the dashboard are the cluster's, named after its primary environment (staging).
      vault: "secrets-staging.example.org",
    });
    const clashes = validateAll(config).diagnostics.filter((d) => /^host .* also used by/.test(d.message));
    expect(clashes).toEqual([]);
    // Adding them renames none of the preset environments' hosts, cluster-wide ones included.
    for (const env of ["dev", "ci", "test", "staging", "prod"])
      expect(hostTable(env, config)).toEqual(hostTable(env));
  });

  it("a preset name keeps its preset's prefix (staging.BASE without domainPrefix), a set one wins", () => {
    const config = exampleWith((c) => {
      c.environments.staging = { cluster: "staging" };
      c.environments.uat = { kind: "staging", cluster: "staging", domainPrefix: "acceptance" };
      const staging = c.clusters.staging;
      if (staging?.vps) staging.vps.memory = "64Gi";
    });
    expect(hostTable("staging", config).frontend).toBe("staging.example.com");
    expect(hostTable("test", config).frontend).toBe("x-test.example.com");
    expect(hostTable("prod", config).frontend).toBe("example.com");
    expect(hostTable("uat", config).frontend).toBe("acceptance.example.com");
  });

  it("environments sharing a cluster share its Vault host and keep their own service hosts", () => {
    const config = exampleWith((c) => {
      c.environments.test = { ...c.environments.test, cluster: "staging" };
      const staging = c.clusters.staging;
      if (staging?.vps) staging.vps.memory = "32Gi";
    });
    expect(validateAll(config).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(hostTable("test", config)["k3s-api"]).toBe("k3s-staging.example.org");
    expect(hostTable("test", config).kubero).toBe("kcloud-test.example.org");
  });
});
