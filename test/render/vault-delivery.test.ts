/**
 * Delivery of Vault-held secrets into workloads (issue 5, item 5): where an environment has Vault,
 * the Vault Secrets Operator writes each component's Secret from KV, under the name, type and keys
 * the charts already read; elsewhere plinth writes the Secrets itself, as before.
 */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/catalog/types.js";
import {
  DEFAULT_LAYOUT,
  roleName,
  secretEntries,
  serviceAccountName,
} from "../../src/catalog/vault-layout.js";
import type { Config } from "../../src/config/schema.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import { type DesiredComponent, desiredComponents } from "../../src/plan/desired.js";
import { desiredVault } from "../../src/providers/vault/resources.js";
import { fromEnvironment } from "../../src/secrets/environment.js";
import { exampleConfig, exampleWith } from "../helpers/config.js";

const VSO_GROUP = "secrets.hashicorp.com/v1beta1";

interface StaticSecretSpec {
  vaultAuthRef: string;
  mount: string;
  type: string;
  path: string;
  destination: { name: string; create: boolean; type: string; transformation: { excludeRaw: boolean } };
}
interface AuthSpec {
  vaultConnectionRef: string;
  method: string;
  mount: string;
  kubernetes: { role: string; serviceAccount: string };
}

function desired(env: string, config: Config = exampleConfig()): DesiredComponent[] {
  const r = resolve(config, env);
  return desiredComponents(r, buildGraph(r));
}

const objects = (d: DesiredComponent[]) => d.flatMap((c) => c.objects);
const ofKind = (d: DesiredComponent[], kind: string) => objects(d).filter((o) => o.kind === kind);
const key = (o: { namespace?: string; name: string }) => `${o.namespace}/${o.name}`;
const staticSecrets = (d: DesiredComponent[]) =>
  ofKind(d, "VaultStaticSecret") as (KubeObject & { spec: StaticSecretSpec })[];

/** The example with staging's Vault turned off: what plinth would generate itself there. */
const stagingWithoutVault = () =>
  exampleWith((c) => {
    const staging = c.environments.staging as { features?: Record<string, boolean> };
    staging.features = { ...staging.features, vault: false };
  });

