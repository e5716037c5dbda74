/**
 * `plinth bootstrap` end to end, as a user runs it (the built CLI, `npm run build` first): k3s over
 * SSH on the test bed's SSH host with the STAND-IN installer of ./standin.ts (the real k3s download
 * is unreachable here), its kubeconfig fetched and pointed at the test bed's real API server, then
 * phase 0's objects and the later phases applied through that kubeconfig.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlJson, plinth, type Run } from "../engine/bed.js";
import { optionalTestbedEnv, testbedEnv } from "../testbed/env.js";
import { asRoot, hostRoot, standInInstaller } from "./standin.js";

const ENV = "sshci";
const root = hostRoot();
const dir = mkdtempSync(join(tmpdir(), "plinth-bootstrap-"));
const knownHosts = join(dir, ".plinth", "known_hosts");
const kubeconfig = join(dir, ".plinth", "kubeconfig", "vps.yaml");
const env = { PLINTH_TEST_K3S_ROOT: root };

/**
 * Two ci-kind environments share the cluster, so per-environment namespaces are suffixed
 * (`data-sshci`). Every component that would put a cluster-wide object on the shared test API
 * server (Traefik's HelmChartConfig, the CloudNativePG and redis operators' HelmCharts in
 * kube-system) is off: the engine tests converge those same objects at the same time, and two
 * environments adopting one object back and forth would make both suites flaky.
 */
function writeConfig(project: string, o: { user?: string; version?: string } = {}): void {
  const components =
    "components: { traefik: { enabled: false }, postgres: { enabled: false }, redis: { enabled: false } }";
  writeFileSync(
    join(project, "plinth.config.ts"),
    `import { defineConfig, secret } from "plinth";

export default defineConfig({
  project: "acme",
  clusters: {
    vps: {
      type: "k3s-vps",
      vps: {
        host: ${JSON.stringify(testbedEnv("SSH_HOST"))},
        user: ${JSON.stringify(o.user ?? testbedEnv("SSH_USER"))},
        sshPort: ${testbedEnv("SSH_PORT")},
        sshKey: secret.file(${JSON.stringify(testbedEnv("SSH_KEY"))}),
        memory: "16Gi",
        cores: 8,
      },
      k3s: { channel: "stable", version: ${JSON.stringify(o.version ?? "v1.33.5+k3s1")}, installerUrl: ${JSON.stringify(standInInstaller(project))} },
    },
  },
  environments: {
    ${ENV}: { kind: "ci", cluster: "vps", ${components} },
    ${ENV}2: { kind: "ci", cluster: "vps", ${components} },
  },
});
`,
  );
}

const outputs: string[] = [];
function keep(r: Run): Run {
  outputs.push(r.stdout, r.stderr);
  return r;
}

async function remoteExists(path: string): Promise<boolean> {
  return (await asRoot(knownHosts, "test", "-e", path)).code === 0;
}

beforeAll(async () => {
  expect(existsSync(join(import.meta.dirname, "../../dist/cli/main.js")), "run npm run build first").toBe(
    true,
  );
  writeConfig(dir);
});

afterAll(async () => {
  await plinth(["destroy", ENV, "--yes", "--delete-data"], dir, { env });
  await asRoot(testbedEnv("SSH_KNOWN_HOSTS"), "rm", "-rf", root).catch(() => {});
});

