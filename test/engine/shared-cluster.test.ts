/**
 * Environments of one config on one cluster, as on a single VPS (issue 16). Objects one per cluster
 * (the operators' charts and namespaces, cert-manager's issuer and wildcard certificate, the
 * ClickHouse operator, Vault's and the dashboard's charts) are rendered from every environment of
 * the cluster, so whichever environment applies first holds them and the others leave them there:
 * every plan settles at zero changes in any order of applies. Destroying one environment hands what
 * a deployed peer still wants over to that peer (its plan stays at zero); the last destroy removes it.
 *
 * The test bed runs no cert-manager, Vault Secrets Operator or SigNoz (stand-in CRDs, --no-wait):
 * what is checked is what plinth applies and owns, not what those controllers would do with it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { Plan } from "../../src/plan/plan.js";
import { ensureStandInCrds, kubeconfig, kubectl, kubectlJson, plinth, project } from "./bed.js";

const exists = async (...args: string[]) =>
  kubectl("get", ...args, "-o", "name").then(
    () => true,
    () => false,
  );

function changesOf(plan: Plan): { action: string; id: string; detail?: string }[] {
  return plan.phases.flatMap((p) =>
    p.components.flatMap((c) =>
      c.changes.map((ch) => ({
        action: ch.action,
        id: `${ch.kind} ${ch.name}`,
        ...(ch.detail ? { detail: ch.detail } : {}),
      })),
    ),
  );
}

/** What a plan would change (no-ops aside), as `action Kind name`. */
async function pending(dir: string, env: string): Promise<string[]> {
  const r = await plinth(["plan", env, "--json"], dir);
  expect(r.code, `${env}: ${r.stderr}`).toBe(0);
  return changesOf(JSON.parse(r.stdout) as Plan)
    .filter((c) => c.action !== "no-op")
    .map((c) => `${c.action} ${c.id}`);
}

async function apply(dir: string, env: string): Promise<void> {
  const r = await plinth(["apply", env, "--yes", "--no-wait"], dir);
  expect(r.code, `apply ${env}: ${r.stderr}\n${r.stdout}`).toBe(0);
}

