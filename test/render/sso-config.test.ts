import { describe, expect, it } from "vitest";
import { gateSettings, oauth2ProxyConfig } from "../../src/catalog/components/sso.js";
import type { UserConfig } from "../../src/config/schema.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve, resolveEnvironment } from "../../src/model/resolve.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { exampleWith } from "../helpers/config.js";

type Sso = NonNullable<NonNullable<UserConfig["defaults"]>["sso"]>;

const GITHUB: Sso = {
  provider: "github",
  org: "acme",
  teams: ["platform"],
  clientId: "Iv1.0123456789abcdef",
  clientSecret: { fromEnv: "SSO_CLIENT_SECRET" },
};

/** The example with these sso settings in place of its own (none where `defaults` is undefined). */
function withSso(defaults: Sso | undefined, perEnv: Record<string, Sso> = {}) {
  return exampleWith((raw) => {
    if (raw.defaults) delete raw.defaults.sso;
    for (const e of Object.values(raw.environments)) delete e.sso;
    if (defaults) raw.defaults = { ...raw.defaults, sso: defaults };
    for (const [env, sso] of Object.entries(perEnv)) {
      const e = raw.environments[env];
      if (e) e.sso = sso;
    }
  });
}

function problems(config: ReturnType<typeof withSso>, env: string): string[] {
  return resolveEnvironment(config, env).diagnostics.map((d) => `${d.path}: ${d.message}`);
}

describe("sso settings", () => {
  it("turn the gate on where internal UIs are public (test, staging, prod), not on dev or ci", () => {
    const config = withSso(GITHUB);
    for (const env of ["test", "staging", "prod"]) {
      const r = resolve(config, env);
      expect(r.components.sso.enabled, env).toBe(true);
      expect(r.sso).toEqual({
        provider: "github",
        org: "acme",
        teams: ["platform"],
        clientId: "Iv1.0123456789abcdef",
        clientSecretVariable: "SSO_CLIENT_SECRET",
      });
    }
    expect(resolve(config, "dev").components.sso).toMatchObject({
      enabled: false,
      reason: "no public hosts",
    });
    expect(resolve(config, "ci").components.sso.enabled).toBe(false);
  });

  it("without sso settings the gate is off and says why", () => {
    const r = resolve(withSso(undefined), "staging");
    expect(r.components.sso.enabled).toBe(false);
    expect(r.components.sso.reason).toMatch(/no sso settings/);
    expect(r.sso).toBeUndefined();
  });

  it("narrow per environment: prod replaces the teams and keeps the rest of defaults.sso", () => {
    const config = withSso(GITHUB, { prod: { teams: ["platform-admins"] } });
    expect(resolve(config, "prod").sso).toMatchObject({ org: "acme", teams: ["platform-admins"] });
    expect(resolve(config, "staging").sso).toMatchObject({ org: "acme", teams: ["platform"] });
  });

  it("accept an OIDC issuer with allowed groups", () => {
    const config = withSso({
      provider: "oidc",
      issuer: "https://id.example.org/realms/acme",
      allowedGroups: ["platform", "ops"],
      clientId: "plinth",
      clientSecret: { fromEnv: "SSO_CLIENT_SECRET" },
      cookieSecret: { fromEnv: "SSO_COOKIE_SECRET" },
    });
    expect(resolve(config, "staging").sso).toEqual({
      provider: "oidc",
      issuer: "https://id.example.org/realms/acme",
      allowedGroups: ["ops", "platform"],
      clientId: "plinth",
      clientSecretVariable: "SSO_CLIENT_SECRET",
      cookieSecretVariable: "SSO_COOKIE_SECRET",
    });
  });

  it("refuse settings that would let anyone in, or are incomplete, naming the field", () => {
    expect(problems(withSso({ ...GITHUB, org: undefined }), "staging")).toEqual([
      "environments.staging.sso.org: is required",
    ]);
    const oidc = withSso({
      provider: "oidc",
      issuer: "https://id.example.org",
      clientId: "plinth",
      clientSecret: { fromEnv: "SSO_CLIENT_SECRET" },
      org: "acme",
    });
    expect(problems(oidc, "prod")).toEqual([
      "environments.prod.sso.allowedGroups: is required and must not be empty for an oidc provider",
      "environments.prod.sso.org: applies to another provider, not oidc",
    ]);
    expect(problems(withSso({ provider: "github", org: "acme" }), "test")).toEqual([
      "environments.test.sso.clientId: is required",
      "environments.test.sso.clientSecret: is required",
    ]);
  });

  it("refuse a secret read from a file or from one of plinth's own credentials", () => {
    expect(problems(withSso({ ...GITHUB, clientSecret: { fromFile: "/tmp/s" } }), "staging")[0]).toMatch(
      /^environments\.staging\.sso\.clientSecret: must be secret\.env/,
    );
    expect(problems(withSso({ ...GITHUB, cookieSecret: { fromEnv: "VAULT_TOKEN" } }), "staging")).toEqual([
      "environments.staging.sso.cookieSecret: names VAULT_TOKEN, one of plinth's own credentials, which never goes into the cluster",
    ]);
  });

  it("refuse a literal secret and a non-https issuer at load, before anything runs", () => {
    expect(() => withSso({ ...GITHUB, clientSecret: "s3cr3t-value" as never })).toThrow(UserError);
    expect(() =>
      withSso({
        provider: "oidc",
        issuer: "http://id.example.org",
        allowedGroups: ["a"],
        clientId: "x",
        clientSecret: { fromEnv: "X" },
      }),
    ).toThrow(/issuer.*https/s);
  });

  it("refuse a UI host moved off the internal domain, where the login's cookie would never reach it", () => {
    const config = exampleWith((raw) => {
      raw.defaults = { ...raw.defaults, sso: GITHUB };
      const staging = raw.environments.staging;
      if (staging) staging.hosts = { signoz: "signoz.example.com", "k3s-api": "k3s.example.com" };
    });
    expect(problems(config, "staging")).toEqual([
      "environments.staging.hosts.signoz: signoz.example.com (signoz) is outside example.org, where the SSO login's cookie lives",
    ]);
  });

  it("refuse the gate turned on where there are no public hosts", () => {
    const config = exampleWith((raw) => {
      raw.defaults = { ...raw.defaults, sso: GITHUB };
      const dev = raw.environments.dev;
      if (dev) dev.components = { sso: { enabled: true } };
    });
    expect(problems(config, "dev")).toEqual([
      "environments.dev.components.sso.enabled: needs public hosts: the login and its cookies live on the internal domain",
    ]);
  });
});

