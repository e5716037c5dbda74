/**
 * `sso: { provider: "vault" }` without a server: what the model accepts and refuses (each refusal
 * names the field and the fix), what the sso component renders (OAuth2-Proxy pointed at the
 * cluster's Vault, its client id and secret from the Secret Vault's operator delivers), and what
 * plinth's Vault step will want in Vault. The real convergence and sign-in: vault-provider.test.ts.
 */
import { describe, expect, it } from "vitest";
import { gateSettings, oauth2ProxyConfig } from "../../src/catalog/components/sso.js";
import { hostAccess, OPEN_ANNOTATION } from "../../src/catalog/gate.js";
import { CATALOG } from "../../src/catalog/index.js";
import { DEFAULT_LAYOUT, deliveredByVault, secretEntries } from "../../src/catalog/vault-layout.js";
import type { UserConfig } from "../../src/config/schema.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve, resolveEnvironment } from "../../src/model/resolve.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { desiredVault, managerPolicy } from "../../src/providers/vault/index.js";
import { exampleWith } from "../helpers/config.js";

type Sso = NonNullable<NonNullable<UserConfig["defaults"]>["sso"]>;

const VAULT: Sso = { provider: "vault", allowedGroups: ["platform", "ops"] };

function withSso(defaults: Sso, perEnv: Record<string, Sso> = {}) {
  return exampleWith((raw) => {
    raw.defaults = { ...raw.defaults, sso: defaults };
    for (const [env, sso] of Object.entries(perEnv)) {
      const e = raw.environments[env];
      if (e) e.sso = sso;
    }
    for (const [name, e] of Object.entries(raw.environments)) if (!(name in perEnv)) delete e.sso;
  });
}

const problems = (config: ReturnType<typeof withSso>, env: string) =>
  resolveEnvironment(config, env).diagnostics.map((d) => `${d.path}: ${d.message} (${d.fix})`);

describe("sso provider vault: settings", () => {
  it("needs only the allowed groups: no issuer, client id or secret (Vault issues them)", () => {
    const config = withSso(VAULT, { prod: { allowedGroups: ["platform-admins"] } });
    expect(resolve(config, "staging").sso).toEqual({ provider: "vault", allowedGroups: ["ops", "platform"] });
    expect(resolve(config, "prod").sso).toEqual({ provider: "vault", allowedGroups: ["platform-admins"] });
  });

  it("refuses no groups, an issuer, a client id or secret, GitHub fields, naming each field", () => {
    expect(problems(withSso({ provider: "vault" }), "staging")).toEqual([
      'environments.staging.sso.allowedGroups: is required and must not be empty for a vault provider (list the Vault identity groups whose members may pass, e.g. allowedGroups: ["platform"] (plinth creates missing ones; members are added in Vault))',
    ]);
    const wrong = problems(
      withSso({
        ...VAULT,
        issuer: "https://id.example.org",
        clientId: "x",
        clientSecret: { fromEnv: "SSO_CLIENT_SECRET" },
        org: "acme",
      }),
      "staging",
    );
    expect(wrong).toEqual([
      "environments.staging.sso.clientId: Vault issues it to plinth's client (read at apply), not set by hand for vault (remove clientId (in this environment or in defaults.sso))",
      "environments.staging.sso.clientSecret: Vault issues it to plinth's client (read at apply), not set by hand for vault (remove clientSecret (in this environment or in defaults.sso))",
      "environments.staging.sso.issuer: is this platform's Vault (https://<vault host>/v1/identity/oidc/provider/…), not vault (remove issuer (in this environment or in defaults.sso))",
      "environments.staging.sso.org: applies to another provider, not vault (remove org (in this environment or in defaults.sso))",
    ]);
  });

  it("refuses an environment without Vault (test has none by default)", () => {
    expect(problems(withSso(VAULT), "test")).toEqual([
      'environments.test.sso.provider: is vault, and this environment has no Vault to be the issuer (turn components.vault on for test (staging and prod have it by default), or use provider "github" or "oidc")',
    ]);
  });
});

