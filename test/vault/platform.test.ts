/**
 * Issue 5, Vault inside `plan` and `apply`, on real (non-dev) OpenBao 2.6.1 servers started with
 * the chart's own server config: the audit device declared there, the phase-0 copy of the
 * platform PostgreSQL secret, plinth's own scoped token, the database secrets engine against the
 * test bed's PostgreSQL, and static-key auto-unseal surviving a restart. Every output and event
 * these tests produce is scanned for generated values at the end.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineEvent } from "../../src/apply/events.js";
import { execute } from "../../src/apply/executor.js";
import { vaultAfterReady } from "../../src/apply/vault.js";
import { UNSEAL_KEY_SECRET, vault, vaultConfig } from "../../src/catalog/components/vault.js";
import type { CommandContext } from "../../src/cli/command.js";
import { formatPlan } from "../../src/cli/commands/plan.js";
import type { Session } from "../../src/cli/session.js";
import { vaultAccess } from "../../src/cli/vault-access.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolveEnvironment } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { finishPlan, type Plan, planComponent } from "../../src/plan/plan.js";
import { vaultMovedSince, withVault } from "../../src/plan/vault.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { KubernetesProvider } from "../../src/providers/kubernetes/provider.js";
import { CONNECTION } from "../../src/providers/vault/database.js";
import {
  auditDeviceHcl,
  convergeVault,
  DEFAULT_LAYOUT,
  MANAGER_POLICY,
  rotateSecret,
  secretEntries,
  unsealFilePath,
  VaultClient,
} from "../../src/providers/vault/index.js";
import { readUnsealFile } from "../../src/providers/vault/unseal-file.js";
import { generateValue } from "../../src/secrets/generate.js";
import { KubeClient } from "../../testbed/kube/client.js";
import { exampleWith, tempDir } from "../helpers/config.js";
import { psql as runSql } from "../helpers/psql.js";
import { testbedEnv } from "../testbed/env.js";
import { type BaoServer, startBao } from "./server.js";

const id = randomBytes(3).toString("hex");
const ENV = `vt${id}`;
const PASSPHRASE = `plinth platform test ${id}`;
const tooling = "plinth/test";

const produced: string[] = [];
const record = <T>(x: T): T => {
  produced.push(typeof x === "string" ? x : JSON.stringify(x));
  return x;
};

function resolve(vaultSettings: { engine?: "openbao" | "vault"; unseal?: "static" | "shamir" }) {
  const config = exampleWith((raw) => {
    raw.clusters = { bed: { type: "existing", kubeconfig: testbedEnv("KUBECONFIG") } };
    raw.environments = {
      [ENV]: {
        kind: "staging",
        cluster: "bed",
        domainPrefix: ENV,
        features: { observability: true },
        vault: vaultSettings,
      },
    };
  });
  return resolveEnvironment(config, ENV);
}

/** The audit (and seal) stanzas of the chart's server config: what the pod runs with. */
const stanzas = (env: ResolvedEnvironment) => {
  const config = vaultConfig(env);
  return config.slice(config.indexOf('audit "file"'));
};

let env: ResolvedEnvironment;
let bao: BaoServer;
let project: string;
let kube: KubernetesProvider;
let session: Session;
/** Phase 0's Kubernetes Secrets, as the cluster holds them before Vault exists. */
const phaseZero = new Map<string, Record<string, string>>();

function ctxEnv(): CommandContext {
  return {
    cwd: project,
    env: {
      VAULT_ADDR: bao.address,
      PLINTH_VAULT_PASSPHRASE: PASSPHRASE,
      PLINTH_VAULT_KUBE_HOST: kubeClient.creds.server,
      PLINTH_VAULT_KUBE_CA_FILE: join(project, "ca.pem"),
    },
    stdout: () => {},
    stderr: () => {},
  } as unknown as CommandContext;
}
let kubeClient: KubeClient;
const access = () => vaultAccess({ values: {}, positionals: [] } as never, ctxEnv(), env, project);
const unsealFile = () => unsealFilePath(project, "bed");
const material = () =>
  readUnsealFile(unsealFile(), { passphrase: PASSPHRASE, cluster: "bed", address: bao.address });
const asRoot = async () => new VaultClient({ address: bao.address, token: (await material()).rootToken });

