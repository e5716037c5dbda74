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
    prod: { cluster: "prod", domainPrefix: "", features: { observability: true } },
  },
});
