/**
 * SigNoz on plinth's ClickHouse (issue 16, one operator per cluster), applied to the test bed's API
 * server: its ClickHouseInstallation and ClickHouseKeeperInstallation land in SigNoz's own
 * namespace beside a generated password Secret, which the installation's user and SigNoz's chart
 * (`externalClickhouse.existingSecret`) both name, and the chart's own ClickHouse is off; a second
 * plan is zero. No operator runs on the test bed and Altinity's CRDs cannot be fetched here (the
 * Go module proxy refuses the module), so both kinds use the stand-in CRDs (any spec is accepted;
 * their shape was checked by hand against operator 0.25.0's CRDs, see the README). Only the signoz
 * component is applied (`--target`): the operator's HelmChart is the cluster's, other tests' too.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { clickhouseCrdCheck } from "../../src/catalog/components/clickhouse.js";
import { CHARTS } from "../../src/catalog/versions.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { runCheck } from "../../src/providers/kubernetes/health.js";
import { KubernetesProvider } from "../../src/providers/kubernetes/provider.js";
import { ensureStandInCrds, kubeconfig, kubectlJson, plinth, type Run } from "./bed.js";

const ENV = "chsig";
const NS = `observability-${ENV}`;
let dir: string;

const outputs: string[] = [];
function keep(r: Run): Run {
  outputs.push(r.stdout, r.stderr);
  return r;
}
const run = (args: string[]) => plinth(args, dir).then(keep);

const OFF = ["kubero", "vault", "dashboard", "postgres", "redis", "arangodb", "openpanel"]
  .map((c) => `${c}: { enabled: false }`)
  .join(", ");

function writeProject(): string {
  const d = mkdtempSync(join(tmpdir(), "plinth-chsig-"));
  writeFileSync(
    join(d, "plinth.config.ts"),
    `import { defineConfig } from "plinth";

// A peer on the same cluster gives this environment its own namespaces (${NS}).
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig())} } },
  environments: {
    ${ENV}: {
      kind: "staging",
      cluster: "bed",
      domainPrefix: "x-${ENV}",
      features: { observability: true, vault: false },
      components: { ${OFF} },
    },
    chsigpeer: { kind: "test", cluster: "bed", domainPrefix: "x-chsigpeer", components: { ${OFF} } },
  },
});
`,
  );
  return d;
}

interface Installation {
  metadata: { labels: Record<string, string> };
  spec: {
    configuration: {
      users: Record<string, unknown>;
      clusters: { name: string }[];
      zookeeper: { nodes: { host: string; port: number }[] };
    };
  };
}

describe("SigNoz's ClickHouse and Keeper on the test bed", () => {
  beforeAll(async () => {
    await ensureStandInCrds();
    dir = writeProject();
  }, 120_000);

  afterAll(async () => {
    await run(["destroy", ENV, "--yes", "--delete-data", "--confirm", ENV]);
  }, 300_000);

  it("applies the installations, the password Secret and a chart without its own ClickHouse; a second plan is zero", async () => {
    const applied = await run(["apply", ENV, "--yes", "--no-wait", "--target", "signoz"]);
    expect(applied.code, outputs.join("\n")).toBe(0);

    const chi = await kubectlJson<Installation>(
      "get",
      "clickhouseinstallations.clickhouse.altinity.com",
      "signoz",
      "-n",
      NS,
    );
    const chk = await kubectlJson<Installation>(
      "get",
      "clickhousekeeperinstallations.clickhouse-keeper.altinity.com",
      "signoz",
      "-n",
      NS,
    );
    expect(chi.metadata.labels["plinth.dev/environment"]).toBe(ENV);
    expect(chk.metadata.labels["plinth.dev/environment"]).toBe(ENV);

    const chart = await kubectlJson<{ spec: { valuesContent: string } }>(
      "get",
      "helmchart",
      `signoz-${ENV}`,
      "-n",
      "kube-system",
    );
    const values = parse(chart.spec.valuesContent) as {
      clickhouse: { enabled: boolean };
      externalClickhouse: Record<string, string | number | boolean>;
    };
    expect(values.clickhouse).toEqual({ enabled: false });
    const ext = values.externalClickhouse;
    expect(ext.host).toBe("clickhouse-signoz");
    expect(chi.spec.configuration.clusters.map((c) => c.name)).toEqual([ext.cluster]);
    expect(chi.spec.configuration.zookeeper.nodes).toEqual([{ host: "keeper-signoz", port: 2181 }]);
    expect(chi.spec.configuration.users[`${ext.user}/k8s_secret_password`]).toBe(
      `${NS}/${ext.existingSecret}/${ext.existingSecretPasswordKey}`,
    );

    // Vault is off here: plinth writes the generated password as a plain Secret in SigNoz's namespace.
    const secret = await kubectlJson<{ data: Record<string, string> }>(
      "get",
      "secret",
      String(ext.existingSecret),
      "-n",
      NS,
    );
    const password = Buffer.from(
      secret.data[String(ext.existingSecretPasswordKey)] ?? "",
      "base64",
    ).toString();
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    // Never in the chart's values, nor in what plinth printed.
    expect(chart.spec.valuesContent).not.toContain(password);
    expect(outputs.join("\n")).not.toContain(password);

    // The whole environment's plan (the other components were never applied): SigNoz's part is zero.
    const again = await run(["plan", ENV, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    const plan = JSON.parse(again.stdout) as {
      phases: { components: { id: string; changes: { action: string; kind: string; name: string }[] }[] }[];
    };
    const pending = plan.phases.flatMap((p) =>
      p.components
        .filter((c) => c.id === "signoz")
        .flatMap((c) =>
          c.changes.filter((ch) => ch.action !== "no-op").map((ch) => `${ch.action} ${ch.kind} ${ch.name}`),
        ),
    );
    expect(plan.phases.some((p) => p.components.some((c) => c.id === "signoz"))).toBe(true);
    expect(pending).toEqual([]);
  }, 300_000);

  it("plinth status fails while the cluster's ClickHouseInstallation CRD is not the pinned operator's (an older copy stays: Helm never upgrades CRDs)", async () => {
    const kube = new KubernetesProvider({ api: (await connect({ kubeconfig: kubeconfig() })).api });
    // The test bed's CRD is a stand-in with no operator version label, as a foreign copy would be.
    const stale = await runCheck(clickhouseCrdCheck(), kube);
    expect(stale.ok).toBe(false);
    expect(stale.check).toContain(`=${CHARTS.clickhouseOperator.version}`);
    expect(stale.detail).toMatch(/chop is not set$/);
    // The same dotted-label path reads the label the stand-in does carry.
    const read = await runCheck(
      { ...clickhouseCrdCheck(), field: "metadata.labels.plinth\\.dev/test", equals: "stand-in-crd" },
      kube,
    );
    expect(read).toMatchObject({ ok: true });
  }, 60_000);
});