/** A session whose cluster reads (phase 0's Secrets) come from `phaseZero`. */
function sessionFor(e: ResolvedEnvironment): Session {
  const read = async (ref: { kind: string; namespace?: string; name: string }) => {
    const values = ref.kind === "Secret" ? phaseZero.get(`${ref.namespace}/${ref.name}`) : undefined;
    if (!values) return undefined;
    const data = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
    );
    return { apiVersion: "v1", kind: "Secret", metadata: { name: ref.name, namespace: ref.namespace }, data };
  };
  return {
    env: e,
    pctx: { env: e.name, tooling },
    kube: { read } as unknown as KubernetesProvider,
    loaded: { file: join(project, "plinth.config.ts") },
  } as unknown as Session;
}

/** A live plan of the vault component alone, as planFor builds it (`helm`: its chart is being created). */
function vaultOnlyPlan(e: ResolvedEnvironment, helm: boolean): Plan {
  const node = buildGraph(e)
    .phases.flatMap((p) => p.components)
    .find((c) => c.id === "vault");
  if (!node) throw new Error("no vault node");
  const changes = helm
    ? [{ action: "create" as const, provider: "kubernetes" as const, kind: "HelmChart", name: "vault" }]
    : [];
  return finishPlan({
    env: e.name,
    cluster: e.cluster.name,
    offline: false,
    phases: [{ id: "0", components: [planComponent(node, changes)] }],
  });
}

