/**
 * Issue 5 on the test bed: a real (non-dev) OpenBao initialized, unsealed and configured by
 * plinth, generated secrets under per-environment paths, kubernetes auth with a real TokenReview
 * against the test bed's API server, sealing and lost unseal material, rotation, the CLI, and a
 * scan of everything these tests produced for any generated value.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountName } from "../../src/catalog/vault-layout.js";
import { run } from "../../src/cli/main.js";
import type { Config } from "../../src/config/schema.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { resolveEnvironment } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import {
  type ConvergeResult,
  convergeVault,
  DEFAULT_LAYOUT,
  rotateSecret,
  secretEntries,
  unsealFilePath,
  VaultClient,
} from "../../src/providers/vault/index.js";
import { readUnsealFile } from "../../src/providers/vault/unseal-file.js";
import { KubeClient } from "../../testbed/kube/client.js";
import { exampleWith, tempDir } from "../helpers/config.js";
import { testbedEnv } from "../testbed/env.js";
import { type BaoServer, startBao } from "./server.js";

const id = randomBytes(3).toString("hex");
const PASSPHRASE = `correct horse battery ${id}`;
const reviewerNs = `plinth-vault-${id}`;
const binding = `plinth-vault-${id}-tokenreview`;
const tooling = "plinth/test";

/** Everything these tests print, throw or write: scanned for generated values at the end. */
const produced: string[] = [];
const record = <T>(x: T): T => {
  produced.push(typeof x === "string" ? x : JSON.stringify(x));
  return x;
};

let bao: BaoServer;
let kube: KubeClient;
let project: string;
let config: Config;
let staging: ResolvedEnvironment;
let prod: ResolvedEnvironment;
let reviewerJwt: string;
const createdNamespaces: string[] = [];

function configSource(kubeconfig: string): string {
  return `import { defineConfig } from "plinth";
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig)} } },
  environments: {
    staging: { cluster: "bed", domainPrefix: "x-staging", features: { observability: true } },
    prod: { cluster: "bed", domainPrefix: "", features: { observability: true } },
  },
});
`;
}

const unsealFile = () => unsealFilePath(project, "bed");
const client = (token?: string) => new VaultClient({ address: bao.address, ...(token ? { token } : {}) });
const rootToken = async () =>
  (await readUnsealFile(unsealFile(), { passphrase: PASSPHRASE, cluster: "bed", address: bao.address }))
    .rootToken as string;

/** Phase 0's Kubernetes Secrets as the cluster would hold them before Vault exists. */
const phaseZero = new Map<string, Record<string, string>>();
const kubeSecret = async (namespace: string, name: string) => {
  const key = `${namespace}/${name}`;
  if (!phaseZero.has(key)) {
    const password = randomBytes(24).toString("base64url");
    phaseZero.set(
      key,
      name === "vault-storage"
        ? { connection_url: `postgresql://vault:${password}@platform-postgres-rw.platform.svc:5432/vault` }
        : { username: "vault", password },
    );
  }
  return phaseZero.get(key);
};

async function converge(env: ResolvedEnvironment, o: { apply?: boolean; passphrase?: string } = {}) {
  const result = await convergeVault({
    client: client(),
    env,
    ctx: { env: env.name, tooling },
    lifecycle: {
      cluster: "bed",
      unsealFile: unsealFile(),
      shares: 5,
      threshold: 3,
      ...(o.passphrase === "" ? {} : { passphrase: o.passphrase ?? PASSPHRASE }),
    },
    kubernetes: { host: kube.creds.server, caCert: kube.creds.ca.toString("utf8"), useLocalToken: false },
    reviewerJwt,
    kubeSecret,
    apply: o.apply ?? true,
  });
  return record(result);
}

/** Long enough to be a generated value, and not a fixed one (a user name is no secret). */
const isGenerated = (v: string) =>
  v.length >= 16 &&
  ![staging, prod].some((env) =>
    secretEntries(env).some((e) => Object.values(e.spec.keys).some((k) => k.fixed === v)),
  );

