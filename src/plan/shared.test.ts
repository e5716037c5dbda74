import { describe, expect, it } from "vitest";
import { validateConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { resolve } from "../model/resolve.js";
import { clusterPeers, sharedConflicts, wantedByPeers } from "./shared.js";

function config(environments: Record<string, unknown>): Config {
  return validateConfig(
    {
      project: "acme",
      defaults: { baseDomain: "example.com", internalDomain: "example.org" },
      clusters: {
        one: { type: "existing", kubeconfig: "one.yaml" },
        two: { type: "existing", kubeconfig: "two.yaml" },
      },
      environments,
    },
    "plinth.config.ts",
  );
}

/** staging on cluster one, prod on `prodCluster`, both with observability. */
const stagingAndProd = (prodCluster: string) => ({
  staging: { kind: "staging", cluster: "one", domainPrefix: "x-staging", features: { observability: true } },
  prod: { kind: "prod", cluster: prodCluster, features: { observability: true } },
});

describe("environments sharing a cluster", () => {
  const shared = config({
    ...stagingAndProd("one"),
    ci: { kind: "ci", cluster: "two" },
  });

  it("peers are the config's other environments on the same cluster, with what they render", () => {
    const peers = clusterPeers(shared, resolve(shared, "staging"));
    expect([...peers.keys()]).toEqual(["prod"]);
    expect(peers.get("prod")).toContain("kubernetes:helm.cattle.io/v1:HelmChart:kube-system/cnpg-operator");
    expect(clusterPeers(shared, resolve(shared, "ci")).size).toBe(0);
  });

  it("only deployed peers keep objects", () => {
    const peers = clusterPeers(shared, resolve(shared, "staging"));
    const id = "kubernetes:helm.cattle.io/v1:HelmChart:kube-system/cnpg-operator";
    expect(wantedByPeers(peers, () => true).get(id)).toEqual(["prod"]);
    expect(wantedByPeers(peers, () => false).size).toBe(0);
  });

  it("an object two environments of a cluster render differently is a warning naming both and the fix", () => {
    const warnings = sharedConflicts(shared);
    expect(warnings.every((w) => w.severity === "warning")).toBe(true);
    expect(warnings.map((w) => w.message)).toContain(
      "renders VaultStaticSecret kube-system/signoz-values (signoz) differently from environment prod on cluster one: the environment applied last sets it",
    );
    expect(warnings[0]?.fix).toMatch(/separate clusters, or turn \S+ off in one of them/);
    // On separate clusters, nothing is shared.
    expect(sharedConflicts(config(stagingAndProd("two")))).toEqual([]);
  });
});
