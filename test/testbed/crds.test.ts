/**
 * The pinned upstream CRDs are readable without a running API server, and their schemas can judge
 * rendered objects offline (how the catalog's unit tests use them).
 */
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { crdFiles, crdSchema } from "../../testbed/crds.js";

describe("pinned upstream CRDs", () => {
  it("lists the CRDs of every pinned module with their versions", async () => {
    const crds = await crdFiles();
    const kinds = crds.map((c) => `${c.kind}.${c.group}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        "HelmChart.helm.cattle.io",
        "HelmChartConfig.helm.cattle.io",
        "Cluster.postgresql.cnpg.io",
        "Certificate.cert-manager.io",
        "ClusterIssuer.cert-manager.io",
      ]),
    );
    for (const crd of crds) expect(crd.version).toMatch(/^v\d+\.\d+\.\d+/);
  });

  it("validates a HelmChart against helm-controller's own schema", async () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(await crdSchema("helm.cattle.io", "HelmChart", "v1"));
    const chart = {
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: { name: "redis", namespace: "kube-system" },
      spec: { chart: "redis", repo: "https://charts.example", version: "1.0.0", failurePolicy: "abort" },
    };
    expect(validate(chart), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...chart, spec: { ...chart.spec, failurePolicy: "retry-forever" } })).toBe(false);
    expect(validate({ ...chart, spec: { ...chart.spec, valuesContent: { replicas: 1 } } })).toBe(false);
  });
});