/** Every value of every version of every secret of an environment, by `path#version`. */
async function snapshot(env: ResolvedEnvironment): Promise<Map<string, Record<string, string>>> {
  const c = client(await rootToken());
  const out = new Map<string, Record<string, string>>();
  for (const e of secretEntries(env)) {
    const meta = await c.read<{ data: { current_version: number } }>(`secret/metadata/${e.path}`);
    for (let v = 1; v <= (meta?.data.current_version ?? 0); v++) {
      const r = await c.read<{ data: { data: Record<string, string> } }>(
        `secret/data/${e.path}?version=${v}`,
      );
      if (r) out.set(`${e.path}#${v}`, r.data.data);
    }
  }
  return out;
}

const current = (snap: Map<string, Record<string, string>>) => {
  const latest = new Map<string, { version: number; data: Record<string, string> }>();
  for (const [key, data] of snap) {
    const [path, v] = key.split("#") as [string, string];
    if ((latest.get(path)?.version ?? 0) < Number(v)) latest.set(path, { version: Number(v), data });
  }
  return latest;
};

async function cli(args: string[], extraEnv: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    cwd: project,
    env: {
      PATH: process.env.PATH,
      VAULT_ADDR: bao.address,
      PLINTH_VAULT_PASSPHRASE: PASSPHRASE,
      ...extraEnv,
    },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}

const tokenFor = (ns: string, sa: string): Promise<string> => kube.serviceAccountToken(ns, sa);

async function ensureNamespace(ns: string) {
  const existing = await kube.request("GET", `/api/v1/namespaces/${ns}`);
  if (existing.status === 404) createdNamespaces.push(ns);
  await kube.apply(`/api/v1/namespaces/${ns}`, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: ns },
  });
}

const serviceAccount = (ns: string, name: string) =>
  kube.apply(`/api/v1/namespaces/${ns}/serviceaccounts/${name}`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace: ns },
  });

