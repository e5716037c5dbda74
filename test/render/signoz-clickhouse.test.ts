/**
 * One ClickHouse operator per cluster (issue 16): SigNoz runs on a ClickHouse and a Keeper that
 * plinth renders in SigNoz's namespace, reconciled by plinth's operator, with the chart's bundled
 * ClickHouse (and with it its operator 0.21.2 and CRDs) off. Altinity's CRDs cannot be had here
 * (the Go module proxy refuses the module, and they may not be copied into the repository), so the
 * installations' shape is not schema-checked by a test (see render.test.ts's NO_SCHEMA_HERE).
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { signoz as signozComponent } from "../../src/catalog/components/signoz.js";
import type { KubeObject } from "../../src/catalog/types.js";
import { IMAGES, SIGNOZ_HISTOGRAM_QUANTILE } from "../../src/catalog/versions.js";
import type { Config } from "../../src/config/schema.js";
import { validateConfig } from "../../src/config/validate-config.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import { type DesiredComponent, desiredComponents } from "../../src/plan/desired.js";

function config(staging: Record<string, unknown> = {}): Config {
  return validateConfig(
    {
      project: "acme",
      clusters: { vps: { type: "existing", kubeconfig: "vps.yaml" } },
      environments: {
        staging: {
          kind: "staging",
          cluster: "vps",
          baseDomain: "example.com",
          internalDomain: "example.org",
          domainPrefix: "x-staging",
          features: { observability: true },
          ...staging,
        },
        prod: {
          kind: "prod",
          cluster: "vps",
          baseDomain: "example.net",
          internalDomain: "example.io",
          features: { observability: true },
        },
      },
    },
    "plinth.config.ts",
  );
}

function desired(c: Config, env: string): DesiredComponent[] {
  const r = resolve(c, env);
  return desiredComponents(r, buildGraph(r));
}

function component(c: Config, env: string, id: string): DesiredComponent {
  const d = desired(c, env).find((x) => x.id === id);
  if (!d) throw new Error(`${env} renders no ${id}`);
  return d;
}

function one(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ""}`);
  return o;
}

const values = (chart: KubeObject) =>
  parse((chart.spec as { valuesContent: string }).valuesContent) as Record<string, Record<string, unknown>>;

interface Chi {
  configuration: {
    users: Record<string, unknown>;
    clusters: { name: string }[];
    zookeeper: { nodes: { host: string; port: number }[] };
    settings: Record<string, string>;
  };
  templates: {
    podTemplates: {
      spec: { containers: { image: string }[]; initContainers: { image: string; command: string[] }[] };
    }[];
  };
}

describe("SigNoz on plinth's ClickHouse (one operator per cluster)", () => {
  const c = config();
  const signoz = component(c, "staging", "signoz");
  const ns = signoz.objects.find((o) => o.kind === "ClickHouseInstallation")?.metadata.namespace ?? "";
  const chart = one(signoz.objects, "HelmChart", "signoz-staging");
  const v = values(chart);
  const chi = one(signoz.objects, "ClickHouseInstallation");
  const chk = one(signoz.objects, "ClickHouseKeeperInstallation");
  const spec = chi.spec as unknown as Chi;

  it("turns the chart's ClickHouse subchart off (so no bundled operator, ZooKeeper or CRDs) and takes no values Secret", () => {
    expect(v.clickhouse).toEqual({ enabled: false });
    expect((chart.spec as { valuesSecrets?: unknown }).valuesSecrets).toBeUndefined();
    expect((chart.spec as { valuesContent: string }).valuesContent).not.toMatch(
      /password:|zookeeper|clickhouseOperator/i,
    );
  });

  it("points externalClickhouse at the installation it renders: host, cluster, user, password Secret, ports", () => {
    const ext = v.externalClickhouse as Record<string, unknown>;
    expect(ns).toBe("observability-staging");
    expect(chi.metadata.namespace).toBe(ns);
    expect(chk.metadata.namespace).toBe(ns);
    // The operator's Service for an installation is clickhouse-{name}, ClusterIP, 8123 and 9000.
    expect(ext.host).toBe(`clickhouse-${chi.metadata.name}`);
    expect(spec.configuration.clusters.map((x) => x.name)).toEqual([ext.cluster]);
    // SigNoz's migrations name the cluster `cluster` (its external-ClickHouse docs).
    expect(ext.cluster).toBe("cluster");
    expect(spec.configuration.users[`${ext.user}/k8s_secret_password`]).toBe(
      `${ns}/${ext.existingSecret}/${ext.existingSecretPasswordKey}`,
    );
    expect({ secure: ext.secure, verify: ext.verify, httpPort: ext.httpPort, tcpPort: ext.tcpPort }).toEqual({
      secure: false,
      verify: false,
      httpPort: 8123,
      tcpPort: 9000,
    });
    // Generated per environment under plinth's secret rules (here through Vault, as its other secrets).
    const secret = signozComponent
      .secrets?.(resolve(c, "staging"))
      .find((s) => s.name === ext.existingSecret);
    const delivered = one(signoz.objects, "VaultStaticSecret", ext.existingSecret as string);
    expect(delivered.metadata.namespace).toBe(ns);
    expect((delivered.spec as { path: string }).path).toBe(`staging/signoz/${ext.existingSecret}`);
    expect(secret?.namespace).toBe(ns);
    expect(secret?.keys[ext.existingSecretPasswordKey as string]).toEqual({
      length: 32,
      alphabet: "alphanumeric",
    });
  });

  it("gives the installation its Keeper (the replicated tables and ON CLUSTER DDL need one)", () => {
    expect(spec.configuration.zookeeper.nodes).toEqual([{ host: `keeper-${chk.metadata.name}`, port: 2181 }]);
  });

  it("installs the histogramQuantile UDF as SigNoz's chart does, refusing an archive without the pinned digest", () => {
    const pod = spec.templates.podTemplates[0]?.spec;
    const script = pod?.initContainers[0]?.command[2] ?? "";
    expect(script).toContain(SIGNOZ_HISTOGRAM_QUANTILE.url("amd64"));
    expect(script).toContain(SIGNOZ_HISTOGRAM_QUANTILE.sha256.amd64);
    expect(script).toContain(SIGNOZ_HISTOGRAM_QUANTILE.sha256.arm64);
    expect(script).toMatch(/sha256sum -c -\n/);
    expect(script).toMatch(/^set -eu\n/);
    expect(spec.configuration.settings.user_defined_executable_functions_config).toBe(
      "/etc/clickhouse-server/functions/custom-functions.xml",
    );
    const functions = one(signoz.objects, "ConfigMap", "signoz-clickhouse-functions");
    expect((functions as { data?: Record<string, string> }).data?.["custom-functions.xml"]).toMatch(
      /<name>histogramQuantile<\/name>[\s\S]*<command>\.\/histogramQuantile<\/command>/,
    );
  });

  it("pins every image it renders", () => {
    const pod = spec.templates.podTemplates[0]?.spec;
    expect(pod?.containers.map((x) => x.image)).toEqual([IMAGES.signozClickhouse]);
    expect(pod?.initContainers.map((x) => x.image)).toEqual([IMAGES.signozClickhouse]);
    expect(JSON.stringify(chk.spec)).toContain(`"image":"${IMAGES.signozKeeper}"`);
    for (const image of [IMAGES.signozClickhouse, IMAGES.signozKeeper])
      expect(image).toMatch(/:\d+\.\d+\.\d+$/);
  });

  it("has plinth's operator watch SigNoz's namespace of every environment on the cluster, whichever renders it", () => {
    for (const env of ["staging", "prod"]) {
      const op = one(component(c, env, "clickhouse").objects, "HelmChart", "clickhouse-operator");
      const watched = (
        values(op).configs as { files: { "config.yaml": { watch: { namespaces: string[] } } } }
      ).files["config.yaml"].watch.namespaces;
      expect(watched).toEqual(["data-prod", "data-staging", "observability-prod", "observability-staging"]);
    }
  });

  it("orders SigNoz after the clickhouse component that holds the operator chart", () => {
    const graph = buildGraph(resolve(c, "staging"));
    const order = graph.phases.flatMap((p) => p.components.map((x) => x.id));
    expect(order.indexOf("clickhouse")).toBeLessThan(order.indexOf("signoz"));
    expect(graph.phases.flatMap((p) => p.components).find((x) => x.id === "signoz")?.dependsOn).toContain(
      "clickhouse",
    );
  });

  it("without ClickHouse, SigNoz applies the operator chart itself, before its installations", () => {
    const off = component(
      config({
        features: { observability: true, clickhouse: false },
        components: { openpanel: { enabled: false } },
      }),
      "staging",
      "signoz",
    );
    const kinds = off.objects.map((o) => `${o.kind}/${o.metadata.name}`);
    const operator = kinds.indexOf("HelmChart/clickhouse-operator");
    expect(operator).toBeGreaterThanOrEqual(0);
    expect(operator).toBeLessThan(kinds.indexOf("ClickHouseKeeperInstallation/signoz"));
    expect(operator).toBeLessThan(kinds.indexOf("ClickHouseInstallation/signoz"));
    const watched = (
      values(one(off.objects, "HelmChart", "clickhouse-operator")).configs as {
        files: { "config.yaml": { watch: { namespaces: string[] } } };
      }
    ).files["config.yaml"].watch.namespaces;
    expect(watched).toEqual(["data-prod", "observability-prod", "observability-staging"]);
  });
});
