/**
 * How plan reads a KV secret, against the test bed's real OpenBao: the current version comes with
 * its custom metadata, so a secret that is there costs one read (a converged plan), and the
 * metadata is read alone only where there is no current version. What the plan decides from them
 * is unchanged: no-op, keys to add, adopt (no plinth mark), another environment's secret refused,
 * and a deleted current version planned as a create at the version the metadata holds. Its own
 * KV v2 mount, removed after.
 */

import { randomBytes } from "node:crypto";
import dc from "node:diagnostics_channel";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LAYOUT } from "../../src/catalog/vault-layout.js";
import { resolve } from "../../src/model/resolve.js";
import { VaultClient } from "../../src/providers/vault/client.js";
import { VaultProvider } from "../../src/providers/vault/provider.js";
import type { VaultResource } from "../../src/providers/vault/spec.js";
import { exampleConfig } from "../helpers/config.js";
import { testbedEnv } from "../testbed/env.js";

const MOUNT = `kvplan${randomBytes(3).toString("hex")}`;
const client = new VaultClient({ address: testbedEnv("VAULT_ADDR"), token: testbedEnv("VAULT_TOKEN") });
const env = resolve(exampleConfig(), "staging");
const provider = new VaultProvider({ client, env, layout: DEFAULT_LAYOUT });
const ctx = { env: "staging", tooling: "plinth/test" };

/** The mount's requests as OpenBao is asked them (method and path, in order). */
const asked: string[] = [];
const onRequest = ({ request }: { request: { method: string; path: string } }) => {
  if (request.path.startsWith(`/v1/${MOUNT}/`)) asked.push(`${request.method} ${request.path}`);
};

function desired(path: string): VaultResource {
  return {
    provider: "vault",
    id: `vault:kv:${MOUNT}/${path}`,
    component: "redis",
    spec: {
      kind: "kv",
      mount: MOUNT,
      path,
      secret: {
        name: "redis-auth",
        namespace: "data",
        keys: { password: { length: 32, alphabet: "alphanumeric" }, extra: { length: 8, alphabet: "hex" } },
        consumers: ["redis"],
      },
    },
  } as VaultResource;
}

async function write(
  path: string,
  data: Record<string, string>,
  custom?: Record<string, string>,
): Promise<void> {
  await client.call("POST", `${MOUNT}/data/${path}`, { data });
  if (custom) await client.call("POST", `${MOUNT}/metadata/${path}`, { custom_metadata: custom });
}

async function planOf(path: string) {
  asked.length = 0;
  const [change] = await provider.plan([desired(path)], ctx);
  return { change, asked: [...asked] };
}

const ours = { "managed-by": "plinth", env: "staging" };

describe("plan of a KV secret: one read when it is there (test bed OpenBao)", () => {
  beforeAll(async () => {
    dc.subscribe("http.client.request.start", onRequest as never);
    await client.call("POST", `sys/mounts/${MOUNT}`, { type: "kv", options: { version: "2" } });
  });

  afterAll(async () => {
    dc.unsubscribe("http.client.request.start", onRequest as never);
    await client.call("DELETE", `sys/mounts/${MOUNT}`);
  });

  it("a converged secret is a no-op at its current version, from one read of its data", async () => {
    await write("ok", { password: "p", extra: "e" }, ours);
    await write("ok", { password: "p", extra: "e" });
    const { change, asked: reads } = await planOf("ok");
    expect(change?.action).toBe("no-op");
    expect(change?.liveVersion).toBe("2");
    expect(reads).toEqual([`GET /v1/${MOUNT}/data/ok`]);
  });

  it("a missing key is an update naming it (never its value)", async () => {
    await write("partial", { password: "p" }, ours);
    const { change } = await planOf("partial");
    expect(change?.action).toBe("update");
    expect(change?.diff).toEqual([{ path: "data.extra", after: "(generated)", secret: true }]);
  });

  it("a secret without plinth's mark is adopted", async () => {
    await write("foreign", { password: "p", extra: "e" });
    const { change } = await planOf("foreign");
    expect(change?.action).toBe("adopt");
    expect(change?.diff).toEqual([{ path: "custom_metadata.managed-by", after: "plinth" }]);
  });

  it("another environment's secret is refused, naming it", async () => {
    await write("other", { password: "p", extra: "e" }, { "managed-by": "plinth", env: "prod" });
    await expect(planOf("other")).rejects.toThrow(/belongs to environment "prod", not "staging"/);
  });

  it("a deleted current version: its metadata is read, and the secret is created at the version it holds", async () => {
    await write("gone", { password: "p", extra: "e" }, ours);
    await write("gone", { password: "q", extra: "e" });
    await client.call("DELETE", `${MOUNT}/data/gone`);
    const { change, asked: reads } = await planOf("gone");
    expect(change?.action).toBe("create");
    expect(change?.liveVersion).toBe("2");
    expect(reads).toEqual([`GET /v1/${MOUNT}/data/gone`, `GET /v1/${MOUNT}/metadata/gone`]);
  });

  it("a secret never written: create, with no version", async () => {
    const { change } = await planOf("never");
    expect(change?.action).toBe("create");
    expect(change?.liveVersion).toBeUndefined();
  });
});