async function destroy(dir: string, env: string): Promise<string> {
  const r = await plinth(["destroy", env, "--yes", "--delete-data", "--confirm", env], dir);
  expect(r.code, `destroy ${env}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

function writeProject(dir: string, environments: Record<string, unknown>): void {
  writeFileSync(
    join(dir, "plinth.config.ts"),
    `import { defineConfig } from "plinth";

// Kubero is off: its operator manifest is fetched from GitHub at apply time, unreachable here.
export default defineConfig(${JSON.stringify(
      {
        project: "acme",
        clusters: { bed: { type: "existing", kubeconfig: kubeconfig() } },
        environments,
      },
      null,
      2,
    )});
`,
  );
}

describe.sequential("environments sharing a cluster", () => {
  const A = "share-a";
  const B = "share-b";
  let dir: string;

  beforeAll(async () => {
    dir = project({ env: A });
    // Traefik is k3s's own (its config one per cluster); Kubero's manifest is fetched from GitHub.
    const env = {
      kind: "ci",
      cluster: "bed",
      components: { kubero: { enabled: false }, traefik: { enabled: false } },
    };
    writeProject(dir, { [A]: env, [B]: env });
    await ensureStandInCrds();
    for (const e of [A, B]) {
      await plinth(["unlock", e], dir);
      await plinth(["destroy", e, "--yes", "--delete-data"], dir);
    }
  });

  afterAll(async () => {
    for (const e of [B, A]) await plinth(["destroy", e, "--yes", "--delete-data"], dir);
  });

  it("the second environment leaves the operators, rendered alike, to the first: both plans settle at zero", async () => {
    await apply(dir, B);
    const second = await plinth(["plan", A, "--json"], dir);
    expect(second.code, second.stderr).toBe(0);
    expect(changesOf(JSON.parse(second.stdout) as Plan)).toContainEqual({
      action: "no-op",
      id: "HelmChart cnpg-operator",
      detail: `shared: held by environment ${B} on this cluster`,
    });
    await apply(dir, A);
    for (const e of [A, B]) expect(await pending(dir, e), e).toEqual([]);
    expect(await exists("helmchart", "cnpg-operator", "-n", "kube-system")).toBe(true);
  });

  it("destroying the holder hands what the other still uses over to it: its plan stays at zero", async () => {
    const destroyed = await destroy(dir, B);
    const kept = `(kept: environment ${A} on this cluster also uses it; handed over to environment ${A})`;
    const lines = destroyed.split("\n");
    for (const shared of [
      "HelmChart kube-system/cnpg-operator",
      "Namespace cnpg-system",
      "HelmChart kube-system/redis-operator",
      "Namespace redis-operator",
    ]) {
      expect(
        lines.filter((l) => l.includes(` ${shared}`) && l.endsWith(kept)),
        shared,
      ).toHaveLength(1);
    }
    expect(lines.some((l) => l.includes(`- Namespace data-${B}`))).toBe(true);

    expect(await exists("namespace", `data-${B}`)).toBe(false);
    expect(await exists("namespace", `data-${A}`)).toBe(true);
    const chart = await kubectlJson<{ metadata: { labels: Record<string, string> } }>(
      "get",
      "helmchart",
      "cnpg-operator",
      "-n",
      "kube-system",
    );
    expect(chart.metadata.labels["plinth.dev/environment"]).toBe(A);
    expect(await pending(dir, A)).toEqual([]);
  });

  it("destroying the last one removes what they shared", async () => {
    await destroy(dir, A);
    expect(await exists("helmchart", "cnpg-operator", "-n", "kube-system")).toBe(false);
    expect(await exists("namespace", "cnpg-system")).toBe(false);
  });
});

describe.sequential("staging and prod on one cluster, with different zones", () => {
  const STG = "shz-stg";
  const PRD = "shz-prd";
  let dir: string;

  /** The pair's config; `emails` sets each environment's ACME email. */
  function writePair(emails: [string, string] = ["ops@shz.example", "ops@shz.example"]): void {
    const components = { kubero: { enabled: false } };
    writeProject(dir, {
      [STG]: {
        acmeEmail: emails[0],
        kind: "staging",
        cluster: "bed",
        baseDomain: "shz-stg.example",
        internalDomain: "shz-stg-int.example",
        domainPrefix: "x-staging",
        features: { observability: true },
        components,
      },
      [PRD]: {
        acmeEmail: emails[1],
        kind: "prod",
        cluster: "bed",
        baseDomain: "shz-prd.example",
        internalDomain: "shz-prd-int.example",
        features: { observability: true },
        components,
      },
    });
  }

  beforeAll(async () => {
    dir = project({ env: STG });
    writePair();
    await ensureStandInCrds();
    for (const e of [STG, PRD]) {
      await plinth(["unlock", e], dir);
      await plinth(["destroy", e, "--yes", "--delete-data", "--confirm", e], dir);
    }
  });

  afterAll(async () => {
    for (const e of [STG, PRD]) await plinth(["destroy", e, "--yes", "--delete-data", "--confirm", e], dir);
  });

  /** Every host of the environment is the wildcard certificate's name or one label below one. */
  async function certificateCovers(env: string): Promise<void> {
    const r = await plinth(["domains", env, "--json"], dir);
    expect(r.code, r.stderr).toBe(0);
    const hosts = Object.values(JSON.parse(r.stdout) as Record<string, string>);
    expect(hosts.length).toBeGreaterThan(3);
    const cert = await kubectlJson<{ spec: { dnsNames: string[] } }>(
      "get",
      "certificate",
      "plinth-wildcard",
      "-n",
      "kube-system",
    );
    const covered = (h: string) =>
      cert.spec.dnsNames.some(
        (n) => n === h || (n.startsWith("*.") && h.split(".").slice(1).join(".") === n.slice(2)),
      );
    expect(
      hosts.filter((h) => !covered(h)),
      `${env}: ${cert.spec.dnsNames.join(" ")}`,
    ).toEqual([]);
  }

  /**
   * Each SigNoz reads its own ClickHouse password, delivered from its own environment's Vault path
   * into its own namespace (its ClickHouse is plinth's, there, since issue 16).
   */
  async function signozValuesPerEnvironment(): Promise<void> {
    for (const env of [STG, PRD]) {
      const chart = await kubectlJson<{ spec: { valuesContent: string } }>(
        "get",
        "helmchart",
        `signoz-${env}`,
        "-n",
        "kube-system",
      );
      expect(chart.spec.valuesContent).toContain("existingSecret: signoz-clickhouse");
      const delivered = await kubectlJson<{ spec: { path: string; destination: { name: string } } }>(
        "get",
        "vaultstaticsecrets.secrets.hashicorp.com",
        "signoz-clickhouse",
        "-n",
        `observability-${env}`,
      );
      expect(delivered.spec.path).toBe(`${env}/signoz/signoz-clickhouse`);
      expect(delivered.spec.destination.name).toBe("signoz-clickhouse");
    }
  }

  it("applied staging first, then prod: both plans settle at zero, one certificate covers both", async () => {
    await apply(dir, STG);
    await apply(dir, PRD);
    expect(await pending(dir, STG)).toEqual([]);
    expect(await pending(dir, PRD)).toEqual([]);
    await certificateCovers(STG);
    await certificateCovers(PRD);
    await signozValuesPerEnvironment();
    const operator = await kubectlJson<{ spec: { valuesContent: string } }>(
      "get",
      "helmchart",
      "clickhouse-operator",
      "-n",
      "kube-system",
    );
    // Every data namespace and, since SigNoz runs on plinth's ClickHouse, every SigNoz namespace.
    expect(parse(operator.spec.valuesContent).configs.files["config.yaml"].watch.namespaces).toEqual([
      `data-${PRD}`,
      `data-${STG}`,
      `observability-${PRD}`,
      `observability-${STG}`,
    ]);
  });

  it("destroying staging leaves prod's objects in place and its plan at zero", async () => {
    await destroy(dir, STG);
    expect(await exists("clusterissuer", "plinth-letsencrypt-dns01")).toBe(true);
    expect(await exists("certificate", "plinth-wildcard", "-n", "kube-system")).toBe(true);
    expect(await exists("helmchart", "clickhouse-operator", "-n", "kube-system")).toBe(true);
    expect(await exists("helmchart", `signoz-${PRD}`, "-n", "kube-system")).toBe(true);
    expect(await exists("helmchart", `signoz-${STG}`, "-n", "kube-system")).toBe(false);
    expect(await exists("namespace", `data-${STG}`)).toBe(false);
    expect(await pending(dir, PRD)).toEqual([]);
    await certificateCovers(PRD);
  });

  it("applied prod first, then staging: both plans settle at zero", async () => {
    await destroy(dir, PRD);
    expect(await exists("clusterissuer", "plinth-letsencrypt-dns01")).toBe(false);
    await apply(dir, PRD);
    await apply(dir, STG);
    expect(await pending(dir, PRD)).toEqual([]);
    expect(await pending(dir, STG)).toEqual([]);
    await certificateCovers(STG);
    await signozValuesPerEnvironment();
  });

  it("destroying prod, the holder of the cluster's objects, leaves staging's plan at zero", async () => {
    await destroy(dir, PRD);
    expect(await exists("clusterissuer", "plinth-letsencrypt-dns01")).toBe(true);
    expect(await exists("helmchart", `signoz-${STG}`, "-n", "kube-system")).toBe(true);
    expect(await pending(dir, STG)).toEqual([]);
  });

  it("two ACME emails for the one issuer: validate and plan refuse (exit 2), naming both environments", async () => {
    writePair(["a@shz.example", "b@shz.example"]);
    const message = `renders ClusterIssuer plinth-letsencrypt-dns01 (cert-manager), one object on cluster bed, differently from environment ${PRD}: spec.acme.email is "a@shz.example" here and "b@shz.example" there`;
    const validate = await plinth(["validate"], dir);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toContain(message);
    const plan = await plinth(["plan", STG], dir);
    expect(plan.code, plan.stdout).toBe(2);
    expect(plan.stderr).toContain(message);
    expect(plan.stdout).toBe("");
    writePair();
  });
});

describe.sequential("all five environments of the example on one cluster", () => {
  // The example's five kinds and settings, under this test's own names.
  const ENVS: Record<string, Record<string, unknown>> = {
    "sc5-dev": { kind: "dev" },
    "sc5-ci": { kind: "ci" },
    "sc5-test": { kind: "test", domainPrefix: "x-test" },
    "sc5-staging": { kind: "staging", domainPrefix: "x-staging", features: { observability: true } },
    "sc5-prod": { kind: "prod", domainPrefix: "", features: { observability: true } },
  };
  const names = Object.keys(ENVS);
  let dir: string;

  beforeAll(async () => {
    dir = project({ env: "sc5-dev" });
    writeProject(
      dir,
      Object.fromEntries(
        Object.entries(ENVS).map(([name, e]) => [
          name,
          {
            cluster: "bed",
            baseDomain: "sc5.example",
            internalDomain: "sc5-int.example",
            ...e,
            components: { kubero: { enabled: false } },
          },
        ]),
      ),
    );
    await ensureStandInCrds();
    for (const e of names) {
      await plinth(["unlock", e], dir);
      await plinth(["destroy", e, "--yes", "--delete-data", "--confirm", e], dir);
    }
  });

  afterAll(async () => {
    for (const e of [...names].reverse())
      await plinth(["destroy", e, "--yes", "--delete-data", "--confirm", e], dir);
  });

  it("validate accepts them, each applies, and every plan then settles at zero changes", async () => {
    const valid = await plinth(["validate"], dir);
    expect(valid.code, valid.stderr).toBe(0);
    for (const e of names) await apply(dir, e);
    for (const e of names) expect(await pending(dir, e), e).toEqual([]);
  });
});
