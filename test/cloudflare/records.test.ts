import { describe, expect, test } from "vitest";
import { resolve } from "../../src/model/resolve.js";
import { formatMark, parseMark } from "../../src/providers/cloudflare/ownership.js";
import { dnsRecordsFor } from "../../src/providers/cloudflare/records.js";
import { exampleConfig, exampleWith } from "../helpers/config.js";

const summary = (env: string) =>
  dnsRecordsFor(resolve(exampleConfig(), env)).map(
    (r) => `${r.spec.type} ${r.spec.name} -> ${r.spec.content} ${r.spec.proxied ? "proxied" : "dns-only"}`,
  );

describe("dnsRecordsFor (pure, blueprint example)", () => {
  test("staging: every host an A record at the staging VPS, k3s API and Vault DNS-only", () => {
    expect(summary("staging")).toEqual([
      "A auth-staging.example.org -> 203.0.113.10 proxied",
      "A dashboard-staging.example.org -> 203.0.113.10 proxied",
      "A k3s-staging.example.org -> 203.0.113.10 dns-only",
      "A kapi-staging.example.org -> 203.0.113.10 proxied",
      "A kcloud-staging.example.org -> 203.0.113.10 proxied",
      "A openpanel-api-staging.example.org -> 203.0.113.10 proxied",
      "A openpanel-staging.example.org -> 203.0.113.10 proxied",
      "A otel-staging.example.org -> 203.0.113.10 proxied",
      "A secrets-staging.example.org -> 203.0.113.10 dns-only",
      "A signoz-staging.example.org -> 203.0.113.10 proxied",
      "A x-staging-api.example.com -> 203.0.113.10 proxied",
      "A x-staging.example.com -> 203.0.113.10 proxied",
    ]);
  });

  test("prod: the apex and api. on the base zone, bare service names on the internal zone", () => {
    const records = dnsRecordsFor(resolve(exampleConfig(), "prod"));
    const byName = new Map(records.map((r) => [r.spec.name, r]));
    expect(byName.get("example.com")?.spec).toMatchObject({
      zone: "example.com",
      type: "A",
      content: "203.0.113.20",
      proxied: true,
      service: "frontend",
    });
    expect(byName.get("api.example.com")?.spec).toMatchObject({ zone: "example.com", service: "backend" });
    expect(byName.get("secrets.example.org")?.spec).toMatchObject({
      zone: "example.org",
      proxied: false,
      scope: "cluster",
      service: "vault",
    });
    expect(byName.get("k3s.example.org")?.spec.proxied).toBe(false);
    expect(byName.get("signoz.example.org")?.spec.proxied).toBe(true);
    expect(records.map((r) => r.id)).toContain("cloudflare:record:example.com:A");
    expect(records.every((r) => r.provider === "cloudflare" && r.component === "k3s")).toBe(true);
    expect(records.every((r) => r.id === `cloudflare:record:${r.spec.name}:${r.spec.type}`)).toBe(true);
  });

  test("test: its own temporary VPS, no Vault or SigNoz hosts", () => {
    const names = summary("test");
    expect(names).toContain("A x-test.example.com -> 203.0.113.30 proxied");
    expect(names.some((n) => n.includes("secrets") || n.includes("signoz"))).toBe(false);
  });

  test("ci and dev have no public hosts, so no records", () => {
    expect(dnsRecordsFor(resolve(exampleConfig(), "ci"))).toEqual([]);
    expect(dnsRecordsFor(resolve(exampleConfig(), "dev"))).toEqual([]);
  });

  test("an IPv6 VPS address gives AAAA records in canonical form", () => {
    const config = exampleWith((raw) => {
      const vps = raw.clusters.staging?.vps;
      if (vps) vps.host = "2001:DB8:0:0::10";
    });
    const records = dnsRecordsFor(resolve(config, "staging"));
    expect(new Set(records.map((r) => `${r.spec.type} ${r.spec.content}`))).toEqual(
      new Set(["AAAA 2001:db8::10"]),
    );
    expect(records[0]?.id).toMatch(/:AAAA$/);
  });

  test("a VPS known by name gives CNAME records to that name", () => {
    const config = exampleWith((raw) => {
      const vps = raw.clusters.prod?.vps;
      if (vps) vps.host = "VPS-1.Hosting.example.net.";
    });
    const records = dnsRecordsFor(resolve(config, "prod"));
    expect(new Set(records.map((r) => `${r.spec.type} ${r.spec.content}`))).toEqual(
      new Set(["CNAME vps-1.hosting.example.net"]),
    );
  });

  test("an environment on a cluster without a VPS gets no records", () => {
    const env = structuredClone(resolve(exampleConfig(), "staging"));
    delete env.cluster.vps;
    expect(dnsRecordsFor(env)).toEqual([]);
  });

  test("same model, same records, sorted by identity", () => {
    const a = dnsRecordsFor(resolve(exampleConfig(), "prod"));
    const b = dnsRecordsFor(resolve(exampleConfig(), "prod"));
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.map((r) => r.id)).toEqual([...a.map((r) => r.id)].sort());
  });
});

describe("ownership marks (record comments)", () => {
  test("round-trip for environment and cluster owners, within the free plan's 100 characters", () => {
    const env = formatMark({ tooling: "plinth/0.1.0", project: "acme", env: "staging" });
    expect(env).toBe("managed by plinth/0.1.0 project=acme env=staging");
    expect(parseMark(env)).toEqual({ tooling: "plinth/0.1.0", project: "acme", env: "staging" });
    const cluster = formatMark({ tooling: "plinth/0.1.0", project: "acme", cluster: "prod" });
    expect(parseMark(cluster)).toEqual({ tooling: "plinth/0.1.0", project: "acme", cluster: "prod" });
    expect(env.length).toBeLessThanOrEqual(100);
  });

  test("anything else is not plinth's", () => {
    for (const comment of [
      null,
      "",
      "web server",
      "managed by terraform",
      "managed by plinth/0.1.0 env=prod",
    ]) {
      expect(parseMark(comment)).toBeUndefined();
    }
  });
});