describe("Vault Secrets Operator delivery in the rendered objects", () => {
  it("a rotated secret restarts the workloads that read it: the consumers' Deployments in its namespace", () => {
    const byName = new Map(staticSecrets(desired("staging")).map((s) => [s.metadata.name, s]));
    const targets = (name: string) =>
      (byName.get(name)?.spec as { rolloutRestartTargets?: { kind: string; name: string }[] } | undefined)
        ?.rolloutRestartTargets;
    // OpenPanel's Deployments are plinth's own objects; Kubero's comes from its chart (health check).
    expect(targets("openpanel-env")).toEqual([
      { kind: "Deployment", name: "openpanel-api" },
      { kind: "Deployment", name: "openpanel-dashboard" },
      { kind: "Deployment", name: "openpanel-worker" },
    ]);
    expect(targets("kubero-secrets")).toEqual([{ kind: "Deployment", name: "kubero" }]);
    // Operator-managed databases watch their own Secrets: nothing to restart.
    expect(targets("postgres-app")).toBeUndefined();
  });

  it("staging installs the operator right after Vault, pinned, with one connection to Vault's Service", () => {
    const d = desired("staging");
    const ids = d.map((c) => c.id);
    expect(ids.indexOf("vault-secrets-operator")).toBe(ids.indexOf("vault") + 1);
    const vso = d.find((c) => c.id === "vault-secrets-operator");
    expect(vso?.phase).toBe("0");
    const chart = vso?.objects.find((o) => o.kind === "HelmChart");
    expect(chart?.spec).toMatchObject({
      repo: "https://helm.releases.hashicorp.com",
      chart: "vault-secrets-operator",
      version: "1.4.1",
      targetNamespace: "vault-secrets-operator",
    });
    const connection = vso?.objects.find((o) => o.kind === "VaultConnection");
    expect(connection?.apiVersion).toBe(VSO_GROUP);
    expect(connection?.spec).toMatchObject({ address: "http://vault.platform.svc:8200" });
    const openbao = desired(
      "staging",
      exampleWith((c) => {
        c.defaults = { ...c.defaults, vault: { engine: "openbao" } };
      }),
    );
    expect(ofKind(openbao, "VaultConnection")[0]?.spec).toMatchObject({
      address: "http://vault-openbao.platform.svc:8200",
    });
  });

  it("each consumed secret has a VaultStaticSecret at its own path, logging in as its component's role", () => {
    const r = resolve(exampleConfig(), "staging");
    const d = desiredComponents(r, buildGraph(r));
    const entries = secretEntries(r);
    const roles = desiredVault(r, DEFAULT_LAYOUT).flatMap((v) => (v.spec.kind === "role" ? [v.spec] : []));
    const policies = desiredVault(r, DEFAULT_LAYOUT).flatMap((v) =>
      v.spec.kind === "policy" ? [v.spec] : [],
    );
    const delivered = staticSecrets(d);
    expect(delivered.map((o) => key(o.metadata)).sort()).toEqual([
      "data/arangodb-jwt",
      "data/arangodb-root",
      "data/clickhouse-users",
      "data/postgres-app",
      "data/redis-auth",
      "kubero/kubero-secrets",
      "observability/openpanel-env",
      "observability/openpanel-owner",
      "observability/signoz-clickhouse",
      "observability/signoz-owner",
      "sso/oauth2-proxy-cookie",
    ]);
    for (const vss of delivered) {
      const component = vss.metadata.labels?.["plinth.dev/component"] as string;
      const entry = entries.find(
        (e) => e.spec.name === vss.metadata.name && e.spec.namespace === vss.metadata.namespace,
      );
      expect(entry?.component).toBe(component);
      const role = roleName("staging", component);
      // rolloutRestartTargets: the test above.
      const { rolloutRestartTargets: _, ...spec } = vss.spec as StaticSecretSpec & {
        rolloutRestartTargets?: unknown;
      };
      expect(spec).toEqual({
        vaultAuthRef: role,
        mount: DEFAULT_LAYOUT.mount,
        type: "kv-v2",
        path: `staging/${component}/${vss.metadata.name}`,
        refreshAfter: "1m",
        destination: {
          name: vss.metadata.name,
          create: true,
          type: entry?.spec.type ?? "Opaque",
          labels: { "plinth.dev/component": component, "plinth.dev/environment": "staging" },
          transformation: { excludeRaw: true },
        },
      });
      expect(entry?.path).toBe(vss.spec.path);
      // The VaultAuth it names, in its own namespace, logs in as a role the Vault provider creates,
      // bound to a ServiceAccount plinth creates there, with a policy that reads this path.
      const auth = ofKind(d, "VaultAuth").find(
        (a) => a.metadata.name === role && a.metadata.namespace === vss.metadata.namespace,
      ) as (KubeObject & { spec: AuthSpec }) | undefined;
      expect(auth?.spec).toEqual({
        vaultConnectionRef: "vault-secrets-operator/vault",
        method: "kubernetes",
        mount: DEFAULT_LAYOUT.authPath,
        kubernetes: { role, serviceAccount: serviceAccountName("staging", component) },
      });
      const account = ofKind(d, "ServiceAccount").find(
        (a) =>
          a.metadata.name === auth?.spec.kubernetes.serviceAccount &&
          a.metadata.namespace === vss.metadata.namespace,
      );
      expect(account, `ServiceAccount for ${key(vss.metadata)}`).toBeDefined();
      const bound = roles.find((x) => x.name === role);
      expect(bound?.serviceAccounts).toEqual([auth?.spec.kubernetes.serviceAccount]);
      expect(bound?.namespaces).toContain(vss.metadata.namespace);
      expect(policies.find((p) => p.name === role)?.policy).toContain(
        `path "${DEFAULT_LAYOUT.mount}/data/${vss.spec.path}"`,
      );
    }
  });

  it("staging's Secrets keep the names, types and keys plinth would write, so chart values do not change", () => {
    const withVault = desired("staging");
    const without = desired("staging", stagingWithoutVault());
    const r = resolve(exampleConfig(), "staging");
    const entries = secretEntries(r);
    // The ClickHouse operator's login is one per cluster and stays plinth's (see the next test); a
    // Secret read from the operator's variables (the SSO client secret) never goes into Vault.
    const generated = without
      .filter((c) => c.phase !== "0")
      .flatMap((c) => c.secrets)
      .filter((s) => s.name !== "clickhouse-operator-credentials" && !fromEnvironment(s))
      .map((s) => ({ at: key(s), type: s.type ?? "Opaque", keys: Object.keys(s.keys).sort() }));
    const delivered = staticSecrets(withVault).map((o) => ({
      at: key(o.metadata),
      type: o.spec.destination.type,
      keys: Object.keys(entries.find((e) => e.path === o.spec.path)?.spec.keys ?? {}).sort(),
    }));
    const byPlace = (a: { at: string }, b: { at: string }) => a.at.localeCompare(b.at);
    expect(delivered.sort(byPlace)).toEqual(generated.sort(byPlace));
    // Every object the charts and operators read is the same with and without Vault.
    const consumerObjects = (d: DesiredComponent[]) =>
      d
        .filter((c) => c.phase !== "0")
        .flatMap((c) => c.objects)
        // Namespaces are attributed to their first user, which moves when phase 0 grows.
        .filter(
          (o) =>
            !o.apiVersion.startsWith("secrets.hashicorp.com/") &&
            !["ServiceAccount", "Namespace"].includes(o.kind),
        );
    expect(consumerObjects(withVault)).toEqual(consumerObjects(without));
  });

  it("staging: plinth still writes phase 0's Secrets (Vault is not up yet), the cluster's one operator login and the SSO client secret (from the operator's variable), no other", () => {
    const d = desired("staging");
    const written = d.flatMap((c) => c.secrets.map((s) => ({ phase: c.phase, at: `${c.id} ${key(s)}` })));
    expect(written.map((w) => w.at)).toEqual(
      expect.arrayContaining([
        "platform-postgres platform/platform-postgres-vault",
        "vault platform/vault-storage",
      ]),
    );
    // One Secret for every environment of the cluster: through Vault each would deliver its own value.
    expect(written.filter((w) => w.phase !== "0")).toEqual([
      { phase: "1", at: "sso sso/oauth2-proxy-client" },
      { phase: "2", at: "clickhouse clickhouse-operator/clickhouse-operator-credentials" },
    ]);
  });

  it("dev has no Vault objects and keeps the Secrets plinth writes itself", () => {
    const d = desired("dev");
    expect(d.map((c) => c.id)).not.toContain("vault-secrets-operator");
    expect(objects(d).filter((o) => o.apiVersion.startsWith("secrets.hashicorp.com/"))).toEqual([]);
    expect(ofKind(d, "ServiceAccount")).toEqual([]);
    expect(d.flatMap((c) => c.secrets.map(key))).toEqual(
      expect.arrayContaining(["data/redis-auth", "data/postgres-app", "kubero/kubero-secrets"]),
    );
  });

  it("staging and prod never share a path, a role or a ServiceAccount", () => {
    const of = (env: string) => {
      const d = desired(env);
      return {
        paths: staticSecrets(d).map((o) => o.spec.path),
        roles: ofKind(d, "VaultAuth").map((o) => (o.spec as AuthSpec).kubernetes.role),
        accounts: ofKind(d, "ServiceAccount").map((o) => o.metadata.name),
      };
    };
    const staging = of("staging");
    const prod = of("prod");
    for (const [name, s] of [
      ["staging", staging],
      ["prod", prod],
    ] as const) {
      expect(s.paths.length).toBeGreaterThan(0);
      for (const p of s.paths) expect(p.startsWith(`${name}/`)).toBe(true);
    }
    expect(staging.paths.filter((p) => prod.paths.includes(p))).toEqual([]);
    expect(staging.roles.filter((r) => prod.roles.includes(r))).toEqual([]);
    expect(staging.accounts.filter((a) => prod.accounts.includes(a))).toEqual([]);
  });
});