describe("oauth2ProxyConfig", () => {
  it("renders GitHub org/team access, ForwardAuth mode and per-environment cookies, secrets as Secret refs", () => {
    const config = oauth2ProxyConfig(gateSettings(resolve(withSso(GITHUB), "staging")));
    expect(config.args).toEqual([
      "--http-address=0.0.0.0:4180",
      "--provider=github",
      "--github-org=acme",
      "--github-team=platform",
      "--client-id=Iv1.0123456789abcdef",
      "--redirect-url=https://auth-staging.example.org/oauth2/callback",
      "--email-domain=*",
      "--upstream=static://202",
      "--reverse-proxy=true",
      // X-Forwarded-* believed from the cluster's pods (Traefik) only: k3s's pod network.
      "--trusted-proxy-ip=10.42.0.0/16",
      "--set-xauthrequest=true",
      "--skip-provider-button=true",
      "--session-store-type=cookie",
      "--cookie-name=_plinth_sso_staging",
      "--cookie-domain=.example.org",
      "--cookie-secure=true",
      "--cookie-samesite=lax",
      "--cookie-expire=168h",
      "--whitelist-domain=.example.org",
      "--silence-ping-logging=true",
    ]);
    expect(config.env).toEqual([
      {
        name: "OAUTH2_PROXY_CLIENT_SECRET",
        valueFrom: { secretKeyRef: { name: "oauth2-proxy-client", key: "client-secret" } },
      },
      {
        name: "OAUTH2_PROXY_COOKIE_SECRET",
        valueFrom: { secretKeyRef: { name: "oauth2-proxy-cookie", key: "cookie-secret" } },
      },
    ]);
    expect(config.port).toBe(4180);
  });

  it("renders OIDC groups, PKCE and hourly refresh; prod on its bare auth host", () => {
    const config = withSso({
      provider: "oidc",
      issuer: "https://id.example.org/realms/acme",
      allowedGroups: ["platform"],
      clientId: "plinth",
      clientSecret: { fromEnv: "SSO_CLIENT_SECRET" },
    });
    const { args } = oauth2ProxyConfig(gateSettings(resolve(config, "prod")));
    expect(args).toEqual(
      expect.arrayContaining([
        "--provider=oidc",
        "--oidc-issuer-url=https://id.example.org/realms/acme",
        "--allowed-group=platform",
        "--code-challenge-method=S256",
        "--cookie-refresh=1h",
        "--redirect-url=https://auth.example.org/oauth2/callback",
        "--cookie-name=_plinth_sso_prod",
      ]),
    );
    expect(args.some((a) => a.startsWith("--github"))).toBe(false);
  });
});

describe("the gate's secrets", () => {
  const ssoOf = (env: string, sso: Sso = GITHUB) => {
    const r = resolve(withSso(sso), env);
    const d = desiredComponents(r, buildGraph(r)).find((c) => c.id === "sso");
    if (!d) throw new Error(`${env} has no sso component`);
    return d;
  };

  it("with Vault: the cookie secret generated into Vault and delivered by its operator; the client secret copied from its variable", () => {
    const d = ssoOf("staging");
    expect(d.secrets).toEqual([
      {
        name: "oauth2-proxy-client",
        namespace: "sso",
        keys: {
          "client-secret": {
            length: 0,
            alphabet: "alphanumeric",
            fromEnv: {
              variable: "SSO_CLIENT_SECRET",
              what: "the GitHub OAuth app's client secret for Iv1.0123456789abcdef",
            },
          },
        },
        consumers: ["sso"],
      },
    ]);
    const delivered = d.objects.find((o) => o.kind === "VaultStaticSecret");
    expect(delivered?.metadata.name).toBe("oauth2-proxy-cookie");
    expect(delivered?.spec).toMatchObject({
      path: "staging/sso/oauth2-proxy-cookie",
      rolloutRestartTargets: [{ kind: "Deployment", name: "oauth2-proxy" }],
    });
  });

  it("without Vault (test): both are plinth Secrets, the cookie secret 32 CSPRNG characters; or both from variables", () => {
    expect(ssoOf("test").secrets.map((s) => [s.name, s.keys])).toEqual([
      ["oauth2-proxy-client", { "client-secret": expect.objectContaining({ fromEnv: expect.any(Object) }) }],
      ["oauth2-proxy-cookie", { "cookie-secret": { length: 32, alphabet: "alphanumeric" } }],
    ]);
    const own = ssoOf("test", { ...GITHUB, cookieSecret: { fromEnv: "SSO_COOKIE_SECRET" } });
    expect(own.secrets[1]?.keys["cookie-secret"]?.fromEnv?.variable).toBe("SSO_COOKIE_SECRET");
  });
});
