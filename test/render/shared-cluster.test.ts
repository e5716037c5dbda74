/**
 * Environments sharing one cluster (issue 16): every object more than one of them renders is
 * either named per environment or one object rendered from the whole cluster, so all of them send
 * the same object and the order of applies never matters; what no union can reconcile is refused.
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { KubeObject } from "../../src/catalog/types.js";
import { IMAGES } from "../../src/catalog/versions.js";
import type { Config } from "../../src/config/schema.js";
import { validateConfig } from "../../src/config/validate-config.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import { type DesiredComponent, desiredComponents } from "../../src/plan/desired.js";
import { sharedConflicts } from "../../src/plan/shared.js";
import { identityOf, refOf } from "../../src/providers/kubernetes/identity.js";
import { exampleWith } from "../helpers/config.js";

/** staging and prod on one VPS, each with its own two zones. */
function oneVps(overrides: Record<string, Record<string, unknown>> = {}): Config {
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
          ...overrides.staging,
        },
        prod: {
          kind: "prod",
          cluster: "vps",
          baseDomain: "example.net",
          internalDomain: "example.io",
          features: { observability: true },
          ...overrides.prod,
        },
      },
    },
    "plinth.config.ts",
  );
}

function desired(config: Config, env: string): DesiredComponent[] {
  const r = resolve(config, env);
  return desiredComponents(r, buildGraph(r));
}

function objectsOf(config: Config, env: string): KubeObject[] {
  return desired(config, env).flatMap((d) => d.objects);
}