describe("sso provider vault: rendering and Vault's step", () => {
  const config = withSso(VAULT, { prod: { allowedGroups: ["platform-admins"] } });
  const staging = resolve(config, "staging");
  // Hosts as the domain rules make them (README "Domains"): Vault's and the login's.
  const vaultHost = staging.hosts.vault?.host ?? "";
  const authHost = staging.hosts.sso?.host ?? "";
  const issuer = `https://${vaultHost}/v1/identity/oidc/provider/plinth-staging-sso`;

  it("has the hosts it points at", () => {
    expect(vaultHost).toMatch(/^secrets.*\.example\.org$/);
    expect(authHost).toMatch(/^auth.*\.example\.org$/);
  });

  it("points OAuth2-Proxy at the cluster's Vault, its client id and secret from the delivered Secret", () => {
    const settings = gateSettings(staging);
    expect(settings).toMatchObject({
      provider: "vault",
      issuer,
      clientId: { name: "oauth2-proxy-client", key: "client-id" },
    });
    const rendered = oauth2ProxyConfig(settings);
    expect(rendered.args).toEqual(
      expect.arrayContaining([
        "--provider=oidc",
        `--oidc-issuer-url=${issuer}`,
        "--oidc-groups-claim=groups",
        "--scope=openid email profile groups",
        "--allowed-group=ops",
        "--allowed-group=platform",
      ]),
    );
    expect(rendered.args.filter((a) => a.startsWith("--client-id"))).toEqual([]);
    expect(rendered.env.map((e) => [e.name, e.valueFrom.secretKeyRef])).toEqual([
      ["OAUTH2_PROXY_CLIENT_ID", { name: "oauth2-proxy-client", key: "client-id" }],
      ["OAUTH2_PROXY_CLIENT_SECRET", { name: "oauth2-proxy-client", key: "client-secret" }],
      ["OAUTH2_PROXY_COOKIE_SECRET", { name: "oauth2-proxy-cookie", key: "cookie-secret" }],
    ]);
  });

  it("keeps the client's secret in KV, delivered by Vault's operator, never rotated by plinth", () => {
    const entry = secretEntries(staging).find((e) => e.path === "staging/sso/oauth2-proxy-client");
    expect(entry?.spec.keys).toEqual({
      "client-id": {
        length: 0,
        alphabet: "alphanumeric",
        fromVault: { path: "identity/oidc/client/plinth-staging-sso", field: "client_id" },
      },
      "client-secret": {
        length: 0,
        alphabet: "alphanumeric",
        fromVault: { path: "identity/oidc/client/plinth-staging-sso", field: "client_secret" },
      },
    });
    expect(entry?.spec.notRotated).toMatch(/Vault issues it/);
    expect(entry && deliveredByVault(staging, entry)).toBe(true);
    const d = desiredComponents(staging, buildGraph(staging)).find((c) => c.id === "sso");
    expect(d?.secrets).toEqual([]);
    expect(d?.objects.filter((o) => o.kind === "VaultStaticSecret").map((o) => o.metadata.name)).toEqual([
      "oauth2-proxy-client",
      "oauth2-proxy-cookie",
    ]);
  });

  it("wants the provider's pieces in Vault before the secret they fill, each environment its own", () => {
    const ids = desiredVault(staging, DEFAULT_LAYOUT).map((r) => r.id);
    const oidc = ids.filter((i) => /userpass|oidc|identity-group/.test(i));
    expect(oidc).toEqual([
      "vault:userpass:userpass",
      "vault:oidc-scope:email",
      "vault:oidc-scope:profile",
      "vault:oidc-scope:groups",
      "vault:identity-group:ops",
      "vault:identity-group:platform",
      "vault:oidc-key:plinth-staging-sso",
      "vault:oidc-assignment:plinth-staging-sso",
      "vault:oidc-client:plinth-staging-sso",
      "vault:oidc-provider:plinth-staging-sso",
    ]);
    expect(ids.indexOf("vault:oidc-provider:plinth-staging-sso")).toBeLessThan(
      ids.indexOf("vault:kv:secret/staging/sso/oauth2-proxy-client"),
    );
    const client = desiredVault(staging, DEFAULT_LAYOUT).find(
      (r) => r.id === "vault:oidc-client:plinth-staging-sso",
    );
    expect(client?.spec).toMatchObject({
      redirectUris: [`https://${authHost}/oauth2/callback`],
      assignments: ["plinth-staging-sso"],
    });
    const provider = desiredVault(staging, DEFAULT_LAYOUT).find(
      (r) => r.id === "vault:oidc-provider:plinth-staging-sso",
    );
    expect(provider?.spec).toMatchObject({ issuer: `https://${vaultHost}` });
    // The GitHub example wants none of it.
    const github = resolve(
      exampleWith(() => {}),
      "staging",
    );
    expect(desiredVault(github, DEFAULT_LAYOUT).filter((r) => /oidc|userpass/.test(r.id))).toEqual([]);
  });

  it("lets plinth's own token make exactly these pieces (plinth-* names, the three scopes, userpass)", () => {
    const policy = managerPolicy(DEFAULT_LAYOUT);
    for (const path of [
      'path "sys/auth/userpass"',
      'path "identity/oidc/scope/groups"',
      'path "identity/oidc/client/plinth-*"',
      'path "identity/oidc/provider/plinth-*"',
      'path "identity/group"',
    ]) {
      expect(policy).toContain(path);
    }
    expect(policy).not.toContain('path "identity/oidc/client/*"');
  });

  it("leaves Vault's OIDC sign-in page open on its host (else the gate loops), and says who passes", () => {
    const vault = CATALOG.vault.objects(staging).filter((o) => o.kind === "Ingress");
    const open = vault.find((o) => o.metadata.name.endsWith("-open"));
    const paths = JSON.stringify(open?.spec);
    expect(paths).toContain("/ui/vault/identity/oidc/provider");
    expect(open?.metadata.annotations?.[OPEN_ANNOTATION]).toMatch(
      /sign-in page of Vault's own OIDC provider/,
    );
    const dashboard = hostAccess(staging).find((h) => h.service === "dashboard");
    expect(dashboard?.reason).toBe(`login at ${authHost} (Vault groups ops, platform)`);
  });
});