describe.sequential("plinth bootstrap (stand-in k3s installer)", { timeout: 180_000 }, () => {
  it("refuses first contact without --accept-host-key: exit 2, the fingerprint, nothing written", async () => {
    const r = keep(await plinth(["bootstrap", ENV, "--yes"], dir, { env }));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("is not known yet");
    expect(r.stderr).toContain(testbedEnv("SSH_HOST_KEY_FINGERPRINT"));
    expect(r.stderr).toContain(`plinth bootstrap ${ENV} --accept-host-key`);
    expect(r.stderr).not.toContain("    at ");
    expect(existsSync(knownHosts)).toBe(false);
    expect(existsSync(kubeconfig)).toBe(false);
  });

  it("with --accept-host-key: records the key, installs k3s, stores the kubeconfig 0600, applies phase 0", async () => {
    const r = keep(await plinth(["bootstrap", ENV, "--accept-host-key", "--yes"], dir, { env }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("+ K3sInstall vps");
    expect(r.stdout).toContain("version: (absent) → v1.33.5+k3s1");
    expect(r.stderr).toContain("waiting for the k3s node");
    expect(readFileSync(knownHosts, "utf8")).toMatch(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const port = new URL(/server: (\S+)/.exec(readFileSync(testbedEnv("KUBECONFIG"), "utf8"))?.[1] ?? "")
      .port;
    expect(readFileSync(kubeconfig, "utf8")).toContain(`server: https://127.0.0.1:${port}\n`);
    const sc = await kubectlJson<{
      metadata: { labels: Record<string, string> };
      provisioner: string;
      reclaimPolicy: string;
      parameters: Record<string, string>;
    }>("get", "storageclass", "local-path-retain");
    expect(sc).toMatchObject({
      provisioner: "rancher.io/local-path",
      reclaimPolicy: "Retain",
      parameters: { nodePath: "/var/lib/plinth/volumes" },
    });
    expect(sc.metadata.labels["plinth.dev/environment"]).toBe(ENV);
  });

  it("a second bootstrap changes nothing on the VPS or the cluster", async () => {
    const r = keep(await plinth(["bootstrap", ENV, "--yes"], dir, { env }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("= K3sInstall vps  (k3s v1.33.5+k3s1, channel stable, up to date)");
    expect(r.stdout).toContain("Plan: 0 to create, 0 to update, 0 to adopt, 0 to delete");
    expect((await asRoot(knownHosts, "cat", `${root}/etc/rancher/k3s/standin-installs`)).stdout.trim()).toBe(
      "1",
    );
  });

  it("plinth apply upgrades k3s when the pin moves, then plans and applies the phases through the kubeconfig", async () => {
    writeConfig(dir, { version: "v1.33.6+k3s1" });
    const r = keep(await plinth(["apply", ENV, "--yes"], dir, { env }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("~ K3sInstall vps");
    expect(r.stdout).toContain("version: v1.33.5+k3s1 → v1.33.6+k3s1");
    expect(r.stdout).toContain("Plan: 0 to create, 0 to update, 0 to adopt, 0 to delete");
    expect((await asRoot(knownHosts, "cat", `${root}/etc/rancher/k3s/standin-installs`)).stdout.trim()).toBe(
      "2",
    );
    const again = keep(await plinth(["plan", ENV, "--json"], dir, { env }));
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).summary).toMatchObject({ create: 0, update: 0, adopt: 0, delete: 0 });
  });

  it.skipIf(!optionalTestbedEnv("SSH_NOSUDO_USER"))(
    "a user without passwordless sudo: exit 2 naming the user and the fix; no config.yaml, no kubeconfig",
    async () => {
      const other = mkdtempSync(join(tmpdir(), "plinth-bootstrap-nosudo-"));
      writeConfig(other, { user: optionalTestbedEnv("SSH_NOSUDO_USER") ?? "" });
      const otherRoot = hostRoot();
      const r = keep(
        await plinth(["bootstrap", ENV, "--accept-host-key", "--yes"], other, {
          env: { PLINTH_TEST_K3S_ROOT: otherRoot },
        }),
      );
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(
        `user "${optionalTestbedEnv("SSH_NOSUDO_USER")}" on 127.0.0.1 cannot run sudo`,
      );
      expect(r.stderr).toContain("clusters.vps.vps.user");
      expect(existsSync(join(other, ".plinth", "kubeconfig", "vps.yaml"))).toBe(false);
      expect(await remoteExists(`${otherRoot}/etc/rancher/k3s/config.yaml`)).toBe(false);
    },
  );

  it("a closed SSH port: exit 2, the address and the fields to check", async () => {
    const other = mkdtempSync(join(tmpdir(), "plinth-bootstrap-closed-"));
    writeConfig(other);
    const source = readFileSync(join(other, "plinth.config.ts"), "utf8");
    writeFileSync(join(other, "plinth.config.ts"), source.replace(/sshPort: \d+/, "sshPort: 1"));
    const r = keep(await plinth(["bootstrap", ENV, "--yes"], other, { env }));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("cannot reach 127.0.0.1:1: connection refused");
    expect(existsSync(join(other, ".plinth", "kubeconfig", "vps.yaml"))).toBe(false);
  });
});
