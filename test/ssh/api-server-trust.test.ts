/**
 * `sso: { provider: "vault" }` on a k3s-vps cluster, over SSH against the test bed's SSH host
 * (Debian's sshd standing in for the VPS, files under a test root): k3s's bootstrap leaves the API
 * server's AuthenticationConfiguration with no authenticator where there is none, never over the
 * Vault step's; the Vault step's write changes the file only when its content differs.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  AUTHENTICATION_CONFIG_PATH,
  apiServerTrust,
  authenticationFile,
} from "../../src/catalog/api-server-auth.js";
import { apiServerTrustWriter } from "../../src/cli/commands/bootstrap.js";
import { resolve } from "../../src/model/resolve.js";
import { openSsh, type SshConnection } from "../../src/providers/ssh/connection.js";
import { k3sConfigYaml, k3sPaths, planK3s, writeAuthentication } from "../../src/providers/ssh/k3s.js";
import { privileged, type RemoteHost } from "../../src/providers/ssh/sudo.js";
import { exampleWith } from "../helpers/config.js";
import { testbedEnv } from "../testbed/env.js";
import { asRoot, bedTarget, hostRoot } from "./standin.js";

const dir = mkdtempSync(join(tmpdir(), "plinth-trust-"));
const known = join(dir, "known_hosts");
const root = hostRoot();
const file = k3sPaths(root).authenticationFile;

/** The example's staging with a Vault-issued gate, its VPS the test bed's SSH host. */
const staging = resolve(
  exampleWith((raw) => {
    raw.defaults = { ...raw.defaults, sso: { provider: "vault", allowedGroups: ["platform"] } };
    delete raw.environments.prod?.sso;
    const vps = raw.clusters.staging?.vps;
    if (vps) {
      Object.assign(vps, {
        host: testbedEnv("SSH_HOST"),
        user: testbedEnv("SSH_USER"),
        sshPort: Number(testbedEnv("SSH_PORT")),
        sshKey: { fromFile: testbedEnv("SSH_KEY") },
      });
    }
  }),
  "staging",
);

describe("the API server's trust of Vault's issuer, written over SSH", () => {
  let conn: SshConnection;
  let host: RemoteHost;
  const options = { kubeconfigPath: join(dir, "kubeconfig"), root };

  beforeAll(async () => {
    conn = await openSsh(bedTarget({ knownHostsFile: known }));
    host = await privileged(conn);
  });
  afterAll(async () => {
    conn?.close();
    await asRoot(known, "rm", "-rf", root);
  });

  it("k3s's bootstrap passes the file for provider vault and plans it with no authenticator while none exists", async () => {
    const trust = apiServerTrust(staging);
    expect(trust?.issuedFor).toBe("staging");
    expect(trust?.audience).toBeUndefined();
    expect(trust?.issuer).toMatch(/^https:\/\/[^/]+\/v1\/identity\/oidc\/provider\/plinth-staging-sso$/);
    expect(parse(k3sConfigYaml(staging))["kube-apiserver-arg"]).toEqual([
      `authentication-config=${AUTHENTICATION_CONFIG_PATH}`,
    ]);
    const change = await planK3s(staging, host, options);
    const planned = change.diff.find((d) => d.path === "authentication.yaml");
    expect(planned?.before).toBeUndefined();
    expect(parse(String(planned?.after))).toEqual({
      apiVersion: "apiserver.config.k8s.io/v1beta1",
      kind: "AuthenticationConfiguration",
      jwt: [],
    });
  });

  it("the Vault step writes the authenticator once, as root, 0600; k3s's plan then leaves it alone", async () => {
    const content = authenticationFile(staging.cluster.name, {
      issuer: apiServerTrust(staging)?.issuer ?? "",
      audience: "issued-client-id",
    });
    expect(await writeAuthentication(host, content, root)).toBe(true);
    const onHost = await asRoot(known, "cat", file);
    expect(onHost.stdout).toBe(content);
    expect(parse(onHost.stdout).jwt[0].issuer.audiences).toEqual(["issued-client-id"]);
    expect((await asRoot(known, "stat", "-c", "%a %U", file)).stdout.trim()).toBe("600 root");
    // Same content: nothing written (the file's inode stays).
    const inode = (await asRoot(known, "stat", "-c", "%i", file)).stdout;
    expect(await writeAuthentication(host, content, root)).toBe(false);
    expect((await asRoot(known, "stat", "-c", "%i", file)).stdout).toBe(inode);
    // k3s's own plan never puts the empty list back over the Vault step's authenticator.
    const change = await planK3s(staging, host, options);
    expect(change.diff.map((d) => d.path)).not.toContain("authentication.yaml");
    // A new client id (the client made again in Vault) is a rewrite.
    const next = authenticationFile(staging.cluster.name, {
      issuer: apiServerTrust(staging)?.issuer ?? "",
      audience: "another-client-id",
    });
    expect(await writeAuthentication(host, next, root)).toBe(true);
    expect((await asRoot(known, "cat", file)).stdout).toBe(next);
  });

  it("apply's writer (the CLI's, given to the Vault step) connects with the cluster's key and host key, writes once and reports it", async () => {
    const project = mkdtempSync(join(tmpdir(), "plinth-trust-cli-"));
    let stderr = "";
    const input = {
      env: staging,
      configDir: project,
      args: { positionals: ["staging"], values: { "accept-host-key": true } },
      ctx: {
        cwd: project,
        env: { PLINTH_TEST_K3S_ROOT: root },
        stdout: () => {},
        stderr: (t: string) => {
          stderr += t;
        },
      },
      acceptCommand: "plinth bootstrap staging --accept-host-key",
    };
    const write = apiServerTrustWriter(input);
    expect(write).toBeDefined();
    const content = authenticationFile(staging.cluster.name, {
      issuer: apiServerTrust(staging)?.issuer ?? "",
      audience: "client-from-the-cli",
    });
    expect(await write?.(content)).toBe(true);
    expect(stderr).toContain(`wrote ${AUTHENTICATION_CONFIG_PATH} on ${testbedEnv("SSH_HOST")}`);
    expect((await asRoot(known, "cat", file)).stdout).toBe(content);
    expect(await write?.(content)).toBe(false);
    // Nothing to write where the gate is not Vault's (or its Vault step is not the dashboard's gate).
    const github = resolve(
      exampleWith(() => {}),
      "staging",
    );
    expect(apiServerTrustWriter({ ...input, env: github })).toBeUndefined();
  });
});
