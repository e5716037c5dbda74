/**
 * Where the environment has Vault, the owner's password lives in KV (written by `plinth secrets
 * sync`, the step apply runs once Vault is up), `plinth secrets get` shows it, and it is the very
 * password the component's owner gets. Vault is a real OpenBao (the test bed's binary, a private
 * server for this file); the Vault Secrets Operator cannot run here (its module is refused by the
 * Go module proxy, test/engine/bed.ts), so this test copies the KV value into the Secret as the
 * operator's VaultStaticSecret does: the one stand-in besides the SigNoz API (stand-ins.ts).
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretEntries } from "../../src/catalog/vault-layout.js";
import { run } from "../../src/cli/main.js";
import { validateConfig } from "../../src/config/validate-config.js";
import { resolve } from "../../src/model/resolve.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { KubernetesProvider } from "../../src/providers/kubernetes/provider.js";
import { convergeVault, unsealFilePath, VaultClient } from "../../src/providers/vault/index.js";
import { KubeClient } from "../../testbed/kube/client.js";
import { kubeconfig, kubectl, kubectlJson } from "../engine/bed.js";
import { type ExecBed, planOf, runPlan } from "../engine/exec-plan.js";
import { tempDir } from "../helpers/config.js";
import { type BaoServer, startBao } from "../vault/server.js";
import { type StandIn, signozStandIn } from "./stand-ins.js";

const ENV = "owners-v";
const NS = `observability-${ENV}`;
const EMAIL = "owner@example.com";
const PASSPHRASE = "owners test passphrase, not a secret";

let bao: BaoServer;
let signoz: StandIn;
let project: string;
let bed: ExecBed;
let vaultKube: Record<string, string> = {};

function config() {
  return {
    project: "acme",
    defaults: { baseDomain: "example.com", internalDomain: "example.org", ownerEmail: EMAIL },
    clusters: { bed: { type: "existing" as const, kubeconfig: kubeconfig() } },
    environments: {
      [ENV]: { kind: "staging" as const, cluster: "bed", features: { observability: true } },
      "owners-w": { kind: "ci" as const, cluster: "bed" },
    },
  };
}

async function cli(args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    cwd: project,
    env: {
      PATH: process.env.PATH,
      VAULT_ADDR: bao.address,
      PLINTH_VAULT_PASSPHRASE: PASSPHRASE,
      // Vault runs outside the cluster: where its kubernetes auth reaches the API server.
      ...vaultKube,
    },
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}

/**
 * Vault's convergence as apply runs it. Phase 0's two Secrets (the platform PostgreSQL's password,
 * Vault's storage URL) are copied into KV from the cluster's shared `platform` namespace, which
 * this test leaves to others: they are handed in as made-up values instead.
 */
async function converge(): Promise<void> {
  const phaseZero = new Map<string, Record<string, string>>();
  const kube = KubeClient.fromKubeconfig(kubeconfig());
  await convergeVault({
    client: new VaultClient({ address: bao.address }),
    env: bed.env,
    ctx: { env: ENV, tooling: "plinth/test" },
    lifecycle: {
      cluster: "bed",
      unsealFile: unsealFilePath(project, "bed"),
      shares: 5,
      threshold: 3,
      passphrase: PASSPHRASE,
    },
    kubernetes: { host: kube.creds.server, caCert: kube.creds.ca.toString("utf8"), useLocalToken: false },
    reviewerJwt: vaultKube.PLINTH_VAULT_REVIEWER_JWT ?? "",
    kubeSecret: async (namespace, name) => {
      const key = `${namespace}/${name}`;
      if (!phaseZero.has(key)) {
        const password = randomBytes(24).toString("base64url");
        phaseZero.set(
          key,
          name === "vault-storage"
            ? {
                connection_url: `postgresql://vault:${password}@platform-postgres-rw.platform.svc:5432/vault`,
              }
            : { username: "vault", password },
        );
      }
      return phaseZero.get(key);
    },
    apply: true,
  });
}

