import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { exampleConfig, exampleWith } from "../../test/helpers/config.js";
import { CATALOG } from "../catalog/index.js";
import { parseQuantity } from "../model/quantity.js";
import { resolve } from "../model/resolve.js";
import { validateAll } from "./validate.js";

const capacity = (config = exampleConfig()) =>
  validateAll(config).diagnostics.filter((d) => /\.vps\.(memory|cores)$/.test(d.path ?? ""));

describe("capacity of the example's VPSs", () => {
  it("staging and prod (16Gi) hold everything they run, the SSO login included", () => {
    expect(resolve(exampleConfig(), "staging").components.sso.enabled).toBe(true);
    expect(capacity()).toEqual([]);
  });

  it("a MiB less and staging no longer fits, naming what it needs and the biggest consumers", () => {
    const smaller = exampleWith((raw) => {
      const vps = raw.clusters.staging?.vps;
      if (vps) vps.memory = "16383Mi";
    });
    expect(capacity(smaller).map((d) => `${d.path}: ${d.message}`)).toEqual([
      "clusters.staging.vps.memory: cluster staging has 16383Mi of memory but what is placed on it requests 16Gi (largest: signoz 8Gi, clickhouse 2Gi, postgres 1Gi, arangodb 1Gi; 512Mi kept for the system)",
    ]);
  });

  it("a component's figure is what its pods request: cert-manager's three Deployments, the login's one", () => {
    const env = resolve(exampleConfig(), "staging");
    const found = (kind: string, objects: { kind: string; spec?: unknown }[]) => {
      const o = objects.find((x) => x.kind === kind);
      if (!o) throw new Error(`no ${kind} rendered`);
      return o.spec;
    };
    type Requests = { resources: { requests: { memory: string; cpu: string } } };
    const chart = found("HelmChart", CATALOG["cert-manager"].objects(env)) as { valuesContent: string };
    const values = parse(chart.valuesContent) as Requests & Record<"webhook" | "cainjector", Requests>;
    const pods = [values, values.webhook, values.cainjector].map((v) => v.resources.requests);
    const sum = (key: "memory" | "cpu") => pods.reduce((n, r) => n + parseQuantity(r[key]), 0);
    const figure = CATALOG["cert-manager"].requests(env);
    expect(sum("memory")).toBe(parseQuantity(figure.memory));
    expect(sum("cpu")).toBeCloseTo(parseQuantity(figure.cpu));
    const login = found("Deployment", CATALOG.sso.objects(env)) as {
      template: { spec: { containers: { resources: unknown }[] } };
    };
    const container = login.template.spec.containers[0];
    expect(container?.resources).toMatchObject({ requests: CATALOG.sso.requests(env) });
  });
});
