/**
 * Smoke tests of the test bed's OpenBao: a real `bao server -dev` (KV v2 round trip) whose
 * kubernetes auth method does a real TokenReview against the test bed's API server.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient } from "../../testbed/kube/client.js";
import { testbedEnv } from "./env.js";

const id = `${process.pid}-${randomBytes(3).toString("hex")}`;

async function bao<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = testbedEnv("VAULT_TOKEN"),
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${testbedEnv("VAULT_ADDR")}/v1/${path}`, {
    method,
    headers: { ...(token ? { "x-vault-token": token } : {}), "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

describe("openbao", () => {
  it("reports itself initialized, unsealed and active", async () => {
    const health = await bao<{ initialized: boolean; sealed: boolean; version: string }>("GET", "sys/health");
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ initialized: true, sealed: false });
    expect(health.body.version).toMatch(/^2\.6\.1/);
  });

  it("writes and reads a KV v2 secret, with versions and check-and-set", async () => {
    const path = `secret/data/smoke-${id}`;
    const first = await bao<{ data: { version: number } }>("POST", path, { data: { password: "one" } });
    expect(first.status).toBe(200);
    expect(first.body.data.version).toBe(1);
    const second = await bao<{ data: { version: number } }>("POST", path, {
      options: { cas: 1 },
      data: { password: "two" },
    });
    expect(second.body.data.version).toBe(2);
    // A writer holding version 1 loses: KV v2 check-and-set is what makes concurrent writers safe.
    const stale = await bao("POST", path, { options: { cas: 1 }, data: { password: "three" } });
    expect(stale.status).toBe(400);
    const read = await bao<{ data: { data: Record<string, string>; metadata: { version: number } } }>(
      "GET",
      path,
    );
    expect(read.body.data.data).toEqual({ password: "two" });
    expect(read.body.data.metadata.version).toBe(2);
    const old = await bao<{ data: { data: Record<string, string> } }>("GET", `${path}?version=1`);
    expect(old.body.data.data).toEqual({ password: "one" });
    expect((await bao("GET", path, undefined, null)).status).toBe(403);
  });
});

/** Needs the Kubernetes half of the test bed (testbed/services/kube.ts and its KUBECONFIG). */
describe("openbao kubernetes auth against the test API server", () => {
  const ns = `bao-smoke-${id}`;
  const mount = `k8s-${id}`;
  const binding = `bao-smoke-${id}-tokenreview`;
  let kube: KubeClient;
  let server: string;
  let caPem: string;

  const tokenFor = (sa: string): Promise<string> => kube.serviceAccountToken(ns, sa);
  const serviceAccount = (name: string) =>
    kube.apply(`/api/v1/namespaces/${ns}/serviceaccounts/${name}`, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace: ns },
    });
  const login = (jwt: string) =>
    bao<{ auth?: { client_token: string; metadata: Record<string, string> }; errors?: string[] }>(
      "POST",
      `auth/${mount}/login`,
      { role: "app", jwt },
      null,
    );

  beforeAll(async () => {
    kube = KubeClient.fromKubeconfig(testbedEnv("KUBECONFIG"));
    server = kube.creds.server;
    caPem = kube.creds.ca.toString("utf8");
    await kube.apply(`/api/v1/namespaces/${ns}`, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns },
    });
    for (const name of ["bao-reviewer", "app", "intruder"]) await serviceAccount(name);
    // OpenBao calls TokenReview with the reviewer's token: it needs system:auth-delegator.
    await kube.apply(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${binding}`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: binding },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "system:auth-delegator",
      },
      subjects: [{ kind: "ServiceAccount", name: "bao-reviewer", namespace: ns }],
    });
    expect((await bao("POST", `sys/auth/${mount}`, { type: "kubernetes" })).status).toBe(204);
    const config = await bao("POST", `auth/${mount}/config`, {
      kubernetes_host: server,
      kubernetes_ca_cert: caPem,
      token_reviewer_jwt: await tokenFor("bao-reviewer"),
      disable_local_ca_jwt: true,
    });
    expect(config.status).toBe(204);
    const role = await bao("POST", `auth/${mount}/role/app`, {
      bound_service_account_names: ["app"],
      bound_service_account_namespaces: [ns],
      token_policies: ["default"],
      token_ttl: "5m",
    });
    expect(role.status).toBe(204);
  });

  afterAll(async () => {
    await bao("DELETE", `sys/auth/${mount}`).catch(() => undefined);
    if (!kube) return;
    await kube.request("DELETE", `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${binding}`);
    await kube.request("DELETE", `/api/v1/namespaces/${ns}`);
  });

  it("logs in with a service-account token that the API server reviews", async () => {
    const result = await login(await tokenFor("app"));
    expect(result.body.errors).toBeUndefined();
    expect(result.status).toBe(200);
    expect(result.body.auth?.metadata).toMatchObject({
      service_account_name: "app",
      service_account_namespace: ns,
    });
    const self = await bao<{ data: { policies: string[] } }>(
      "GET",
      "auth/token/lookup-self",
      undefined,
      result.body.auth?.client_token ?? "",
    );
    expect(self.body.data.policies).toContain("default");
  });

  it("refuses another service account's token and a forged one", async () => {
    expect((await login(await tokenFor("intruder"))).status).toBe(403);
    const forged = `${(await tokenFor("app")).slice(0, -4)}AAAA`;
    expect((await login(forged)).status).toBeGreaterThanOrEqual(400);
  });

  it("refuses a once-valid token after its service account is deleted (the TokenReview is live)", async () => {
    const jwt = await tokenFor("app");
    expect((await login(jwt)).status).toBe(200);
    await kube.call("DELETE", `/api/v1/namespaces/${ns}/serviceaccounts/app`);
    let status = 0;
    // The API server caches a successful token review for 10s, so the refusal can take that long.
    for (let i = 0; i < 100 && status !== 403; i++) {
      status = (await login(jwt)).status;
      if (status !== 403) await sleep(200);
    }
    expect(status).toBe(403);
  });
});