describe.sequential("owner password held in Vault", () => {
  beforeAll(async () => {
    bao = await startBao();
    project = tempDir("plinth-owners-vault-");
    writeFileSync(
      join(project, "plinth.config.ts"),
      `import { defineConfig } from "plinth";\nexport default defineConfig(${JSON.stringify(config(), null, 2)});\n`,
    );
    const node = await kubectlJson<{ status: { addresses: { type: string; address: string }[] } }>(
      "get",
      "node",
      "kwok-node-0",
    );
    const ip = node.status.addresses.find((a) => a.type === "InternalIP")?.address ?? "";
    if (!ip || ip.startsWith("127."))
      throw new Error(`kwok's node has address ${ip || "none"}: restart the test bed`);
    signoz = await signozStandIn(ip);
    bed = {
      kube: new KubernetesProvider({ api: (await connect({ kubeconfig: kubeconfig() })).api }),
      env: resolve(validateConfig(config(), "plinth.config.ts"), ENV),
      ctx: { env: ENV, tooling: "plinth/test" },
      namespace: NS,
    };
    await kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    await kubectl("create", "namespace", NS);
    const kube = KubeClient.fromKubeconfig(kubeconfig());
    const caFile = join(project, "ca.pem");
    writeFileSync(caFile, kube.creds.ca);
    await kubectl("create", "serviceaccount", "vault-reviewer", "-n", NS);
    vaultKube = {
      PLINTH_VAULT_KUBE_HOST: kube.creds.server,
      PLINTH_VAULT_KUBE_CA_FILE: caFile,
      PLINTH_VAULT_REVIEWER_JWT: await kube.serviceAccountToken(NS, "vault-reviewer"),
    };
  });

  afterAll(async () => {
    await bao?.stop();
    await kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false").catch(() => undefined);
    await kubectl("delete", "configmap", "-n", "kube-system", `plinth-applyset-${ENV}`, "--ignore-not-found");
    await new Promise((done) => signoz?.server.close(done));
  });

  it("the password is generated into KV, shown by plinth secrets get, and is what SigNoz's owner gets", async () => {
    // The owner's secrets have their own KV paths, as every component secret does.
    const paths = secretEntries(bed.env)
      .filter((e) => e.spec.name.endsWith("-owner"))
      .map((e) => e.path)
      .sort();
    expect(paths).toEqual([`${ENV}/openpanel/openpanel-owner`, `${ENV}/signoz/signoz-owner`]);

    await converge();
    const got = await cli(["secrets", "get", ENV, "signoz", "owner-password"]);
    expect(got.code).toBe(0);
    const password = got.stdout.trim();
    expect(password).toMatch(/^[A-Za-z0-9]{32}-Aa1$/);
    expect((await cli(["secrets", "get", ENV, "signoz", "owner-email"])).stdout).toBe(`${EMAIL}\n`);

    // The Vault Secrets Operator's part (stand-in): KV's value into the Secret of the same name.
    await kubectl(
      "create",
      "secret",
      "generic",
      "signoz-owner",
      "-n",
      NS,
      `--from-literal=owner-email=${EMAIL}`,
      `--from-literal=owner-password=${password}`,
    );
    const selector = { app: "owner-stand-in" };
    const plan = await planOf(
      bed,
      {
        signoz: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "owner-stand-in", namespace: NS },
            spec: {
              replicas: 1,
              selector: { matchLabels: selector },
              template: {
                metadata: { labels: selector },
                spec: { hostNetwork: true, containers: [{ name: "s", image: "example.invalid/s:1.0.0" }] },
              },
            },
          },
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: `signoz-${ENV}`, namespace: NS },
            spec: { selector, ports: [{ name: "http", port: 8080, targetPort: signoz.port }] },
          },
        ],
      },
      {
        signoz: [
          { kind: "http", service: `signoz-${ENV}`, namespace: NS, port: 8080, path: "/api/v1/health" },
        ],
      },
    );
    const r = await runPlan(bed, plan);
    expect(r.error).toBeUndefined();
    expect(signoz.accounts).toEqual([{ email: EMAIL, password }]);
    // A second run keeps the value: the owner's password never changes behind its back.
    await converge();
    expect((await cli(["secrets", "get", ENV, "signoz", "owner-password"])).stdout.trim()).toBe(password);
  });

  it("plinth secrets rotate leaves the owner's password alone: it lives in the UI once the account exists", async () => {
    const before = (await cli(["secrets", "get", ENV, "signoz", "owner-password"])).stdout;
    const named = await cli(["secrets", "rotate", ENV, "signoz", "owner-random"]);
    expect(named.code).toBe(2);
    expect(named.stderr).toContain(
      "signoz-owner/owner-random: is not rotated by plinth (the owner's password lives in SigNoz itself once the account exists (plinth never resets it): change it there, in the UI)",
    );
    // The whole component: its other secrets rotate, the owner's stays.
    const all = await cli(["secrets", "rotate", ENV, "signoz"]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(
      new RegExp(`^rotated secret/${ENV}/signoz/\\S+: password \\(version 1 -> 2\\)$`, "m"),
    );
    expect(all.stdout).not.toContain("signoz-owner");
    expect((await cli(["secrets", "get", ENV, "signoz", "owner-password"])).stdout).toBe(before);
  });
});
