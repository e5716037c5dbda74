import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { applySetId, isMember, parentObject, withMembership } from "./applyset.js";
import { diffObjects, REDACTED, secretPathsOf } from "./diff.js";
import { groupKind, identityOf, parseIdentity } from "./identity.js";

describe("ApplySet marks (KEP-3659)", () => {
  it("computes the id from the parent's name, namespace, kind and group", () => {
    const expected = createHash("sha256")
      .update("plinth-applyset-staging.kube-system.ConfigMap.")
      .digest("base64url");
    expect(applySetId("staging")).toBe(`applyset-${expected}-v1`);
    expect(applySetId("prod")).not.toBe(applySetId("staging"));
  });

  it("labels members and lists group-kinds and namespaces on the parent, sorted", () => {
    const member = withMembership(
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "data" } },
      "staging",
    );
    expect(isMember(member, "staging")).toBe(true);
    expect(isMember(member, "prod")).toBe(false);
    const parent = parentObject(
      "staging",
      "plinth/0.1.0",
      ["Deployment.apps", "Namespace", "Deployment.apps"],
      ["data", "kube-system", "apps"],
    );
    expect(parent.metadata.annotations).toEqual({
      "applyset.kubernetes.io/tooling": "plinth/0.1.0",
      "applyset.kubernetes.io/contains-group-kinds": "Deployment.apps,Namespace",
      "applyset.kubernetes.io/additional-namespaces": "apps,data",
    });
  });
});

describe("identities", () => {
  it("round-trip namespaced and cluster-scoped objects", () => {
    for (const ref of [
      { apiVersion: "apps/v1", kind: "Deployment", name: "redis", namespace: "data" },
      { apiVersion: "v1", kind: "Namespace", name: "data" },
      { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", name: "plinth-letsencrypt-dns01" },
    ]) {
      expect(parseIdentity(identityOf(ref))).toEqual(ref);
    }
    expect(groupKind({ apiVersion: "v1", kind: "Secret" })).toBe("Secret");
    expect(groupKind({ apiVersion: "helm.cattle.io/v1", kind: "HelmChart" })).toBe(
      "HelmChart.helm.cattle.io",
    );
  });
});

describe("field diffs", () => {
  it("lists changed leaves by path and ignores server-owned fields", () => {
    const live = {
      metadata: { name: "a", resourceVersion: "1", managedFields: [{}] },
      spec: { replicas: 3, image: "x:1" },
      status: { ready: 1 },
    };
    const next = {
      metadata: { name: "a", resourceVersion: "2" },
      spec: { replicas: 1, image: "x:1", paused: true },
      status: {},
    };
    expect(diffObjects(live, next)).toEqual([
      { path: "spec.paused", after: true },
      { path: "spec.replicas", before: 3, after: 1 },
    ]);
  });

  it("never carries a Secret's values, before or after", () => {
    const before = { kind: "Secret", data: { password: "b2xk" } };
    const after = { kind: "Secret", data: { password: "bmV3" } };
    const diff = diffObjects(before, after, secretPathsOf("Secret"));
    expect(diff).toEqual([{ path: "data.password", before: REDACTED, after: REDACTED, secret: true }]);
    expect(JSON.stringify(diff)).not.toMatch(/b2xk|bmV3/);
  });
});