beforeAll(async () => {
  const resolved = resolve({ engine: "openbao" });
  expect(resolved.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  env = resolved.environment as ResolvedEnvironment;
  kubeClient = KubeClient.fromKubeconfig(testbedEnv("KUBECONFIG"));
  kube = new KubernetesProvider({ api: (await connect({ kubeconfig: testbedEnv("KUBECONFIG") })).api });
  project = tempDir("plinth-vault-platform-");
  writeFileSync(join(project, "ca.pem"), kubeClient.creds.ca);
  bao = await startBao({ stanzas: stanzas(env) });
  session = sessionFor(env);
  for (const e of secretEntries(env).filter(
    (x) => x.component === "platform-postgres" || x.component === "vault",
  )) {
    phaseZero.set(
      `${e.spec.namespace}/${e.spec.name}`,
      Object.fromEntries(
        Object.entries(e.spec.keys).map(([k, rule]) => [
          k,
          rule.template
            ? `postgresql://vault:${randomBytes(18).toString("base64url")}@platform-postgres-rw:5432/vault`
            : generateValue(rule),
        ]),
      ),
    );
  }
});

afterAll(async () => {
  await bao?.stop();
  await kubeClient?.request("DELETE", `/api/v1/namespaces/kube-system/configmaps/plinth-applyset-${ENV}`);
});

describe("Vault in plan and apply (issue 5)", () => {
  it("the chart's OpenBao config declares the audit device (to stdout); a real server started with it has it", async () => {
    const config = vaultConfig(env);
    expect(config).toContain(auditDeviceHcl(DEFAULT_LAYOUT.auditPath, "stdout").trimEnd());
    // Vault (HashiCorp) has no declarative audit devices: plinth creates them through its API there.
    expect(vaultConfig({ ...env, vaultEngine: "vault" })).not.toContain("audit");
    const values = JSON.stringify(vault.objects(env));
    expect(values).toContain("sealedcode=204&uninitcode=204");
  });

  it("plan on a Vault that is not initialized says apply will initialize it, and changes nothing", async () => {
    const plan = record(await withVault(vaultOnlyPlan(env, true), session, access()));
    const changes = plan.phases[0]?.components[0]?.changes ?? [];
    expect(changes.map((c) => [c.action, c.kind])).toEqual([
      ["create", "HelmChart"],
      ["create", "VaultServer"],
    ]);
    expect(record(formatPlan(plan))).toMatch(
      /\+ VaultServer http:\/\/127\.0\.0\.1:\d+ {2}\(not initialized: apply initializes it/,
    );
    expect((await fetch(`${bao.address}/v1/sys/health`)).status).toBe(501);
  });

  it("apply runs Vault's lifecycle and convergence once the vault component is ready, as change events", async () => {
    const events: EngineEvent[] = [];
    const plan = await withVault(vaultOnlyPlan(env, false), session, access());
    const result = await execute(plan, {
      desired: desiredComponents(env, buildGraph(env)),
      kube,
      ctx: { env: ENV, tooling },
      env,
      onEvent: (e) => events.push(record(e)),
      afterReady: { vault: vaultAfterReady(session, access()) },
    });
    const changed = events.filter((e) => e.type === "change").map((e) => (e.type === "change" ? e.kind : ""));
    expect(changed).toEqual(
      expect.arrayContaining([
        "VaultServer",
        "VaultToken",
        "VaultMount",
        "VaultPolicy",
        "VaultSecret",
        "VaultDatabaseRole",
      ]),
    );
    expect(result.changes).toBe(changed.length);
    expect(events.at(-1)).toMatchObject({ type: "done", outcome: "applied" });
    expect((await fetch(`${bao.address}/v1/sys/health`)).status).toBe(200);
    // The audit device is the one the server config declared: listed, and planned as declared.
    const audit = await (await asRoot()).call<{
      data: Record<string, { type: string; options: { file_path: string } }>;
    }>("GET", "sys/audit");
    expect(audit.data["plinth/"]).toMatchObject({ type: "file", options: { file_path: "stdout" } });

    const again = record(await withVault(vaultOnlyPlan(env, false), session, access()));
    const vaultChanges = again.phases[0]?.components[0]?.changes ?? [];
    expect(vaultChanges.filter((c) => c.action !== "no-op")).toEqual([]);
    expect(vaultChanges.find((c) => c.kind === "VaultAudit")?.detail).toMatch(
      /declared in the server config/,
    );
    expect(again.summary).toMatchObject({ create: 0, update: 0, adopt: 0, delete: 0 });

    const skipped: EngineEvent[] = [];
    await execute(again, {
      desired: desiredComponents(env, buildGraph(env)),
      kube,
      ctx: { env: ENV, tooling },
      env,
      onEvent: (e) => skipped.push(record(e)),
      noWait: true,
      afterReady: { vault: vaultAfterReady(session, access()) },
    });
    expect(skipped).toContainEqual(
      expect.objectContaining({ status: "ready", detail: expect.stringMatching(/--no-wait/) }),
    );
  });

  it("phase 0's platform PostgreSQL secret is copied into Vault once, and Vault stays the source", async () => {
    const root = await asRoot();
    const path = `secret/data/${ENV}/platform-postgres/platform-postgres-vault`;
    const key = "platform/platform-postgres-vault";
    const original = phaseZero.get(key) as Record<string, string>;
    expect((await root.read<{ data: { data: Record<string, string> } }>(path))?.data.data).toEqual(original);
    // A later change of the Kubernetes Secret never overwrites Vault's copy, and nothing regenerates it.
    phaseZero.set(key, { ...original, password: generateValue({ length: 32, alphabet: "alphanumeric" }) });
    const run2 = record(await convergeVault({ ...options(), apply: true }));
    expect(run2.changes.every((c) => c.action === "no-op")).toBe(true);
    expect((await root.read<{ data: { data: Record<string, string> } }>(path))?.data.data).toEqual(original);
    phaseZero.set(key, original);
    // Not there yet (Vault came up before phase 0 was applied): a clear error, nothing generated.
    await root.call("DELETE", `secret/metadata/${ENV}/platform-postgres/platform-postgres-vault`);
    phaseZero.delete(key);
    const failure = await convergeVault({ ...options(), apply: true }).then(
      () => "no error",
      (e: Error) => record(e.message),
    );
    expect(failure).toMatch(
      /copied from the Kubernetes Secret platform\/platform-postgres-vault, which does not exist.*--phase 0/,
    );
    expect(await root.read(path)).toBeUndefined();
    phaseZero.set(key, original);
    await convergeVault({ ...options(), apply: true });
    expect((await root.read<{ data: { data: Record<string, string> } }>(path))?.data.data).toEqual(original);
  });

  it("after bootstrap plinth uses its own scoped token, which cannot reach anything outside its policy", async () => {
    const m = await material();
    expect(m.token).toBeTruthy();
    expect(m.rootToken).toBeTruthy();
    const own = new VaultClient({ address: bao.address, token: m.token as string });
    const look = await own.call<{ data: { policies: string[]; period: number; last_renewal_time?: number } }>(
      "GET",
      "auth/token/lookup-self",
    );
    expect(look.data.policies.sort()).toEqual(["default", MANAGER_POLICY]);
    expect(look.data.period).toBeGreaterThan(0);
    // A later run renews (so uses) that token and makes no new one.
    await new Promise((r) => setTimeout(r, 1100));
    const later = await convergeVault({ ...options(), apply: true });
    expect(later.tokenChange).toBeUndefined();
    expect((await material()).token).toBe(m.token);
    const after = await own.call<{ data: { last_renewal_time?: number } }>("GET", "auth/token/lookup-self");
    expect(after.data.last_renewal_time ?? 0).toBeGreaterThan(look.data.last_renewal_time ?? 0);

    const root = await asRoot();
    await root.call("POST", "sys/mounts/other", { type: "kv", options: { version: "2" } });
    await root.call("POST", "other/data/x", { data: { v: "not plinth's" } });
    const status = async (method: string, path: string, body?: unknown) =>
      (await own.request(method, path, body)).status;
    expect(await status("GET", "other/data/x")).toBe(403);
    expect(await status("GET", "sys/raw/core/keyring")).toBe(403);
    expect(
      await status("PUT", `sys/policies/acl/${MANAGER_POLICY}`, {
        policy: 'path "*" { capabilities = ["sudo"] }',
      }),
    ).toBe(403);
    expect(await status("POST", "auth/token/create", { policies: ["root"] })).toBe(403);
    expect(await status("PUT", "sys/seal")).toBe(403);
    expect(await status("POST", "sys/mounts/elsewhere", { type: "kv" })).toBe(403);

    // Lost (revoked) token: the next run makes a new one with the root token from the file.
    await root.call("POST", "auth/token/revoke", { token: m.token });
    const renewed = await convergeVault({ ...options(), apply: true });
    expect(renewed.tokenChange).toBe("update");
    expect((await material()).token).not.toBe(m.token);
  });

  it("a saved plan's Vault changes are carried out only if Vault has not moved since", async () => {
    const root = await asRoot();
    const saved = await withVault(vaultOnlyPlan(env, false), session, access());
    expect(saved.phases[0]?.components[0]?.changes.filter((c) => c.action !== "no-op")).toEqual([]);
    expect(await vaultMovedSince(saved, session, access())).toEqual([]);

    // Someone removes a policy plinth owns: the saved plan (nothing to do) no longer holds.
    const policy = (await root.list("sys/policies/acl")).find((p) => p.startsWith(`plinth-${ENV}-`));
    if (!policy) throw new Error("plinth's policies exist after the first apply");
    await root.call("DELETE", `sys/policies/acl/${policy}`);
    expect(await vaultMovedSince(saved, session, access())).toEqual([
      `VaultPolicy ${policy}: planned no change, now create (policy)`,
    ]);

    // A plan made now holds until Vault moves again (here: converged by another run).
    const fresh = await withVault(vaultOnlyPlan(env, false), session, access());
    expect(await vaultMovedSince(fresh, session, access())).toEqual([]);
    await convergeVault({ ...options(), apply: true });
    expect(await vaultMovedSince(fresh, session, access())).toEqual([
      `VaultPolicy ${policy}: planned create (policy), now no change`,
    ]);
  });

  it("database secrets engine per environment: readonly creds can SELECT and not INSERT, readwrite can INSERT; a rotated owner password reaches the connection", async () => {
    const db = `vt_${id}`;
    const url = new URL(testbedEnv("DATABASE_URL"));
    const psql = (sql: string, user?: { name: string; password: string }, database = db) =>
      runSql(sql, { ...(user ? { user: user.name, password: user.password } : {}), database });
    const target = { host: url.hostname, port: Number(url.port), database: db, sslmode: "disable" as const };
    const root = await asRoot();
    const first = record(await convergeVault({ ...options(), database: target, apply: true }));
    // The connection moved to the test bed's server (and the roles' grants to its database).
    expect(first.changes.filter((c) => c.action !== "no-op").map((c) => [c.action, c.kind, c.name])).toEqual([
      ["update", "VaultDatabaseConnection", `database/${ENV}/config/postgres`],
      ["update", "VaultDatabaseRole", `database/${ENV}/roles/readonly`],
      ["update", "VaultDatabaseRole", `database/${ENV}/roles/readwrite`],
    ]);
    const connection = first.changes.find((c) => c.kind === "VaultDatabaseConnection");
    expect(connection?.diff.map((d) => d.path)).toEqual(["connection_url"]);
    // The owner as CloudNativePG would create it, with the password plinth generated into KV.
    const owner = (
      await root.read<{ data: { data: { username: string; password: string } } }>(
        `secret/data/${ENV}/postgres/postgres-app`,
      )
    )?.data.data as { username: string; password: string };
    const existing = await psql(
      `select count(*) from pg_roles where rolname = '${owner.username}'`,
      undefined,
      url.pathname.slice(1),
    );
    await psql(
      `${existing === "0" ? "CREATE" : "ALTER"} ROLE ${owner.username} LOGIN CREATEROLE PASSWORD '${owner.password}'`,
      undefined,
      url.pathname.slice(1),
    );
    await psql(`CREATE DATABASE ${db} OWNER ${owner.username}`, undefined, url.pathname.slice(1));
    try {
      await psql("CREATE TABLE items (id int primary key, name text); INSERT INTO items VALUES (1, 'one')", {
        name: owner.username,
        password: owner.password,
      });
      const creds = async (role: string) => {
        const r = await root.call<{ data: { username: string; password: string } }>(
          "GET",
          `database/${ENV}/creds/${role}`,
        );
        return { name: r.data.username, password: r.data.password };
      };
      const ro = await creds("readonly");
      expect(await psql("SELECT name FROM items WHERE id = 1", ro)).toBe("one");
      await expect(psql("INSERT INTO items VALUES (2, 'two')", ro)).rejects.toThrow(/permission denied/);
      const rw = await creds("readwrite");
      await psql("INSERT INTO items VALUES (2, 'two')", rw);
      expect(await psql("SELECT count(*) FROM items", ro)).toBe("2");

      // prune: a role plinth does not want in its mount goes; the engine converges to no changes.
      await root.call("POST", `database/${ENV}/roles/stray`, {
        db_name: "postgres",
        creation_statements: ["SELECT 1"],
      });
      const planned = await convergeVault({ ...options(), database: target, apply: false });
      expect(
        planned.changes.filter((c) => c.action !== "no-op").map((c) => [c.action, c.kind, c.name]),
      ).toEqual([["delete", "VaultDatabaseRole", `database/${ENV}/roles/stray`]]);
      await convergeVault({ ...options(), database: target, apply: true });
      expect(await root.read(`database/${ENV}/roles/stray`)).toBeUndefined();

      // Rotating the owner's password: the role gets it (here the test does what CloudNativePG
      // does with the synced Secret), and Vault's connection, which still logs in with the old
      // one, fails once it reconnects, until plinth hands it the new version.
      const ownerPath = `${ENV}/postgres/postgres-app`;
      const [rotated] = record(
        await rotateSecret({
          client: root,
          env,
          layout: DEFAULT_LAYOUT,
          component: "postgres",
          key: "password",
          ctx: { env: ENV, tooling },
        }),
      );
      const newPassword = (
        await root.read<{ data: { data: { password: string } } }>(`secret/data/${ownerPath}`)
      )?.data.data.password as string;
      await psql(`ALTER ROLE ${owner.username} PASSWORD '${newPassword}'`, undefined, url.pathname.slice(1));
      await root.call("POST", `database/${ENV}/reset/${CONNECTION}`).catch(() => undefined);
      await expect(creds("readonly")).rejects.toThrow(/password authentication failed/);
      const moved = record(await convergeVault({ ...options(), database: target, apply: false }));
      const update = moved.changes.filter((c) => c.action !== "no-op");
      expect(update.map((c) => [c.action, c.kind, c.name])).toEqual([
        ["update", "VaultDatabaseConnection", `database/${ENV}/config/postgres`],
      ]);
      expect(update[0]?.diff).toEqual([
        {
          path: "password",
          before: `version ${rotated?.fromVersion} of secret/${ownerPath}`,
          after: `version ${rotated?.toVersion} of secret/${ownerPath}`,
        },
      ]);
      await convergeVault({ ...options(), database: target, apply: true });
      const afterRotation = await creds("readonly");
      expect(await psql("SELECT count(*) FROM items", afterRotation)).toBe("2");
      const settled = await convergeVault({ ...options(), database: target, apply: false });
      expect(settled.changes.filter((c) => c.action !== "no-op")).toEqual([]);
      // Revoking the leases drops the users Vault made.
      await root.call("PUT", `sys/leases/revoke-prefix/database/${ENV}/creds`);
      expect(await psql(`select count(*) from pg_roles where rolname in ('${ro.name}', '${rw.name}')`)).toBe(
        "0",
      );
    } finally {
      await psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`, undefined, url.pathname.slice(1));
      if (existing === "0")
        await psql(`DROP ROLE IF EXISTS ${owner.username}`, undefined, url.pathname.slice(1));
    }
  });

  it("static-key auto-unseal: config switch, key generated into a Secret, the server unseals itself after a restart", async () => {
    const wrong = resolve({ unseal: "static" });
    expect(wrong.diagnostics.map((d) => `${d.path}: ${d.message} (${d.fix})`)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `environments\\.${ENV}\\.vault\\.unseal: static-key auto-unseal is an OpenBao feature.*engine to "openbao"`,
        ),
      ),
    );
    const staticEnv = resolve({ engine: "openbao", unseal: "static" }).environment as ResolvedEnvironment;
    const keySpec = vault.secrets(staticEnv).find((s) => s.name === UNSEAL_KEY_SECRET);
    expect(keySpec?.keys.key).toEqual({ length: 64, alphabet: "hex" });
    // The key never goes into the Vault it unseals.
    expect(secretEntries(staticEnv).some((e) => e.spec.name === UNSEAL_KEY_SECRET)).toBe(false);
    const values = JSON.stringify(vault.objects(staticEnv));
    expect(values).toContain(
      `envName: BAO_STATIC_UNSEAL_KEY\\n      secretKey: key\\n      secretName: ${UNSEAL_KEY_SECRET}`,
    );
    expect(vaultConfig(staticEnv)).toMatch(
      /seal "static" \{\n {2}current_key_id = "plinth-1"\n {2}current_key = "env:\/\/BAO_STATIC_UNSEAL_KEY"\n\}/,
    );

    const key = generateValue(keySpec?.keys.key as { length: number; alphabet: "hex" });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const sealed = await startBao({ stanzas: stanzas(staticEnv), env: { BAO_STATIC_UNSEAL_KEY: key } });
    const dir = tempDir("plinth-vault-static-");
    const converge = () =>
      convergeVault({
        client: new VaultClient({ address: sealed.address }),
        env: staticEnv,
        ctx: { env: ENV, tooling },
        lifecycle: { cluster: "bed", unsealFile: unsealFilePath(dir, "bed"), passphrase: PASSPHRASE },
        kubernetes: {
          host: kubeClient.creds.server,
          caCert: kubeClient.creds.ca.toString("utf8"),
          useLocalToken: false,
        },
        kubeSecret: async (ns, name) => phaseZero.get(`${ns}/${name}`),
        apply: true,
      });
    try {
      const result = record(await converge());
      expect(result.lifecycle).toMatchObject({ before: "uninitialized", after: "active", initialized: true });
      const m = await readUnsealFile(unsealFilePath(dir, "bed"), {
        passphrase: PASSPHRASE,
        cluster: "bed",
        address: sealed.address,
      });
      expect(m.recovery).toBe(true);
      expect(m.keys).toHaveLength(5);
      await sealed.restart();
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await fetch(`${sealed.address}/v1/sys/health`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
      // Unsealed by itself: plinth finds it active and changes nothing.
      const next = await converge();
      expect(next.lifecycle).toMatchObject({ before: "active", unsealed: false });
      expect(next.changes.every((c) => c.action === "no-op")).toBe(true);
    } finally {
      await sealed.stop();
    }
  });

  it("no generated value appears in any plan, event, error or the server's log (its audit log included)", async () => {
    const root = await asRoot();
    const values = new Set<string>();
    for (const e of secretEntries(env)) {
      const r = await root.read<{ data: { data: Record<string, string> } }>(`secret/data/${e.path}`);
      for (const [k, v] of Object.entries(r?.data.data ?? {}))
        if (!e.spec.keys[k]?.fixed && v.length >= 16) values.add(v);
    }
    expect(values.size).toBeGreaterThan(10);
    const { readFileSync } = await import("node:fs");
    const log = readFileSync(bao.serverLog, "utf8");
    expect(log).toContain('"type":"request"');
    const leaks = [...values].filter((v) => [...produced, log].some((t) => t.includes(v)));
    expect(leaks).toEqual([]);
  });
});

function options() {
  const a = access();
  return {
    client: a.client,
    env,
    ctx: { env: ENV, tooling },
    lifecycle: a.lifecycle,
    kubernetes: a.kubernetes,
    kubeSecret: async (ns: string, name: string) => phaseZero.get(`${ns}/${name}`),
  };
}
