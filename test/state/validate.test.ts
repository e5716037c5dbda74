import { describe, expect, it } from "vitest";
import { defaultHolder } from "../../src/state/lock.js";
import type { EnvironmentState } from "../../src/state/types.js";
import { findSecretsInState } from "../../src/state/validate.js";

const realistic: EnvironmentState = {
  version: 1,
  env: "staging",
  owned: [
    "kubernetes:v1:Secret:data-staging/redis-auth",
    "kubernetes:v1:Secret:platform/vault-unseal-keys",
    "kubernetes:helm.cattle.io/v1:HelmChart:kube-system/vault",
    "cloudflare:record:x-staging.example.com:A",
    "vault:policy:staging-redis",
    "vault:kv:secret/staging/redis/password",
  ],
  applied: [
    {
      hash: "3f1c5a0e9b7d2c4a6e8f0b1d3c5e7a9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c",
      who: "octocat@github-actions run 123456",
      startedAt: "2026-03-01T10:00:00.000Z",
      outcome: "interrupted",
      changes: 42,
    },
  ],
  outputs: {
    frontend: "x-staging.example.com",
    vault: "https://secrets.example.org",
    kubeconfig: ".plinth/kubeconfig/staging.yaml",
    k3sVersion: "v1.33.5+k3s1",
    vaultTokenPath: "secret/staging/plinth",
    apiEndpoint: "https://k3s-staging.example.org:6443",
  },
};

describe("the state secret guard", () => {
  it("passes a realistic state: Secret names, secret paths, hashes, hosts and URLs are not secrets", () => {
    expect(findSecretsInState(realistic)).toEqual([]);
  });

  it.each([
    [
      "a token under a secret-looking key",
      { rootToken: "abc" },
      "outputs.rootToken",
      "a secret (by its key)",
    ],
    ["a placeholder anywhere", { note: "change-me" }, "outputs.note", "a placeholder password"],
    [
      "a JWT",
      { sa: `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.${"s".repeat(40)}` },
      "outputs.sa",
      "a JSON Web Token",
    ],
    ["an AWS key id", { id: "AKIAIOSFODNN7EXAMPLE" }, "outputs.id", "an AWS access key id"],
    ["a GitHub token", { gh: `ghp_${"a1B2".repeat(9)}` }, "outputs.gh", "a GitHub token"],
    [
      "a k3s join token",
      { join: `K10${"f".repeat(64)}::server:${"a".repeat(32)}` },
      "outputs.join",
      "a k3s join token",
    ],
    ["a URL with a password", { db: "redis://:hunter22@redis:6379" }, "outputs.db", "a URL with a password"],
    ["a bearer header", { h: `Bearer ${"x".repeat(30)}` }, "outputs.h", "an authorization header"],
  ])("refuses %s", (_, outputs, path, looksLike) => {
    expect(findSecretsInState({ ...realistic, outputs })).toContainEqual({ path, looksLike });
  });

  it("looks everywhere, not only in outputs", () => {
    const state = { ...realistic, owned: [...realistic.owned, "-----BEGIN RSA PRIVATE KEY-----"] };
    expect(findSecretsInState(state)).toEqual([{ path: "owned.6", looksLike: "a PEM private key" }]);
  });
});

describe("defaultHolder", () => {
  it("is the CI identity on GitHub Actions, user@host elsewhere, PLINTH_HOLDER when set", () => {
    expect(defaultHolder({ GITHUB_ACTIONS: "true", GITHUB_ACTOR: "octocat", GITHUB_RUN_ID: "42" })).toBe(
      "octocat@github-actions run 42",
    );
    expect(defaultHolder({ PLINTH_HOLDER: "release-bot" })).toBe("release-bot");
    expect(defaultHolder({})).toMatch(/^[^@\s]+@[^@\s]+$/);
  });
});