beforeAll(async () => {
  kube = KubeClient.fromKubeconfig(testbedEnv("KUBECONFIG"));
  bao = await startBao();
  project = tempDir("plinth-vault-project-");
  writeFileSync(join(project, "plinth.config.ts"), configSource(testbedEnv("KUBECONFIG")));
  config = exampleWith((raw) => {
    // The same environments as the CLI project's config (configSource), which has no login.
    if (raw.defaults) delete raw.defaults.sso;
    raw.clusters = { bed: { type: "existing", kubeconfig: testbedEnv("KUBECONFIG") } };
    raw.environments = {
      staging: { cluster: "bed", domainPrefix: "x-staging", features: { observability: true } },
      prod: { cluster: "bed", domainPrefix: "", features: { observability: true } },
    };
  });
  staging = resolveEnvironment(config, "staging").environment as ResolvedEnvironment;
  prod = resolveEnvironment(config, "prod").environment as ResolvedEnvironment;
  // Vault runs outside this cluster: it reviews tokens with its own service account's token.
  await ensureNamespace(reviewerNs);
  await serviceAccount(reviewerNs, "vault-reviewer");
  await kube.apply(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${binding}`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: binding },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
    subjects: [{ kind: "ServiceAccount", name: "vault-reviewer", namespace: reviewerNs }],
  });
  reviewerJwt = await tokenFor(reviewerNs, "vault-reviewer");
  for (const env of [staging, prod]) {
    await ensureNamespace(env.namespaces.data);
    for (const c of ["redis", "postgres"])
      await serviceAccount(env.namespaces.data, serviceAccountName(env.name, c));
  }
});

afterAll(async () => {
  await bao?.stop();
  if (!kube) return;
  await kube.request("DELETE", `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${binding}`);
  for (const env of [staging, prod]) {
    if (!env) continue;
    for (const c of ["redis", "postgres"])
      await kube.request(
        "DELETE",
        `/api/v1/namespaces/${env.namespaces.data}/serviceaccounts/${serviceAccountName(env.name, c)}`,
      );
  }
  for (const ns of createdNamespaces) await kube.request("DELETE", `/api/v1/namespaces/${ns}`);
});

describe("vault lifecycle, configuration and secrets (issue 5)", () => {
  let first: ConvergeResult;
  let afterFirst: Map<string, Record<string, string>>;

  it("a fresh run initializes and unseals a real OpenBao and writes every staging secret under secret/staging/<component>", async () => {
    first = await converge(staging);
    expect(first.lifecycle).toEqual({
      before: "uninitialized",
      after: "active",
      initialized: true,
      unsealed: true,
    });
    expect(existsSync(unsealFile())).toBe(true);
    expect(statSync(unsealFile()).mode & 0o777).toBe(0o600);
    const material = await readUnsealFile(unsealFile(), {
      passphrase: PASSPHRASE,
      cluster: "bed",
      address: bao.address,
    });
    expect(material.keys).toHaveLength(5);
    expect(material.threshold).toBe(3);
    const c = client(material.rootToken);
    const entries = secretEntries(staging);
    expect(entries.map((e) => e.component)).toEqual(
      expect.arrayContaining(["redis", "postgres", "kubero", "openpanel"]),
    );
    for (const e of entries) {
      expect(e.path.startsWith(`staging/${e.component}/`)).toBe(true);
      const meta = await c.read<{
        data: { custom_metadata: Record<string, string>; current_version: number };
      }>(`secret/metadata/${e.path}`);
      expect(meta?.data.current_version).toBe(1);
      expect(meta?.data.custom_metadata).toMatchObject({
        "managed-by": "plinth",
        env: "staging",
        component: e.component,
      });
      const data = await c.read<{ data: { data: Record<string, string> } }>(`secret/data/${e.path}`);
      expect(Object.keys(data?.data.data ?? {}).sort()).toEqual(Object.keys(e.spec.keys).sort());
    }
    // Templates are filled from the other generated secrets (the CSPRNG values, to each rule).
    const redis = (
      await c.read<{ data: { data: { password: string } } }>("secret/data/staging/redis/redis-auth")
    )?.data.data;
    expect(redis?.password).toMatch(/^[A-Za-z0-9]{32}$/);
    const openpanel = (
      await c.read<{ data: { data: Record<string, string> } }>("secret/data/staging/openpanel/openpanel-env")
    )?.data.data;
    expect(openpanel?.REDIS_URL).toContain(redis?.password as string);
    // Policies, the kubernetes auth method and its roles, the mount and the audit device.
    const policy = await c.read<{ data: { policy: string } }>("sys/policies/acl/plinth-staging-redis");
    expect(policy?.data.policy).toContain('path "secret/data/staging/redis/redis-auth"');
    expect(policy?.data.policy).not.toContain("prod");
    const role = await c.read<{ data: { bound_service_account_namespaces: string[] } }>(
      "auth/kubernetes/role/plinth-staging-redis",
    );
    expect(role?.data.bound_service_account_namespaces).toEqual([staging.namespaces.data]);
    const kinds = first.changes.filter((ch) => ch.action !== "no-op").map((ch) => ch.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(["VaultMount", "VaultAuth", "VaultPolicy", "VaultRole", "VaultSecret"]),
    );
    // The audit device is declared in the server config (OpenBao refuses it through the API): adopted as is.
    expect(first.changes.find((ch) => ch.kind === "VaultAudit")?.action).toBe("no-op");
  });

  it("prod in the same Vault gets its own paths and values; a second run changes nothing and keeps every value", async () => {
    const prodRun = await converge(prod);
    expect(prodRun.lifecycle).toMatchObject({ initialized: false, unsealed: false });
    afterFirst = await snapshot(staging);
    const prodValues = await snapshot(prod);
    const stagingPaths = [...afterFirst.keys()];
    const prodPaths = [...prodValues.keys()];
    expect(prodPaths.length).toBeGreaterThan(5);
    expect(prodPaths.every((p) => p.startsWith("prod/"))).toBe(true);
    expect(stagingPaths.filter((p) => prodPaths.includes(p))).toEqual([]);
    const generated = (snap: Map<string, Record<string, string>>) =>
      new Set([...snap.values()].flatMap((d) => Object.values(d)).filter(isGenerated));
    const shared = [...generated(afterFirst)].filter((v) => generated(prodValues).has(v));
    expect(shared).toEqual([]);

    for (const env of [staging, prod]) {
      const planOnly = await converge(env, { apply: false });
      expect(planOnly.changes.filter((c) => c.action !== "no-op")).toEqual([]);
      const again = await converge(env);
      expect(again.changes.every((c) => c.action === "no-op")).toBe(true);
    }
    expect(await snapshot(staging)).toEqual(afterFirst);
    expect(await snapshot(prod)).toEqual(prodValues);
  });

  it("a data-namespace service account logs in (real TokenReview) and reads its own path and nothing else", async () => {
    // As the Vault Secrets Operator does: a token of the role's own ServiceAccount, in a data namespace.
    const login = async (env: ResolvedEnvironment, component: string, role: string) =>
      client().request<{ auth?: { client_token: string } }>("POST", "auth/kubernetes/login", {
        role,
        jwt: await tokenFor(env.namespaces.data, serviceAccountName(env.name, component)),
      });
    const ok = await login(staging, "redis", "plinth-staging-redis");
    expect(ok.status).toBe(200);
    const token = ok.body.auth?.client_token as string;
    const as = client(token);
    expect((await as.request("GET", "secret/data/staging/redis/redis-auth")).status).toBe(200);
    expect((await as.request("GET", "secret/data/staging/postgres/postgres-app")).status).toBe(403);
    expect((await as.request("GET", "secret/data/prod/redis/redis-auth")).status).toBe(403);
    expect((await as.request("GET", "secret/metadata/staging?list=true")).status).toBe(403);
    expect((await as.request("GET", "sys/policies/acl/plinth-staging-redis")).status).toBe(403);
    // prod's redis cannot take staging's role, nor staging's postgres account redis's.
    expect((await login(prod, "redis", "plinth-staging-redis")).status).toBe(403);
    expect((await login(staging, "postgres", "plinth-staging-redis")).status).toBe(403);
    const prodLogin = await login(prod, "redis", "plinth-prod-redis");
    expect(prodLogin.status).toBe(200);
    const asProd = client(prodLogin.body.auth?.client_token as string);
    expect((await asProd.request("GET", "secret/data/prod/redis/redis-auth")).status).toBe(200);
    expect((await asProd.request("GET", "secret/data/staging/redis/redis-auth")).status).toBe(403);
  });

  it("prunes this environment's policies and roles that are no longer desired, and nothing it does not own", async () => {
    const c = client(await rootToken());
    const marked =
      '# managed-by=plinth env=staging component=gone\npath "secret/data/staging/gone/x" {\n  capabilities = ["read"]\n}\n';
    await c.call("PUT", "sys/policies/acl/plinth-staging-gone", { policy: marked });
    await c.call("PUT", "sys/policies/acl/plinth-staging-handmade", {
      policy: 'path "x" { capabilities = ["read"] }',
    });
    await c.call("PUT", "sys/policies/acl/plinth-prod-gone", {
      policy: marked.replace("env=staging", "env=prod"),
    });
    await c.call("POST", "auth/kubernetes/role/plinth-staging-gone", {
      bound_service_account_names: ["gone"],
      bound_service_account_namespaces: ["gone"],
      token_policies: ["plinth-staging-gone"],
    });
    const planned = await converge(staging, { apply: false });
    expect(
      planned.changes.filter((ch) => ch.action !== "no-op").map((ch) => [ch.action, ch.kind, ch.name]),
    ).toEqual([
      ["delete", "VaultPolicy", "plinth-staging-gone"],
      ["delete", "VaultRole", "kubernetes/plinth-staging-gone"],
    ]);
    await converge(staging);
    expect(await c.read("sys/policies/acl/plinth-staging-gone")).toBeUndefined();
    expect(await c.read("auth/kubernetes/role/plinth-staging-gone")).toBeUndefined();
    expect(await c.read("sys/policies/acl/plinth-staging-handmade")).toBeDefined();
    expect(await c.read("sys/policies/acl/plinth-prod-gone")).toBeDefined();
    expect((await converge(staging)).changes.every((ch) => ch.action === "no-op")).toBe(true);
  });

  it("sealing Vault and running again unseals it, changing nothing", async () => {
    await client(await rootToken()).call("PUT", "sys/seal");
    expect((await fetch(`${bao.address}/v1/sys/health`)).status).toBe(503);
    const result = await converge(staging);
    expect(result.lifecycle).toEqual({
      before: "sealed",
      after: "active",
      initialized: false,
      unsealed: true,
    });
    expect(result.changes.every((c) => c.action === "no-op")).toBe(true);
    expect(await snapshot(staging)).toEqual(afterFirst);
  });

  it("lost unseal material, a wrong passphrase or none give a clear error that says what to do", async () => {
    await client(await rootToken()).call("PUT", "sys/seal");
    const failure = async (o: { passphrase?: string } = {}) => {
      const e = await converge(staging, o).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(UserError);
      return record((e as Error).message);
    };
    expect(await failure({ passphrase: "not the passphrase at all" })).toMatch(
      /does not decrypt .*passphrase is wrong.*PLINTH_VAULT_PASSPHRASE/,
    );
    expect(await failure({ passphrase: "" })).toMatch(
      /PLINTH_VAULT_PASSPHRASE: is not set.*export PLINTH_VAULT_PASSPHRASE/,
    );
    renameSync(unsealFile(), `${unsealFile()}.away`);
    try {
      const message = await failure();
      expect(message).toContain('is sealed, and the unseal keys file for cluster "bed" does not exist');
      expect(message).toContain("restore");
      expect(message).toContain("operator unseal");
      // The same through the CLI: exit 2, no stack trace.
      const r = record(await cli(["secrets", "sync", "staging"]));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("does not exist (restore");
      expect(r.stderr).not.toContain("    at ");
    } finally {
      renameSync(`${unsealFile()}.away`, unsealFile());
    }
    expect((await converge(staging)).lifecycle.after).toBe("active");
  });

  it("rotation writes a new version of exactly one secret and keeps the old one in history", async () => {
    const before = await snapshot(staging);
    const results = record(
      await rotateSecret({
        client: client(await rootToken()),
        env: staging,
        layout: DEFAULT_LAYOUT,
        component: "redis",
        key: "password",
        ctx: { env: "staging", tooling },
      }),
    );
    // openpanel's REDIS_URL is built from the password: rebuilt, reported as derived.
    expect(results.map((r) => [r.path, r.keys, r.fromVersion, r.toVersion, r.reason])).toEqual([
      ["secret/staging/redis/redis-auth", ["password"], 1, 2, "rotated"],
      ["secret/staging/openpanel/openpanel-env", ["REDIS_URL"], 1, 2, "derived"],
    ]);
    const after = await snapshot(staging);
    const was = current(before);
    const now = current(after);
    const changed = [...now]
      .filter(([p, v]) => JSON.stringify(v.data) !== JSON.stringify(was.get(p)?.data))
      .map(([p]) => p);
    expect(changed.sort()).toEqual(["staging/openpanel/openpanel-env", "staging/redis/redis-auth"]);
    const redisOld = before.get("staging/redis/redis-auth#1")?.password as string;
    const redisNew = now.get("staging/redis/redis-auth")?.data.password as string;
    expect(redisNew).not.toBe(redisOld);
    expect(after.get("staging/redis/redis-auth#1")?.password).toBe(redisOld);
    expect(now.get("staging/openpanel/openpanel-env")?.data.REDIS_URL).toContain(redisNew);
    expect(now.get("staging/openpanel/openpanel-env")?.data.COOKIE_SECRET).toBe(
      was.get("staging/openpanel/openpanel-env")?.data.COOKIE_SECRET,
    );
    // A rotation without dependents changes exactly one secret.
    record(
      await rotateSecret({
        client: client(await rootToken()),
        env: staging,
        layout: DEFAULT_LAYOUT,
        component: "kubero",
        key: "KUBERO_SESSION_KEY",
        ctx: { env: "staging", tooling },
      }),
    );
    const third = current(await snapshot(staging));
    expect(
      [...third]
        .filter(([p, v]) => JSON.stringify(v.data) !== JSON.stringify(now.get(p)?.data))
        .map(([p]) => p),
    ).toEqual(["staging/kubero/kubero-secrets"]);
    expect(third.get("staging/kubero/kubero-secrets")?.data.KUBERO_WEBHOOK_SECRET).toBe(
      now.get("staging/kubero/kubero-secrets")?.data.KUBERO_WEBHOOK_SECRET,
    );
    // The next run keeps the rotated values.
    const again = await converge(staging);
    expect(again.changes.every((c) => c.action === "no-op")).toBe(true);
  });

  it("plinth secrets list/get/rotate/sync on the CLI: names, paths, versions and ages, a value only when asked", async () => {
    const list = record(await cli(["secrets", "list", "staging"]));
    expect(list.stderr).toBe("");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      /redis\s+redis-auth\s+secret\/staging\/redis\/redis-auth\s+2\s+\d+[smhd]\s+\d+[smhd]\s+password/,
    );
    const json = JSON.parse(record(await cli(["secrets", "list", "staging", "--json"])).stdout) as {
      path: string;
    }[];
    expect(json.every((r) => r.path.startsWith("secret/staging/"))).toBe(true);

    const get = await cli(["secrets", "get", "staging", "redis", "password"]);
    expect(get.code).toBe(0);
    const value = get.stdout.trim();
    expect(value).toBe(current(await snapshot(staging)).get("staging/redis/redis-auth")?.data.password);

    const rotate = record(await cli(["secrets", "rotate", "staging", "redis", "password"]));
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toContain("rotated secret/staging/redis/redis-auth: password (version 2 -> 3)");
    expect((await cli(["secrets", "get", "staging", "redis", "password"])).stdout.trim()).not.toBe(value);
    expect(rotate.stdout).not.toContain("database connection");
    // The database owner's password is also what Vault's own database connection logs in with.
    const owner = record(await cli(["secrets", "rotate", "staging", "postgres", "password"]));
    expect(owner.code, owner.stderr).toBe(0);
    expect(owner.stdout).toContain(
      "Vault's database connection logs in with secret/staging/postgres/postgres-app: plinth apply staging hands it the new password",
    );

    const bad = record(await cli(["secrets", "get", "staging", "redis", "nope"]));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("redis-auth/password");
    const noVault = record(await cli(["secrets", "list", "nope"]));
    expect(noVault.code).toBe(2);

    const caFile = join(project, "ca.pem");
    writeFileSync(caFile, kube.creds.ca);
    const kubeEnv = { PLINTH_VAULT_KUBE_HOST: kube.creds.server, PLINTH_VAULT_REVIEWER_JWT: reviewerJwt };
    const sync = record(
      await cli(["secrets", "sync", "staging"], { ...kubeEnv, PLINTH_VAULT_KUBE_CA_FILE: caFile }),
    );
    expect(sync.stderr).toBe("");
    // The only change: the rotated owner password handed to Vault's database connection.
    expect(sync.stdout).toMatch(
      /^update VaultDatabaseConnection database\/staging\/config\/postgres \(password\)\nstaging: \d+ no-op, 1 update\n$/,
    );
    // Vault's own refusal is the user's to fix (exit 2), not reported as a plinth bug.
    const noCa = record(await cli(["secrets", "sync", "staging", "--plan"], kubeEnv));
    expect(noCa.stdout).toContain("would update VaultAuth kubernetes (config.kubernetes_ca_cert)");
    const refused = record(await cli(["secrets", "sync", "staging"], kubeEnv));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("kubernetes_ca_cert must be given");
  });

  it("no generated value appears in any output, error, unseal file, server log or audit log of these tests", async () => {
    const values = new Set(
      [...(await snapshot(staging)).values(), ...(await snapshot(prod)).values()]
        .flatMap((d) => Object.values(d))
        .filter(isGenerated),
    );
    expect(values.size).toBeGreaterThan(20);
    const texts = [
      ...produced,
      readFileSync(unsealFile(), "utf8"),
      readFileSync(bao.serverLog, "utf8"),
      readFileSync(bao.auditLog, "utf8"),
    ];
    expect(readFileSync(bao.auditLog, "utf8").length).toBeGreaterThan(1000);
    const leaks = [...values].filter((v) => texts.some((t) => t.includes(v)));
    expect(leaks.length).toBe(0);
  });
});
