import { defineConfig, secret } from "plinth";

/**
 * The blueprint's five environments (Infra-001): staging and prod on their own VPSs, test on a
 * temporary one, ci and dev on clusters that already exist (a CI job's k3s container, a laptop).
 * Environments differ from `defaults` only where they must.
 */
export default defineConfig({
  project: "acme",
  defaults: {
    baseDomain: "example.com",
    internalDomain: "example.org",
    acmeEmail: "ops@example.com",
    features: { backstage: false },
    // The login in front of every internal UI (README "SSO"): a GitHub OAuth app, members of the
    // acme org's platform team pass. The client id is not secret; the client secret is read from
    // the environment at plan and apply (an offline plan only names it).
    sso: {
      provider: "github",
      org: "acme",
      teams: ["platform"],
      clientId: "Iv23liExampleClient0",
      clientSecret: secret.env("SSO_GITHUB_CLIENT_SECRET"),
    },
  },
  clusters: {
    staging: {
      type: "k3s-vps",
      vps: {
        host: "203.0.113.10",
        user: "root",
        sshPort: 22,
        sshKey: secret.env("STAGING_SSH_KEY"),
        memory: "16Gi",
        cores: 8,
      },
      k3s: { channel: "stable", version: "v1.33.5+k3s1" },
    },
    prod: {
      type: "k3s-vps",
      vps: {
        host: "203.0.113.20",
        user: "root",
        sshPort: 22,
        sshKey: secret.env("PROD_SSH_KEY"),
        memory: "16Gi",
        cores: 8,
      },
      k3s: { channel: "stable", version: "v1.33.5+k3s1" },
    },
    test: {
      type: "k3s-vps",
      vps: {
        host: "203.0.113.30",
        user: "root",
        sshPort: 22,
        sshKey: secret.env("TEST_SSH_KEY"),
        memory: "8Gi",
        cores: 4,
      },
      k3s: { channel: "stable", version: "v1.33.5+k3s1" },
    },
    ci: { type: "existing", kubeconfig: ".plinth/kubeconfig/ci.yaml" },
    local: { type: "existing", context: "k3d-plinth" },
  },
  environments: {
    dev: { cluster: "local" },
    ci: { cluster: "ci" },
    test: { cluster: "test" },
    staging: { cluster: "staging", domainPrefix: "x-staging", features: { observability: true } },
    prod: {
      cluster: "prod",
      domainPrefix: "",
      features: { observability: true },
      // Prod's UIs are narrower than staging's: only the platform admins.
      sso: { teams: ["platform-admins"] },
    },
  },
});
