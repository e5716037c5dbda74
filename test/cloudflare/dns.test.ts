/**
 * Cloudflare DNS through the official `cloudflare` SDK against a local STAND-IN of the Cloudflare
 * API v4 (test/cloudflare/standin.ts): Cloudflare's hosted API cannot be reached from here.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { Config } from "../../src/config/schema.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { resolve } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import {
  applyDns,
  type CloudflareDnsProvider,
  cloudflareDnsProvider,
  planDns,
} from "../../src/providers/cloudflare/index.js";
import type { ProviderContext } from "../../src/providers/types.js";
import { exampleConfig, exampleWith } from "../helpers/config.js";
import { CloudflareStandin } from "./standin.js";

const ctx = (env: string): ProviderContext => ({ env, tooling: "plinth/0.1.0" });

let cf: CloudflareStandin;
let token: string;

beforeEach(async () => {
  cf = await new CloudflareStandin().start();
  cf.addZone("example.com");
  cf.addZone("example.org");
  token = cf.token("edit");
});
afterEach(async () => {
  await cf.stop();
});

function provider(apiToken: string = token): CloudflareDnsProvider {
  return cloudflareDnsProvider({ apiToken, baseURL: cf.url });
}

const tokenless = () => cloudflareDnsProvider({ apiToken: undefined, baseURL: cf.url });

function staging(config: Config = exampleConfig()): ResolvedEnvironment {
  return resolve(config, "staging");
}

async function converge(env: ResolvedEnvironment, p = provider()) {
  const changes = await planDns(env, p, ctx(env.name));
  await applyDns(changes, p, ctx(env.name));
  return changes;
}

const actions = (changes: { action: string; id: string }[], action: string) =>
  changes.filter((c) => c.action === action).map((c) => c.id);

async function userError(promise: Promise<unknown>): Promise<UserError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

describe("Cloudflare DNS (stand-in API): create, converge, update, prune", () => {
  test("plan shows a create per host, apply converges, a second plan is empty", async () => {
    const p = provider();
    const changes = await planDns(staging(), p, ctx("staging"));
    expect(cf.mutations()).toEqual([]);
    expect(changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      "create DNS A auth-staging.example.org",
      "create DNS A dashboard-staging.example.org",
      "create DNS A k3s-staging.example.org",
      "create DNS A kapi-staging.example.org",
      "create DNS A kcloud-staging.example.org",
      "create DNS A openpanel-api-staging.example.org",
      "create DNS A openpanel-staging.example.org",
      "create DNS A otel-staging.example.org",
      "create DNS A secrets-staging.example.org",
      "create DNS A signoz-staging.example.org",
      "create DNS A x-staging-api.example.com",
      "create DNS A x-staging.example.com",
    ]);
    expect(changes[0]?.diff).toEqual([
      { path: "content", after: "203.0.113.10" },
      { path: "proxied", after: true },
    ]);

    await applyDns(changes, p, ctx("staging"));
    expect(cf.find("x-staging.example.com", "A")).toMatchObject({
      content: "203.0.113.10",
      proxied: true,
      ttl: 1,
      comment: "managed by plinth/0.1.0 project=acme env=staging",
    });
    expect(cf.find("secrets-staging.example.org", "A")).toMatchObject({
      proxied: false,
      comment: "managed by plinth/0.1.0 project=acme cluster=staging",
    });
    expect(cf.recordsOf("example.com")).toHaveLength(2);
    expect(cf.recordsOf("example.org")).toHaveLength(10);

    cf.clearLog();
    const again = await planDns(staging(), provider(), ctx("staging"));
    expect(again.every((c) => c.action === "no-op")).toBe(true);
    expect(await applyDns(again, provider(), ctx("staging"))).toEqual([]);
    expect(cf.mutations()).toEqual([]);
  });

  test("apply is idempotent: the same plan applied twice writes each record once", async () => {
    const p = provider();
    const changes = await planDns(staging(), p, ctx("staging"));
    await applyDns(changes, p, ctx("staging"));
    const before = structuredClone([...cf.records.values()]);
    await applyDns(changes, provider(), ctx("staging"));
    expect([...cf.records.values()]).toEqual(before);
  });

  test("a new VPS address updates exactly the records, content only", async () => {
    await converge(staging());
    const moved = staging(
      exampleWith((raw) => {
        const vps = raw.clusters.staging?.vps;
        if (vps) vps.host = "198.51.100.99";
      }),
    );
    const ids = [...cf.records.keys()].sort();
    cf.clearLog();
    const changes = await planDns(moved, provider(), ctx("staging"));
    expect(changes.every((c) => c.action === "update")).toBe(true);
    expect(changes).toHaveLength(12);
    expect(changes[0]?.diff).toEqual([{ path: "content", before: "203.0.113.10", after: "198.51.100.99" }]);
    await applyDns(changes, provider(), ctx("staging"));
    expect(cf.mutations().map((m) => m.method)).toEqual(Array(12).fill("PATCH"));
    expect([...cf.records.keys()].sort()).toEqual(ids);
    expect([...cf.records.values()].every((r) => r.content === "198.51.100.99")).toBe(true);
    expect((await planDns(moved, provider(), ctx("staging"))).every((c) => c.action === "no-op")).toBe(true);
  });

  test("a proxied flip on one service is exactly one update", async () => {
    await converge(staging());
    const env = structuredClone(staging());
    const frontend = env.hosts.frontend;
    if (frontend) frontend.proxied = false;
    const changes = await planDns(env, provider(), ctx("staging"));
    expect(changes.filter((c) => c.action !== "no-op")).toMatchObject([
      {
        action: "update",
        id: "cloudflare:record:x-staging.example.com:A",
        diff: [{ path: "proxied", before: true, after: false }],
      },
    ]);
    cf.clearLog();
    await applyDns(changes, provider(), ctx("staging"));
    expect(cf.mutations()).toHaveLength(1);
    expect(cf.find("x-staging.example.com")?.proxied).toBe(false);
  });

  test("a host removed from the model deletes its owned record, and only that", async () => {
    await converge(staging());
    const smaller = staging(
      exampleWith((raw) => {
        const env = raw.environments.staging;
        if (env) env.features = { ...env.features, observability: false };
      }),
    );
    const changes = await planDns(smaller, provider(), ctx("staging"));
    expect(actions(changes, "delete")).toEqual([
      "cloudflare:record:openpanel-api-staging.example.org:A",
      "cloudflare:record:openpanel-staging.example.org:A",
      "cloudflare:record:otel-staging.example.org:A",
      "cloudflare:record:signoz-staging.example.org:A",
    ]);
    expect(changes.filter((c) => c.action === "delete").every((c) => c.namespace === "example.org")).toBe(
      true,
    );
    await applyDns(changes, provider(), ctx("staging"));
    expect(cf.find("signoz-staging.example.org")).toBeUndefined();
    expect(cf.records.size).toBe(8);
    expect((await planDns(smaller, provider(), ctx("staging"))).every((c) => c.action === "no-op")).toBe(
      true,
    );
  });

  test("a VPS that moves from an address to a name: the old A goes first, then the CNAME", async () => {
    await converge(staging());
    const named = staging(
      exampleWith((raw) => {
        const vps = raw.clusters.staging?.vps;
        if (vps) vps.host = "staging.hosting.example.net";
      }),
    );
    const changes = await planDns(named, provider(), ctx("staging"));
    expect(actions(changes, "create")).toHaveLength(12);
    expect(actions(changes, "delete")).toHaveLength(12);
    await applyDns(changes, provider(), ctx("staging"));
    expect(new Set([...cf.records.values()].map((r) => `${r.type} ${r.content}`))).toEqual(
      new Set(["CNAME staging.hosting.example.net"]),
    );
  });

  test("environments sharing a cluster share its Vault/dashboard/k3s records; only the primary prunes them", async () => {
    const shared = exampleWith((raw) => {
      const test = raw.environments.test;
      if (test) test.cluster = "staging";
    });
    await converge(staging(shared));
    const test = resolve(shared, "test");
    const changes = await planDns(test, provider(), ctx("test"));
    expect(actions(changes, "no-op")).toEqual([
      "cloudflare:record:dashboard-staging.example.org:A",
      "cloudflare:record:k3s-staging.example.org:A",
    ]);
    expect(actions(changes, "delete")).toEqual([]);
    expect(actions(changes, "create")).toContain("cloudflare:record:x-test.example.com:A");
  });
});

describe("Cloudflare DNS (stand-in API): records plinth did not create", () => {
  test("foreign records in the same zones are never changed or deleted", async () => {
    cf.addRecord("example.com", { name: "www.example.com", type: "CNAME", content: "example.com" });
    cf.addRecord("example.com", { name: "example.com", type: "MX", content: "mx.example.net" });
    cf.addRecord("example.com", { name: "x-staging.example.com", type: "TXT", content: "verify=1" });
    cf.addRecord("example.org", {
      name: "old-staging.example.org",
      type: "A",
      content: "203.0.113.10",
      comment: "was managed by hand for staging",
    });
    const foreign = structuredClone([...cf.records.values()]);
    await converge(staging());
    const smaller = staging(
      exampleWith((raw) => {
        const env = raw.environments.staging;
        if (env) env.features = { ...env.features, observability: false };
      }),
    );
    await converge(smaller);
    for (const record of foreign) expect(cf.records.get(record.id)).toEqual(record);
    const touched = new Set(cf.mutations().map((m) => m.path.split("/").pop()));
    for (const record of foreign) expect(touched.has(record.id)).toBe(false);
  });

  test("a foreign record on a desired name is a conflict naming it; nothing is written", async () => {
    cf.addRecord("example.com", { name: "x-staging.example.com", type: "A", content: "198.51.100.7" });
    cf.addRecord("example.org", {
      name: "kapi-staging.example.org",
      type: "CNAME",
      content: "elsewhere.example.net",
    });
    const err = await userError(planDns(staging(), provider(), ctx("staging")));
    expect(err.diagnostics).toHaveLength(2);
    expect(err.message).toContain(
      "DNS record A x-staging.example.com -> 198.51.100.7 (zone example.com) already exists and was not created by plinth",
    );
    expect(err.message).toContain("kapi-staging.example.org -> elsewhere.example.net");
    expect(err.diagnostics[1]?.path).toBe("environments.staging.domainPrefix");
    expect(err.diagnostics[1]?.fix).toMatch(/delete or rename that record in Cloudflare.*adopts it/);
    expect(cf.mutations()).toEqual([]);
  });

  test("a record another environment or project owns is a conflict, never adopted or pruned", async () => {
    cf.addRecord("example.com", {
      name: "x-staging.example.com",
      type: "A",
      content: "203.0.113.10",
      proxied: true,
      comment: "managed by plinth/0.1.0 project=acme env=prod",
    });
    cf.addRecord("example.org", {
      name: "stale-staging.example.org",
      type: "A",
      content: "203.0.113.10",
      comment: "managed by plinth/0.1.0 project=other env=staging",
    });
    const err = await userError(planDns(staging(), provider(), ctx("staging")));
    expect(err.message).toContain("belongs to plinth project acme, environment prod");
    expect(err.diagnostics).toHaveLength(1);
    expect(cf.mutations()).toEqual([]);
  });

  test("an identical foreign record is adopted: only its comment changes", async () => {
    const existing = cf.addRecord("example.org", {
      name: "kcloud-staging.example.org",
      type: "A",
      content: "203.0.113.10",
      proxied: true,
      comment: "made by hand",
    });
    const changes = await planDns(staging(), provider(), ctx("staging"));
    const adopt = changes.find((c) => c.action === "adopt");
    expect(adopt).toMatchObject({
      id: "cloudflare:record:kcloud-staging.example.org:A",
      diff: [
        {
          path: "comment",
          before: "made by hand",
          after: "managed by plinth/0.1.0 project=acme env=staging",
        },
      ],
    });
    await applyDns(changes, provider(), ctx("staging"));
    expect(cf.records.get(existing.id)).toMatchObject({
      content: "203.0.113.10",
      comment: "managed by plinth/0.1.0 project=acme env=staging",
    });
    expect((await planDns(staging(), provider(), ctx("staging"))).every((c) => c.action === "no-op")).toBe(
      true,
    );
  });

  test("apply refuses a record changed by hand since the plan, and names it", async () => {
    await converge(staging());
    const env = structuredClone(staging());
    const frontend = env.hosts.frontend;
    if (frontend) frontend.proxied = false;
    const changes = await planDns(env, provider(), ctx("staging"));
    const record = cf.find("x-staging.example.com");
    if (record)
      cf.records.set(record.id, { ...record, content: "198.51.100.1", modified_on: "2026-02-01T00:00:00Z" });
    cf.clearLog();
    const err = await userError(applyDns(changes, provider(), ctx("staging")));
    expect(err.message).toContain("A record x-staging.example.com was changed in Cloudflare since the plan");
    expect(err.diagnostics[0]?.fix).toContain("run plan again");
    expect(cf.mutations()).toEqual([]);
  });
});

describe("Cloudflare DNS (stand-in API): pagination and rate limits", () => {
  test("zones with more records than one page: every page is read, an owned record on the last is pruned", async () => {
    await cf.stop();
    cf = await new CloudflareStandin({ maxPerPage: 20 }).start();
    cf.addZone("example.com");
    cf.addZone("example.org");
    token = cf.token("edit");
    for (let i = 0; i < 65; i++) {
      const n = String(i).padStart(2, "0");
      cf.addRecord("example.org", { name: `host-${n}.example.org`, type: "A", content: "192.0.2.1" });
    }
    cf.addRecord("example.org", {
      name: "zz-retired-staging.example.org",
      type: "A",
      content: "203.0.113.10",
      comment: "managed by plinth/0.1.0 project=acme env=staging",
    });
    // Asks for 500 a page; the server caps it at 20, so 76 records are 4 pages.
    const changes = await planDns(staging(), provider(token), ctx("staging"));
    expect(actions(changes, "delete")).toEqual(["cloudflare:record:zz-retired-staging.example.org:A"]);
    const pages = cf.requests
      .filter((r) => r.method === "GET" && r.path.endsWith("/dns_records"))
      .map((r) => r.query.page);
    expect(pages).toEqual(["1", "1", "2", "3", "4"]);
    await applyDns(changes, provider(token), ctx("staging"));
    expect(cf.records.size).toBe(65 + 12);
  });

  test("429 with retry-after and a 503 are retried with backoff and still converge", async () => {
    cf.inject(2, 429, "1");
    cf.inject(1, 503);
    const started = Date.now();
    await converge(staging());
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(cf.requests.filter((r) => r.status === 429)).toHaveLength(2);
    expect(cf.requests.filter((r) => r.status === 503)).toHaveLength(1);
    expect(cf.records.size).toBe(12);
    cf.inject(1, 429, "1");
    expect((await planDns(staging(), provider(), ctx("staging"))).every((c) => c.action === "no-op")).toBe(
      true,
    );
  });

  test("a rate limit asking for a longer wait than plinth allows fails at once, naming the wait", async () => {
    cf.inject(1, 429, "3600");
    const started = Date.now();
    const err = await userError(planDns(staging(), provider(), ctx("staging")));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.message).toContain("rate limit");
    expect(err.message).toContain("3600");
    expect(cf.mutations()).toEqual([]);
  });
});

describe("Cloudflare DNS (stand-in API): bad input", () => {
  test("a zone that is not in the account: named, with its account and the config path; nothing written", async () => {
    await cf.stop();
    cf = await new CloudflareStandin().start();
    cf.addZone("example.com", { id: "acc1", name: "Acme Corp" });
    token = cf.token("edit");
    const err = await userError(planDns(staging(), provider(), ctx("staging")));
    expect(err.diagnostics).toEqual([
      {
        severity: "error",
        path: "environments.staging.internalDomain",
        message: "zone example.org is not in the Cloudflare account of this API token (account Acme Corp)",
        fix: "add example.org to that Cloudflare account (or give the token access to it), or correct baseDomain/internalDomain",
      },
    ]);
    expect(cf.mutations()).toEqual([]);
  });

  test("a token without DNS edit permission: refused before the first write, naming Zone.DNS:Edit", async () => {
    const readOnly = cf.token("read");
    const err = await userError(planDns(staging(), provider(readOnly), ctx("staging")));
    expect(err.diagnostics.map((d) => d.message)).toEqual([
      "the API token may not edit DNS records in zone example.com",
      "the API token may not edit DNS records in zone example.org",
    ]);
    expect(err.diagnostics[0]?.fix).toContain("Zone.DNS:Edit");

    // A read-only plan (a pull request's) works; apply of it refuses before writing anything.
    const changes = await planDns(staging(), provider(readOnly), ctx("staging"), { access: "read" });
    expect(changes).toHaveLength(12);
    const applyErr = await userError(applyDns(changes, provider(readOnly), ctx("staging")));
    expect(applyErr.message).toContain("Zone.DNS:Edit");
    expect(cf.mutations()).toEqual([]);
    expect(cf.records.size).toBe(0);
  });

  test("when Cloudflare does not report permissions, the first refused write stops the run with the same fix", async () => {
    await cf.stop();
    cf = await new CloudflareStandin({ reportPermissions: false }).start();
    cf.addZone("example.com");
    cf.addZone("example.org");
    const readOnly = cf.token("read");
    const changes = await planDns(staging(), provider(readOnly), ctx("staging"));
    const err = await userError(applyDns(changes, provider(readOnly), ctx("staging")));
    expect(err.message).toContain("the API token may not edit DNS records in zone example.org");
    expect(err.message).toContain("code 10000: Authentication error");
    expect(err.diagnostics[0]?.fix).toContain("Zone.DNS:Edit");
    expect(cf.mutations()).toHaveLength(1);
    expect(cf.records.size).toBe(0);
  });

  test("an invalid token: a clear message without the token, nothing written", async () => {
    const bogus = "Zx9bogusTokenValue1234567890abcdefABCDEF";
    const err = await userError(planDns(staging(), provider(bogus), ctx("staging")));
    expect(err.message).toContain(
      "Cloudflare rejected the API token as invalid (code 9109: Invalid access token)",
    );
    expect(err.diagnostics[0]?.fix).toContain("Zone.Zone:Read and Zone.DNS:Edit");
    expect(err.message).not.toContain(bogus);
    expect(JSON.stringify(err.diagnostics)).not.toContain(bogus);
    expect(cf.mutations()).toEqual([]);
  });

  test("no token at all: names CLOUDFLARE_API_TOKEN and sends no request", async () => {
    const err = await userError(planDns(staging(), tokenless(), ctx("staging")));
    expect(err.message).toContain("CLOUDFLARE_API_TOKEN is not set");
    expect(cf.requests).toEqual([]);
  });

  test("ci and dev need no Cloudflare at all", async () => {
    for (const name of ["ci", "dev"]) {
      expect(await planDns(resolve(exampleConfig(), name), tokenless(), ctx(name))).toEqual([]);
    }
    expect(cf.requests).toEqual([]);
  });
});
