import { describe, expect, it } from "vitest";
import { defaultHolder } from "../../src/state/lock.js";
import type { EnvironmentState } from "../../src/state/types.js";
import { findSecretsInState, stateWarnings } from "../../src/state/validate.js";

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
    expect(findSecretsInState({ ...realistic, outputs })).toContainEqual({
      path,
      looksLike,
      severity: "error",
    });
  });

  it("looks everywhere, not only in outputs", () => {
    const state = { ...realistic, owned: [...realistic.owned, "-----BEGIN RSA PRIVATE KEY-----"] };
    expect(findSecretsInState(state)).toEqual([
      { path: "owned.6", looksLike: "a PEM private key", severity: "error" },
    ]);
  });
});

// A current Vault/OpenBao service token: `hvs.` and ~90 characters of base64url.
const HVS = `hvs.CAESIJ${"kq7Lw2Xr9TzB4mNv".repeat(5)}GiAKHGh2cy5hbmR0b2tlbg`;
const AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";

describe("the state secret guard is precise", () => {
  const withWho = (who: string): EnvironmentState => ({
    ...realistic,
    applied: realistic.applied.map((a) => ({ ...a, who })),
  });

  it("takes a host with a long first label for no token (r.<29 letters>.com is not r.<token>)", () => {
    const state: EnvironmentState = {
      ...realistic,
      owned: [...realistic.owned, "cloudflare:record:r.mycompanyproductionservices.com:CNAME"],
      outputs: {
        "host.vault": "r.mycompanyproductionservices.com",
        "host.k3s-api": "s.abcdefghijklmnopqrstuvwxyz.io",
      },
    };
    expect(findSecretsInState(state)).toEqual([]);
    expect(stateWarnings(state, "staging.json")).toEqual([]);
  });

  it("takes a holder such as <ci> (PLINTH_HOLDER) for a name, not a placeholder password", () => {
    for (const who of ["<ci>", "change-me", "deploy@runner-7"])
      expect(findSecretsInState(withWho(who))).toEqual([]);
  });

  it("does not take a 40-digit hex digest (a commit) for an AWS secret key", () => {
    const state = { ...realistic, outputs: { commit: "3f1c5a0e9b7d2c4a6e8f0b1d3c5e7a9b2d4f6a8c" } };
    expect(findSecretsInState(state)).toEqual([]);
  });

  it("writes a host or id with a token's shape, with a warning naming the path and not the value", () => {
    const host = "xoxb-1234567890ab.example.com";
    const state: EnvironmentState = {
      ...realistic,
      owned: [...realistic.owned, `cloudflare:record:${host}:A`],
      outputs: { ...realistic.outputs, "host.frontend": host },
    };
    expect(findSecretsInState(state)).toEqual([]);
    const warnings = stateWarnings(state, ".plinth/state/staging.json");
    expect(warnings.map((w) => [w.severity, w.path, w.message])).toEqual([
      [
        "warning",
        ".plinth/state/staging.json",
        "owned.6 has the shape of a Slack token; written, as it is a host or id, not a secret",
      ],
      [
        "warning",
        ".plinth/state/staging.json",
        "outputs.host.frontend has the shape of a Slack token; written, as it is a host or id, not a secret",
      ],
    ]);
    for (const w of warnings) expect(w.message).not.toContain(host);
  });

  it.each([
    ["a real-looking hvs. token", HVS, "a Vault or OpenBao token"],
    ["a legacy s. token", "s.Xk3vQ9aT7bL2mN8pR4wY6zC1", "a Vault or OpenBao token"],
    ["an AWS secret access key", AWS_SECRET, "an AWS secret access key"],
    ["a private key block", PEM, "a PEM private key"],
  ])("still refuses %s, in outputs and as the holder", (_, value, looksLike) => {
    expect(findSecretsInState({ ...realistic, outputs: { note: value } })).toEqual([
      { path: "outputs.note", looksLike, severity: "error" },
    ]);
    expect(findSecretsInState(withWho(`ci ${value}`))).toEqual([
      { path: "applied.0.who", looksLike, severity: "error" },
    ]);
  });

  it("refuses a token inside a URL or path, where it is not a host", () => {
    const state = { ...realistic, outputs: { vault: `https://secrets.example.org/v1/auth?t=${HVS}` } };
    expect(findSecretsInState(state)).toEqual([
      { path: "outputs.vault", looksLike: "a Vault or OpenBao token", severity: "error" },
    ]);
  });

  it("refuses a private key even in an id (no name has that shape)", () => {
    const state = { ...realistic, owned: [`vault:kv:${PEM}`] };
    expect(findSecretsInState(state)).toEqual([
      { path: "owned.0", looksLike: "a PEM private key", severity: "error" },
    ]);
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
