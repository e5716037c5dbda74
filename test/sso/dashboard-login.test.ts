/**
 * Headlamp without a hand-copied token behind an OIDC login (README "SSO"), as rendered: the gate
 * sets the ID token as `Authorization` on its answer, only the dashboard's Middleware passes it
 * on, the allowed groups are bound to `view`, and k3s is configured to trust the issuer. The same
 * objects against real servers: dashboard-apiserver.test.ts.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  AUTHENTICATION_CONFIG_PATH,
  apiServerTrust,
  dashboardRbac,
} from "../../src/catalog/api-server-auth.js";
import { gateSettings, oauth2ProxyConfig } from "../../src/catalog/components/sso.js";
import { CATALOG } from "../../src/catalog/index.js";
import type { UserConfig } from "../../src/config/schema.js";
import { resolve } from "../../src/model/resolve.js";
import { desiredK3s, k3sConfigYaml } from "../../src/providers/ssh/k3s.js";
import { exampleWith } from "../helpers/config.js";

type Sso = NonNullable<NonNullable<UserConfig["defaults"]>["sso"]>;

const OIDC: Sso = {
  provider: "oidc",
  issuer: "https://id.example.org/realms/acme",
  allowedGroups: ["platform"],
  clientId: "plinth-gate",
  clientSecret: { fromEnv: "SSO_CLIENT_SECRET" },
};

const withSso = (sso?: Sso) =>
  exampleWith((raw) => {
    if (sso) raw.defaults = { ...raw.defaults, sso };
    // The example's prod narrows GitHub teams, which another provider does not have.
    if (sso) delete raw.environments.prod?.sso;
  });

const middlewareOf = (env: ReturnType<typeof resolve>, component: "dashboard" | "signoz") =>
  CATALOG[component].objects(env).find((o) => o.kind === "Middleware")?.spec as
    | { forwardAuth: { authResponseHeaders: string[] } }
    | undefined;

describe("the dashboard behind an OIDC login", () => {
  const oidc = resolve(withSso(OIDC), "staging");
  const vault = resolve(withSso({ provider: "vault", allowedGroups: ["platform"] }), "staging");
  const github = resolve(withSso(), "staging");

  it("OAuth2-Proxy answers with the ID token as Authorization where it has one (not GitHub's OAuth)", () => {
    for (const env of [oidc, vault]) {
      expect(oauth2ProxyConfig(gateSettings(env)).args).toContain("--set-authorization-header=true");
    }
    expect(oauth2ProxyConfig(gateSettings(github)).args.join(" ")).not.toContain("authorization-header");
  });

  it("only the dashboard's Middleware passes it on; every other UI gets the identity headers alone", () => {
    for (const env of [oidc, vault]) {
      expect(middlewareOf(env, "dashboard")?.forwardAuth.authResponseHeaders).toContain("Authorization");
      expect(middlewareOf(env, "signoz")?.forwardAuth.authResponseHeaders).not.toContain("Authorization");
    }
    expect(middlewareOf(github, "dashboard")?.forwardAuth.authResponseHeaders).not.toContain("Authorization");
  });

  it("binds the allowed groups, as the API server names them, to the built-in view role", () => {
    const objects = CATALOG.dashboard.objects(oidc).filter((o) => o.kind === "ClusterRoleBinding");
    expect(objects).toEqual(dashboardRbac(oidc));
    expect(objects[0]).toMatchObject({
      metadata: { name: "plinth-dashboard-sso" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "oidc:platform" }],
    });
    // The chart's own cluster-admin binding stays off.
    const chart = CATALOG.dashboard.objects(oidc).find((o) => o.kind === "HelmChart");
    expect(parse((chart?.spec as { valuesContent?: string } | undefined)?.valuesContent ?? "")).toMatchObject(
      {
        clusterRoleBinding: { create: false },
      },
    );
    expect(dashboardRbac(github)).toEqual([]);
  });

  it("k3s trusts an oidc gate's issuer for its client id through an AuthenticationConfiguration", () => {
    expect(apiServerTrust(oidc)).toEqual({ issuer: OIDC.issuer, audience: "plinth-gate" });
    expect(parse(k3sConfigYaml(oidc))).toMatchObject({
      "kube-apiserver-arg": [`authentication-config=${AUTHENTICATION_CONFIG_PATH}`],
    });
    const spec = desiredK3s(oidc, { kubeconfigPath: "/tmp/k.yaml" });
    expect(spec.authenticationYaml?.startsWith("# Written by plinth for cluster staging")).toBe(true);
    expect(parse(spec.authenticationYaml ?? "")).toEqual({
      apiVersion: "apiserver.config.k8s.io/v1beta1",
      kind: "AuthenticationConfiguration",
      jwt: [
        {
          issuer: { url: OIDC.issuer, audiences: ["plinth-gate"] },
          claimMappings: {
            username: { claim: "email", prefix: "oidc:" },
            groups: { claim: "groups", prefix: "oidc:" },
          },
        },
      ],
    });
  });

  it("provider vault: k3s passes the file, with no authenticator until the Vault step writes the issued client id", () => {
    const trust = apiServerTrust(vault);
    expect(trust).toEqual({
      issuer: `https://${vault.hosts.vault?.host}/v1/identity/oidc/provider/plinth-staging-sso`,
      issuedFor: "staging",
    });
    expect(apiServerTrust(vault, "issued-id")?.audience).toBe("issued-id");
    expect(parse(k3sConfigYaml(vault))["kube-apiserver-arg"]).toEqual([
      `authentication-config=${AUTHENTICATION_CONFIG_PATH}`,
    ]);
    const spec = desiredK3s(vault, { kubeconfigPath: "/tmp/k.yaml" });
    expect(spec.authenticationIfAbsent).toBe(true);
    expect(parse(spec.authenticationYaml ?? "")).toEqual({
      apiVersion: "apiserver.config.k8s.io/v1beta1",
      kind: "AuthenticationConfiguration",
      jwt: [],
    });
  });

  it("writes no trust where there is no ID token (GitHub)", () => {
    expect(apiServerTrust(github)).toBeUndefined();
    expect(parse(k3sConfigYaml(github))["kube-apiserver-arg"]).toBeUndefined();
    expect(desiredK3s(github, { kubeconfigPath: "/tmp/k.yaml" }).authenticationYaml).toBeUndefined();
  });
});
