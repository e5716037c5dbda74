import { describe, expect, it } from "vitest";
import type { Config } from "../config/schema.js";
import { validateConfig } from "../config/validate-config.js";
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
    expect(
      peers.get("prod")?.get("kubernetes:helm.cattle.io/v1:HelmChart:kube-system/cnpg-operator"),
    ).toMatchObject({
      "plinth.dev/environment": "prod",
      "plinth.dev/component": "cnpg-operator",
    });
    expect(clusterPeers(shared, resolve(shared, "ci")).size).toBe(0);
  });

  it("only deployed peers keep objects, each with the labels it renders on them (for the hand-over)", () => {
    const peers = clusterPeers(shared, resolve(shared, "staging"));
    const id = "kubernetes:helm.cattle.io/v1:HelmChart:kube-system/cnpg-operator";
    expect(wantedByPeers(peers, () => true).get(id)).toEqual([
      { env: "prod", labels: expect.objectContaining({ "plinth.dev/environment": "prod" }) },
    ]);
    expect(wantedByPeers(peers, () => false).size).toBe(0);
  });

  it("objects of the whole cluster are rendered alike: nothing to refuse; on separate clusters nothing is shared", () => {
    expect(sharedConflicts(shared)).toEqual([]);
    expect(sharedConflicts(config(stagingAndProd("two")))).toEqual([]);
  });

  it("an object two environments of a cluster still render differently is an error naming both and the fix", () => {
    const errors = sharedConflicts(
      config({
        staging: { kind: "staging", cluster: "one", domainPrefix: "x-staging", acmeEmail: "a@example.com" },
        prod: { kind: "prod", cluster: "one", acmeEmail: "b@example.com" },
      }),
    );
    expect(errors.map((e) => [e.severity, e.message])).toEqual([
      [
        "error",
        'renders ClusterIssuer plinth-letsencrypt-dns01 (cert-manager), one object on cluster one, differently from environment prod: spec.acme.email is "a@example.com" here and "b@example.com" there',
      ],
    ]);
    expect(errors[0]?.fix).toBe(
      "give environments prod and staging the same settings behind it, put them on separate clusters, or turn cert-manager off in one of them",
    );
  });
});