function find(config: Config, env: string, kind: string, name: string): KubeObject {
  const o = objectsOf(config, env).find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${env} renders no ${kind} ${name}`);
  return o;
}

const values = (chart: KubeObject) =>
  parse((chart.spec as { valuesContent: string }).valuesContent) as Record<string, unknown>;

/** An object as every environment must send it: the labels naming its holder aside. */
function sent(o: KubeObject): unknown {
  const { metadata, ...rest } = o;
  const { "plinth.dev/environment": _e, "plinth.dev/component": _c, ...labels } = metadata.labels ?? {};
  return { ...rest, metadata: { ...metadata, labels } };
}

/** Every identity two or more of the environments render, with each one's rendering. */
function sharedObjects(config: Config, envs: string[]): Map<string, Map<string, unknown>> {
  const all = new Map<string, Map<string, unknown>>();
  for (const env of envs) {
    for (const o of objectsOf(config, env)) {
      const id = identityOf(refOf(o));
      all.set(id, (all.get(id) ?? new Map()).set(env, sent(o)));
    }
  }
  return new Map([...all].filter(([, by]) => by.size > 1));
}

describe("staging and prod on one VPS with different zones", () => {
  const config = oneVps();

  it("every object both render is rendered alike by both, so neither apply undoes the other's", () => {
    const shared = sharedObjects(config, ["staging", "prod"]);
    expect([...shared.keys()]).toEqual(
      expect.arrayContaining([
        "kubernetes:cert-manager.io/v1:Certificate:kube-system/plinth-wildcard",
        "kubernetes:cert-manager.io/v1:ClusterIssuer:plinth-letsencrypt-dns01",
        "kubernetes:helm.cattle.io/v1:HelmChartConfig:kube-system/traefik",
        "kubernetes:helm.cattle.io/v1:HelmChart:kube-system/clickhouse-operator",
        "kubernetes:helm.cattle.io/v1:HelmChart:kube-system/dashboard",
        "kubernetes:helm.cattle.io/v1:HelmChart:kube-system/vault",
      ]),
    );
    for (const [id, by] of shared) {
      expect(by.get("prod"), id).toEqual(by.get("staging"));
    }
    expect(sharedConflicts(config)).toEqual([]);
  });

  it("one wildcard certificate and one issuer cover both environments' zones", () => {
    for (const env of ["staging", "prod"]) {
      const cert = find(config, env, "Certificate", "plinth-wildcard").spec as { dnsNames: string[] };
      expect(cert.dnsNames).toEqual([
        "example.com",
        "*.example.com",
        "example.io",
        "*.example.io",
        "example.net",
        "*.example.net",
        "example.org",
        "*.example.org",
      ]);
      const issuer = find(config, env, "ClusterIssuer", "plinth-letsencrypt-dns01").spec as {
        acme: { solvers: { selector: { dnsZones: string[] } }[] };
      };
      expect(issuer.acme.solvers[0]?.selector.dnsZones).toEqual([
        "example.com",
        "example.io",
        "example.net",
        "example.org",
      ]);
    }
  });

  it("Traefik serves the wildcard certificate from one config, whichever environment renders it", () => {
    for (const env of ["staging", "prod"]) {
      const traefik = parse(
        (find(config, env, "HelmChartConfig", "traefik").spec as { valuesContent: string }).valuesContent,
      );
      expect(traefik.tlsStore).toEqual({
        default: { defaultCertificate: { secretName: "plinth-wildcard-tls" } },
      });
    }
  });

  it("the cluster's dashboard and Vault answer on one host each: the primary environment's (prod)", () => {
    // Wherever the component routes its host (chart values or its own Ingress), it is prod's.
    const rendered = (env: string, component: string) =>
      JSON.stringify(desired(config, env).find((d) => d.id === component)?.objects ?? []);
    for (const env of ["staging", "prod"]) {
      expect(rendered(env, "dashboard")).toContain('"dashboard.example.io"');
      expect(rendered(env, "dashboard")).not.toContain("example.org");
      expect(rendered(env, "vault")).toContain('"secrets.example.io"');
      expect(rendered(env, "vault")).not.toContain("example.org");
    }
  });

  it("the host table agrees: staging's Vault, dashboard and k3s API hosts are the cluster's (prod's)", () => {
    const staging = resolve(config, "staging");
    expect(staging.hosts.dashboard?.host).toBe("dashboard.example.io");
    expect(staging.hosts.vault?.host).toBe("secrets.example.io");
    // Its own services keep its own zone.
    expect(staging.hosts.signoz?.host).toBe("signoz-staging.example.org");
  });

  it("the ClickHouse operator watches every data namespace and every SigNoz namespace of the cluster", () => {
    for (const env of ["staging", "prod"]) {
      const v = values(find(config, env, "HelmChart", "clickhouse-operator")) as {
        configs: { files: { "config.yaml": { watch: { namespaces: string[] } } } };
      };
      expect(v.configs.files["config.yaml"].watch.namespaces).toEqual([
        "data-prod",
        "data-staging",
        "observability-prod",
        "observability-staging",
      ]);
    }
  });

  it("each SigNoz reads its own ClickHouse password Secret, delivered from its own environment's Vault path", () => {
    for (const env of ["staging", "prod"]) {
      // SigNoz on its own ClickHouse in its own namespace (issue 16): the password Secret is there.
      const v = values(find(config, env, "HelmChart", `signoz-${env}`)) as {
        externalClickhouse: { existingSecret: string };
      };
      expect(v.externalClickhouse.existingSecret).toBe("signoz-clickhouse");
      const delivered = find(config, env, "VaultStaticSecret", "signoz-clickhouse");
      expect(delivered.metadata.namespace).toBe(`observability-${env}`);
      expect((delivered.spec as { path: string }).path).toBe(`${env}/signoz/signoz-clickhouse`);
    }
  });

  it("the ClickHouse operator's login has one writer: a plain Secret, never a VaultStaticSecret", () => {
    for (const env of ["staging", "prod"]) {
      expect(
        objectsOf(config, env).filter(
          (o) => o.kind === "VaultStaticSecret" && o.metadata.name === "clickhouse-operator-credentials",
        ),
      ).toEqual([]);
      const secrets = desired(config, env).flatMap((d) => d.secrets);
      expect(secrets.filter((s) => s.name === "clickhouse-operator-credentials")).toEqual([
        expect.objectContaining({ namespace: "clickhouse-operator" }),
      ]);
    }
  });
});

describe("all five environments of the example on one cluster", () => {
  const config = exampleWith((raw) => {
    for (const e of Object.values(raw.environments)) (e as { cluster: string }).cluster = "staging";
  });
  const envs = ["ci", "dev", "prod", "staging", "test"];

  it("render every object they share alike, with nothing left to refuse", () => {
    const shared = sharedObjects(config, envs);
    expect(shared.size).toBeGreaterThan(10);
    for (const [id, by] of shared) {
      const [first, ...rest] = [...by.values()];
      for (const other of rest) expect(other, id).toEqual(first);
    }
    expect(sharedConflicts(config)).toEqual([]);
  });

  it("no Secret has two writers: none is delivered by Vault for one environment and written by plinth (or Vault) for another", () => {
    const plain = new Map<string, Set<string>>();
    const vault = new Map<string, Set<string>>();
    for (const env of envs) {
      for (const d of desired(config, env)) {
        for (const s of d.secrets) {
          const at = `${s.namespace}/${s.name}`;
          plain.set(at, (plain.get(at) ?? new Set()).add(env));
        }
        for (const o of d.objects.filter((x) => x.kind === "VaultStaticSecret")) {
          const at = `${o.metadata.namespace}/${(o.spec as { destination: { name: string } }).destination.name}`;
          vault.set(at, (vault.get(at) ?? new Set()).add(env));
        }
      }
    }
    expect(vault.size).toBeGreaterThan(5);
    for (const [at, writers] of vault) {
      expect([...writers], at).toHaveLength(1);
      expect(plain.get(at), at).toBeUndefined();
    }
  });

  it("test (no Vault) and staging (Vault) write the ClickHouse operator's login the same way: plainly", () => {
    for (const env of ["test", "staging", "prod", "dev"]) {
      expect(
        objectsOf(config, env).some(
          (o) => o.kind === "VaultStaticSecret" && o.metadata.name === "clickhouse-operator-credentials",
        ),
        env,
      ).toBe(false);
    }
  });
});

describe("what one object cannot hold for two environments is refused", () => {
  it("two ACME emails for the one issuer: an error naming both environments, the field and the fix", () => {
    const config = oneVps({
      staging: { acmeEmail: "staging@example.com" },
      prod: { acmeEmail: "ops@example.net" },
    });
    const errors = sharedConflicts(config);
    expect(errors).toEqual([
      {
        severity: "error",
        path: "environments.staging",
        message:
          'renders ClusterIssuer plinth-letsencrypt-dns01 (cert-manager), one object on cluster vps, differently from environment prod: spec.acme.email is "staging@example.com" here and "ops@example.net" there',
        fix: "give environments prod and staging the same settings behind it, put them on separate clusters, or turn cert-manager off in one of them",
      },
    ]);
  });

  it("one email set in one environment only is the cluster's email: nothing to refuse", () => {
    const config = oneVps({ prod: { acmeEmail: "ops@example.net" } });
    expect(sharedConflicts(config)).toEqual([]);
    const issuer = find(config, "staging", "ClusterIssuer", "plinth-letsencrypt-dns01").spec as {
      acme: { email: string };
    };
    expect(issuer.acme.email).toBe("ops@example.net");
  });

  it("two sizes of the one platform PostgreSQL are refused, naming the field", () => {
    const config = oneVps({ staging: { storage: { platformPostgres: "20Gi" } } });
    const [first] = sharedConflicts(config);
    expect(first?.severity).toBe("error");
    expect(first?.message).toMatch(
      /^renders Cluster platform\/platform-postgres \(platform-postgres\), one object on cluster vps, differently from environment prod: spec\.storage\.size is "20Gi" here and "10Gi" there$/,
    );
  });
});

describe("pins in what the charts are given", () => {
  const config = exampleWith((raw) => {
    const staging = raw.environments.staging as { features?: Record<string, boolean> };
    staging.features = { ...staging.features, backstage: true };
  });
  const charts = ["dev", "ci", "test", "staging", "prod"].flatMap((env) =>
    objectsOf(config, env).filter((o) => o.kind === "HelmChart"),
  );

  it("no rendered object or chart value names `latest`, and every image string carries a tag", () => {
    expect(charts.map((c) => c.metadata.name)).toContain("backstage-staging");
    for (const env of ["dev", "ci", "test", "staging", "prod"]) {
      for (const o of objectsOf(config, env)) {
        const text = JSON.stringify(o);
        expect(text, `${env} ${o.kind} ${o.metadata.name}`).not.toMatch(/latest/i);
        for (const image of text.match(/"image":"[^"]+"/g) ?? []) {
          expect(image, `${o.kind} ${o.metadata.name}`).toMatch(/:[\w.-]+"$|@sha256:[0-9a-f]{64}"$/);
        }
      }
    }
  });

  it("Backstage's chart gets a pinned image in the keys its schema defines (the chart defaults to latest)", () => {
    const backstage = charts.find((c) => c.metadata.name === "backstage-staging");
    if (!backstage) throw new Error("no backstage chart");
    const v = values(backstage) as { backstage: { image: Record<string, string> } };
    expect(v.backstage.image).toEqual({ ...IMAGES.backstage });
    expect(v.backstage.image.tag).toMatch(/^\d+\.\d+\.\d+$/);
    const schema = JSON.parse(
      readFileSync(new URL("./upstream/backstage-image.schema.json", import.meta.url), "utf8"),
    );
    const validate = new Ajv({ strict: false }).compile(schema);
    expect(validate(v), JSON.stringify(validate.errors)).toBe(true);
  });

  it("SigNoz's chart gets the storage class where it reads it (global), no ClickHouse of its own, and its released version", () => {
    const signoz = charts.find((c) => c.metadata.name === "signoz-staging");
    if (!signoz) throw new Error("no signoz chart");
    const v = values(signoz) as { global: { storageClass: string }; clickhouse: object };
    expect(v.global.storageClass).toBe("local-path-retain");
    // Its ClickHouse is plinth's installation (signoz-clickhouse.test.ts), sized from storage.signoz.
    expect(v.clickhouse).toEqual({ enabled: false });
    const chi = objectsOf(config, "staging").find(
      (o) => o.kind === "ClickHouseInstallation" && o.metadata.name === "signoz",
    );
    expect(JSON.stringify(chi?.spec)).toContain('"storage":"50Gi"');
    expect((signoz.spec as { version: string }).version).toBe("0.130.1");
  });
});
