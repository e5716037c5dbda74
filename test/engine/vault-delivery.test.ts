/**
 * Delivery of Vault-held secrets on the test bed's API server: applying an environment with Vault
 * creates the Vault Secrets Operator's objects (VaultConnection, VaultAuth, VaultStaticSecret, on
 * stand-in CRDs: see bed.ts) and the ServiceAccounts the Vault roles are bound to, and plinth does
 * not write the Secrets the operator delivers. The operator itself does not run here, so nothing
 * writes them at all: their absence is exactly plinth's doing.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roleName, serviceAccountName } from "../../src/catalog/vault-layout.js";
import type { Plan } from "../../src/plan/plan.js";
import { ensureStandInCrds, kubeconfig, kubectl, kubectlJson, plinth, project } from "./bed.js";

const ENV = "vsod";
const DATA = `data-${ENV}`;
const OBSERVABILITY = `observability-${ENV}`;
let dir: string;

interface Listed {
  items: {
    kind: string;
    metadata: { name: string; namespace: string };
    spec?: Record<string, unknown>;
    automountServiceAccountToken?: boolean;
  }[];
}

function config(): string {
  return `import { defineConfig } from "plinth";

export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig())} } },
  environments: {
    ${ENV}: {
      kind: "staging",
      cluster: "bed",
      domainPrefix: "x-${ENV}",
      features: { observability: true },
      // Kubero's operator manifest is fetched from GitHub at apply time, unreachable here.
      components: { kubero: { enabled: false } },
    },
    // A second environment on the cluster gives "${ENV}" its own namespaces.
    "${ENV}-peer": { kind: "ci", cluster: "bed" },
  },
});
`;
}

const at = (i: Listed["items"][number]) => `${i.metadata.namespace}/${i.metadata.name}`;

describe.sequential("Vault Secrets Operator delivery on the test bed", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = project();
    writeFileSync(join(dir, "plinth.config.ts"), config());
    await ensureStandInCrds();
    // Start from nothing this environment owns, whatever an earlier run left.
    await plinth(["unlock", ENV], dir);
    await plinth(["destroy", ENV, "--yes", "--delete-data"], dir);
  });

  afterAll(async () => {
    if (dir) await plinth(["destroy", ENV, "--yes", "--delete-data"], dir);
  });

  it("apply creates the operator's objects and the ServiceAccounts the Vault roles are bound to", async () => {
    const r = await plinth(["apply", ENV, "--yes", "--no-wait"], dir);
    expect(r.code, r.stderr).toBe(0);
    const live = await kubectlJson<Listed>(
      "get",
      "vaultconnections.secrets.hashicorp.com,vaultauths.secrets.hashicorp.com,vaultstaticsecrets.secrets.hashicorp.com,serviceaccounts",
      "-A",
      "-l",
      `plinth.dev/environment=${ENV}`,
    );
    const byKind = (kind: string) => live.items.filter((i) => i.kind === kind);
    expect(byKind("VaultConnection").map(at)).toEqual(["vault-secrets-operator/vault"]);
    expect(byKind("VaultStaticSecret").map(at).sort()).toEqual([
      `${DATA}/arangodb-jwt`,
      `${DATA}/arangodb-root`,
      `${DATA}/clickhouse-users`,
      `${DATA}/postgres-app`,
      `${DATA}/redis-auth`,
      `${OBSERVABILITY}/openpanel-env`,
      `${OBSERVABILITY}/openpanel-owner`,
      `${OBSERVABILITY}/signoz-clickhouse`,
      `${OBSERVABILITY}/signoz-owner`,
    ]);
    const redis = byKind("VaultStaticSecret").find((i) => at(i) === `${DATA}/redis-auth`);
    expect(redis?.spec).toMatchObject({
      vaultAuthRef: roleName(ENV, "redis"),
      mount: "secret",
      type: "kv-v2",
      path: `${ENV}/redis/redis-auth`,
      destination: { name: "redis-auth", create: true },
    });
    // Each VaultStaticSecret's VaultAuth sits beside it, with a ServiceAccount of the role's name.
    for (const vss of byKind("VaultStaticSecret")) {
      const ref = (vss.spec as { vaultAuthRef: string }).vaultAuthRef;
      const auth = byKind("VaultAuth").find(
        (a) => a.metadata.namespace === vss.metadata.namespace && a.metadata.name === ref,
      );
      const k8s = (auth?.spec as { kubernetes?: { role: string; serviceAccount: string } } | undefined)
        ?.kubernetes;
      expect(k8s?.role, at(vss)).toBe(ref);
      const component = ref.slice(`plinth-${ENV}-`.length);
      expect(k8s?.serviceAccount).toBe(serviceAccountName(ENV, component));
      const account = byKind("ServiceAccount").find(
        (a) => a.metadata.namespace === vss.metadata.namespace && a.metadata.name === k8s?.serviceAccount,
      );
      expect(account?.automountServiceAccountToken, `ServiceAccount for ${at(vss)}`).toBe(false);
    }
  });

  it("plinth writes no Secret the operator delivers; phase 0's and the cluster's ClickHouse operator login are still its own", async () => {
    const names = async (ns: string) =>
      (await kubectlJson<Listed>("get", "secrets", "-n", ns)).items.map((s) => s.metadata.name);
    for (const name of ["redis-auth", "postgres-app", "arangodb-root", "arangodb-jwt", "clickhouse-users"]) {
      expect(await names(DATA)).not.toContain(name);
    }
    expect(await names(OBSERVABILITY)).not.toContain("openpanel-env");
    const plan = await plinth(["plan", ENV, "--json"], dir);
    expect(plan.code, plan.stderr).toBe(0);
    const parsed = JSON.parse(plan.stdout) as Plan;
    const secrets = parsed.phases.flatMap((p) =>
      p.components.flatMap((c) =>
        c.changes
          .filter((ch) => ch.kind === "Secret")
          .map((ch) => ({ phase: p.id, at: `${ch.namespace}/${ch.name}` })),
      ),
    );
    expect(secrets.map((s) => s.at)).toEqual(
      expect.arrayContaining(["platform/platform-postgres-vault", "platform/vault-storage"]),
    );
    // One per cluster, for every environment on it: never delivered from one environment's Vault.
    expect(secrets.filter((s) => s.phase !== "0")).toEqual([
      { phase: "2", at: "clickhouse-operator/clickhouse-operator-credentials" },
    ]);
    await expect(
      kubectl("get", "secret", "platform-postgres-vault", "-n", "platform", "-o", "name"),
    ).resolves.toContain("platform-postgres-vault");
  });

  it("a second plan changes nothing", async () => {
    const plan = JSON.parse((await plinth(["plan", ENV, "--json"], dir)).stdout) as Plan;
    const pending = plan.phases.flatMap((p) =>
      p.components.flatMap((c) =>
        c.changes.filter((ch) => ch.action !== "no-op").map((ch) => `${ch.kind} ${ch.name}`),
      ),
    );
    expect(pending).toEqual([]);
  });
});
