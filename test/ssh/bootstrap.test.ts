/**
 * `plinth bootstrap` end to end, as a user runs it (the built CLI, `npm run build` first): k3s over
 * SSH on the test bed's SSH host with the STAND-IN installer of ./standin.ts (the real k3s download
 * is unreachable here), its kubeconfig fetched and pointed at the test bed's real API server, the
 * DNS records written to the STAND-IN of Cloudflare's API (../cloudflare/standin.ts, reached through
 * the SDK's CLOUDFLARE_BASE_URL), then phase 0's objects and the later phases applied through that
 * kubeconfig. This file runs in the engine project (vitest.config.ts), one file at a time with the
 * engine tests: it converges the same cluster-wide objects, and removes what it created at the end.
 */

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Plan } from "../../src/plan/plan.js";
import { CloudflareStandin } from "../cloudflare/standin.js";
import { ensureStandInCrds, kubectl, kubectlJson, plinth, type Run } from "../engine/bed.js";
import { optionalTestbedEnv, testbedEnv } from "../testbed/env.js";
import { asRoot, hostRoot, standInK3s } from "./standin.js";

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
      k3s: ${JSON.stringify({ channel: "stable", version: o.version ?? "v1.33.5+k3s1", ...standInK3s(project) })},
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
  // The parent goes only once its members have: without it a later destroy would find nothing.
  const destroyed = await plinth(["destroy", ENV, "--yes", "--delete-data"], dir, { env });
  if (destroyed.code === 0)
    await kubectl("delete", "configmap", "-n", "kube-system", `plinth-applyset-${ENV}`, "--ignore-not-found");
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
    expect(r.stdout).toContain("    K3sInstall vps  (k3s v1.33.5+k3s1, channel stable, up to date)");
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

/**
 * A public (test-kind) environment on a fresh stand-in VPS: every phase, and the DNS records of its
 * host table. A ci-kind peer on the same cluster suffixes its namespaces (`data-sshweb`) so they
 * never meet the engine tests' `data`; cluster-wide objects are adopted, then destroyed at the end.
 */
const WEB = "sshweb";
const webRoot = hostRoot();
const webDir = mkdtempSync(join(tmpdir(), "plinth-bootstrap-web-"));
let cf: CloudflareStandin;
let token: string;

function writeWebConfig(
  project: string,
  o: { baseDomain?: string; sshKey?: string; hostKeyFingerprint?: string } = {},
): void {
  writeFileSync(
    join(project, "plinth.config.ts"),
    `import { defineConfig, secret } from "plinth";

// Kubero is off: its operator manifest is fetched from GitHub at apply time, unreachable here.
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: ${JSON.stringify(o.baseDomain ?? "example.com")}, internalDomain: "example.org" },
  clusters: {
    vps: {
      type: "k3s-vps",
      vps: {
        host: ${JSON.stringify(testbedEnv("SSH_HOST"))},
        user: ${JSON.stringify(testbedEnv("SSH_USER"))},
        sshPort: ${testbedEnv("SSH_PORT")},
        sshKey: secret.file(${JSON.stringify(o.sshKey ?? testbedEnv("SSH_KEY"))}),
        hostKeyFingerprint: ${JSON.stringify(o.hostKeyFingerprint ?? testbedEnv("SSH_HOST_KEY_FINGERPRINT"))},
        memory: "16Gi",
        cores: 8,
      },
      k3s: ${JSON.stringify({ channel: "stable", version: "v1.33.5+k3s1", ...standInK3s(project, { tlsServerName: "localhost" }) })},
    },
  },
  environments: {
    ${WEB}: { kind: "test", cluster: "vps", domainPrefix: "x-${WEB}", components: { kubero: { enabled: false } } },
    ${WEB}peer: { kind: "ci", cluster: "vps" },
  },
});
`,
  );
}

/** The stored kubeconfig names the k3s API host, which only the stand-in zone knows: resolved by ./resolve-standin.mjs. */
const API_HOST = `k3s-${WEB}.example.org`;
const webEnv = (o: { token?: string; root?: string } = {}) => ({
  PLINTH_TEST_K3S_ROOT: o.root ?? webRoot,
  CLOUDFLARE_API_TOKEN: o.token ?? token,
  CLOUDFLARE_BASE_URL: cf.url,
  PLINTH_TEST_RESOLVE: `${API_HOST}=127.0.0.1`,
  NODE_OPTIONS:
    `${process.env.NODE_OPTIONS ?? ""} --import ${join(import.meta.dirname, "resolve-standin.mjs")}`.trim(),
});

describe.sequential("bootstrap and apply of a public environment: DNS (Cloudflare stand-in), every phase", {
  timeout: 300_000,
}, () => {
  beforeAll(async () => {
    cf = await new CloudflareStandin().start();
    cf.addZone("example.com");
    cf.addZone("example.org");
    token = cf.token("edit");
    cf.addRecord("example.com", { name: "www.example.com", type: "A", content: "192.0.2.7", proxied: true });
    cf.addRecord("example.org", { name: "foreign.example.org", type: "TXT", content: "v=spf1 -all" });
    writeWebConfig(webDir);
    await ensureStandInCrds();
  });

  afterAll(async () => {
    // The cluster-wide objects it adopted go too (and the ApplySet parent, once no member is left).
    if (existsSync(join(webDir, ".plinth", "kubeconfig", "vps.yaml"))) {
      await plinth(["destroy", WEB, "--yes", "--delete-data"], webDir, { env: webEnv() });
    }
    await asRoot(testbedEnv("SSH_KNOWN_HOSTS"), "rm", "-rf", webRoot).catch(() => {});
    await cf?.stop();
  });

  async function nothingWritten(project: string, root: string): Promise<void> {
    expect(cf.mutations()).toEqual([]);
    expect(existsSync(join(project, ".plinth", "kubeconfig", "vps.yaml"))).toBe(false);
    expect(await remoteExists(`${root}/etc/rancher/k3s/config.yaml`)).toBe(false);
  }

  it("a zone that is not in the Cloudflare account: exit 2 naming it; nothing on the VPS, locally or in DNS", async () => {
    const other = mkdtempSync(join(tmpdir(), "plinth-bootstrap-zone-"));
    writeWebConfig(other, { baseDomain: "example.net" });
    const root = hostRoot();
    cf.clearLog();
    const r = keep(await plinth(["bootstrap", WEB, "--yes"], other, { env: webEnv({ root }) }));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("example.net");
    expect(r.stderr).toContain(`environments.${WEB}.baseDomain`);
    expect(r.stderr).not.toContain("    at ");
    await nothingWritten(other, root);
  });

  it("a key the host does not accept: exit 2 naming the key, the user and the fix; nothing written", async () => {
    const other = mkdtempSync(join(tmpdir(), "plinth-bootstrap-key-"));
    const stranger = join(other, "stranger_ed25519");
    await promisify(execFile)("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger]);
    writeWebConfig(other, { sshKey: stranger });
    const root = hostRoot();
    cf.clearLog();
    const r = keep(await plinth(["bootstrap", WEB, "--yes"], other, { env: webEnv({ root }) }));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `refused the SSH key from file ${stranger} for user "${testbedEnv("SSH_USER")}"`,
    );
    expect(r.stderr).toContain("authorized_keys");
    expect(r.stderr).not.toContain("    at ");
    await nothingWritten(other, root);
  });

  it("a host key that is not the pinned one: exit 2 with both fingerprints; nothing written", async () => {
    const other = mkdtempSync(join(tmpdir(), "plinth-bootstrap-hostkey-"));
    const wrong = `SHA256:${randomBytes(32).toString("base64").replace(/=+$/, "")}`;
    writeWebConfig(other, { hostKeyFingerprint: wrong });
    const root = hostRoot();
    cf.clearLog();
    const r = keep(await plinth(["bootstrap", WEB, "--yes"], other, { env: webEnv({ root }) }));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("HOST KEY MISMATCH");
    expect(r.stderr).toContain(wrong);
    expect(r.stderr).toContain(testbedEnv("SSH_HOST_KEY_FINGERPRINT"));
    expect(r.stderr).toContain("clusters.vps.vps.hostKeyFingerprint");
    await nothingWritten(other, root);
  });

  it("a token without DNS edit permission: exit 2 naming the permission; nothing written", async () => {
    const root = hostRoot();
    cf.clearLog();
    const r = keep(
      await plinth(["bootstrap", WEB, "--yes"], webDir, { env: webEnv({ root, token: cf.token("read") }) }),
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("Zone.DNS:Edit");
    expect(r.stderr).not.toContain("    at ");
    await nothingWritten(webDir, root);
  });

  it("without CLOUDFLARE_API_TOKEN (cert-manager's DNS-01 needs it): exit 2 before SSH, DNS or the cluster", async () => {
    cf.clearLog();
    for (const command of ["bootstrap", "apply"]) {
      const r = keep(await plinth([command, WEB, "--yes"], webDir, { env: webEnv({ token: "" }) }));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("environment variable CLOUDFLARE_API_TOKEN is not set");
      expect(r.stderr).toContain("cert-manager/cloudflare-api-token");
      await nothingWritten(webDir, webRoot);
    }
  });

  it("bootstrap: k3s, one record per host of the model with its proxied flag, then all of phase 0", async () => {
    cf.clearLog();
    const r = keep(await plinth(["bootstrap", WEB, "--yes", "--no-wait"], webDir, { env: webEnv() }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("+ K3sInstall vps");
    expect(r.stdout).toContain(`+ DNS A x-${WEB}.example.com → 127.0.0.1 (proxied)`);
    expect(r.stdout).toContain(`+ DNS A ${API_HOST} → 127.0.0.1 (DNS only)`);
    expect(readFileSync(join(webDir, ".plinth", "kubeconfig", "vps.yaml"), "utf8")).toMatch(
      new RegExp(`server: https://${API_HOST.replaceAll(".", "\\.")}:\\d+\n`),
    );

    const domains = keep(await plinth(["domains", WEB, "--json"], webDir, { env: webEnv() }));
    const hosts = JSON.parse(domains.stdout) as Record<string, string>;
    expect(Object.keys(hosts).sort()).toEqual(["backend", "dashboard", "frontend", "k3s-api"]);
    for (const [service, host] of Object.entries(hosts)) {
      expect(cf.find(host, "A"), host).toMatchObject({
        content: "127.0.0.1",
        proxied: service !== "k3s-api",
        comment: expect.stringMatching(/^managed by plinth\/\S+ project=acme (env|cluster)=/),
      });
    }
    expect(
      cf
        .recordsOf("example.com")
        .map((x) => x.name)
        .sort(),
    ).toEqual(["www.example.com", `x-${WEB}-api.example.com`, `x-${WEB}.example.com`].sort());
    expect(cf.find("www.example.com")).toMatchObject({ content: "192.0.2.7", comment: null });
    expect(cf.find("foreign.example.org")).toMatchObject({ content: "v=spf1 -all", comment: null });

    // Phase 0 through the fetched kubeconfig: every component's objects, and nothing of later phases.
    expect(r.stdout).toContain("Plan: ");
    for (const [kind, name, ns] of [
      ["storageclass", "local-path-retain"],
      ["helmchartconfig", "traefik", "kube-system"],
      ["helmchart", "cert-manager", "kube-system"],
      ["clusterissuer", "plinth-letsencrypt-dns01"],
      ["certificate", "plinth-wildcard", "kube-system"],
      ["helmchart", "cnpg-operator", "kube-system"],
    ] as const) {
      const obj = await kubectlJson<{ metadata: { labels: Record<string, string> } }>(
        "get",
        kind,
        name,
        ...(ns ? ["-n", ns] : []),
      );
      expect(obj.metadata.labels["plinth.dev/environment"], `${kind} ${name}`).toBe(WEB);
    }
    const secret = await kubectlJson<{ data: Record<string, string> }>(
      "get",
      "secret",
      "cloudflare-api-token",
      "-n",
      "cert-manager",
    );
    expect(Buffer.from(secret.data["api-token"] ?? "", "base64").toString()).toBe(token);
    await expect(kubectl("get", "namespace", `data-${WEB}`)).rejects.toThrow(/NotFound/);
  });

  it("apply: k3s and DNS up to date, the remaining phases applied through the same kubeconfig", async () => {
    cf.clearLog();
    const r = keep(await plinth(["apply", WEB, "--yes", "--no-wait"], webDir, { env: webEnv() }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("K3sInstall");
    expect(r.stdout).toContain("DNS: 4 records, up to date");
    expect(cf.mutations()).toEqual([]);
    for (const phase of ["1", "2"]) expect(r.stdout).toContain(`Phase ${phase}`);
    // Core kinds only: the stand-in CRDs are shared with other test runs on the same API server.
    for (const [kind, name] of [
      ["configmap", "redis-config"],
      ["secret", "redis-auth"],
      ["secret", "postgres-app"],
    ]) {
      const obj = await kubectlJson<{ metadata: { labels: Record<string, string> } }>(
        "get",
        kind as string,
        name as string,
        "-n",
        `data-${WEB}`,
      );
      expect(obj.metadata.labels["plinth.dev/environment"], `${kind} ${name}`).toBe(WEB);
    }
  });

  it("a second run changes nothing; a record changed by hand shows in the plan and apply puts it back", async () => {
    cf.clearLog();
    const again = keep(await plinth(["plan", WEB], webDir, { env: webEnv() }));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("Plan: 0 to create, 0 to update, 0 to adopt, 0 to delete");
    expect(again.stdout).toContain("DNS: 4 records, up to date");

    const drifted = cf.find(`x-${WEB}.example.com`, "A");
    if (drifted) drifted.proxied = false;
    const planned = keep(await plinth(["plan", WEB, "--detailed-exitcode"], webDir, { env: webEnv() }));
    expect(planned.code, planned.stderr).toBe(1);
    expect(planned.stdout).toContain(`~ DNS A x-${WEB}.example.com → 127.0.0.1 (proxied)  [proxied]`);
    expect(cf.mutations()).toEqual([]);
    const r = keep(await plinth(["apply", WEB, "--yes", "--no-wait"], webDir, { env: webEnv() }));
    expect(r.code, r.stderr).toBe(0);
    expect(cf.find(`x-${WEB}.example.com`, "A")?.proxied).toBe(true);
    expect(cf.mutations()).toHaveLength(1);
    expect(cf.find("www.example.com")).toMatchObject({ content: "192.0.2.7", comment: null });
  });

  it("a saved plan carries its DNS records: refused once a record moved, applied with the plan otherwise", async () => {
    const drifted = cf.find(`x-${WEB}.example.com`, "A");
    if (drifted) drifted.proxied = false;
    const saved = keep(await plinth(["plan", WEB, "-o", "plan.json", "--json"], webDir, { env: webEnv() }));
    expect(saved.code, saved.stderr).toBe(0);
    const plan = JSON.parse(readFileSync(join(webDir, "plan.json"), "utf8")) as Plan;
    expect(
      plan.outside?.dns?.filter((c) => c.action !== "no-op").map((c) => `${c.action} ${c.kind} ${c.name}`),
    ).toEqual([`update DNS A x-${WEB}.example.com`]);
    expect(JSON.parse(saved.stdout)).toEqual(plan);

    // Another record edited by hand after the plan was made: the plan no longer holds.
    const api = cf.find(API_HOST, "A");
    if (!api) throw new Error(`${API_HOST} exists after bootstrap`);
    api.content = "192.0.2.99";
    cf.clearLog();
    const refused = keep(
      await plinth(["apply", "plan.json", "--yes", "--no-wait"], webDir, { env: webEnv() }),
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("plan.json: no longer matches what it was planned against");
    expect(refused.stderr).toContain(`DNS A ${API_HOST}: planned no change, now update (content)`);
    expect(cf.mutations()).toEqual([]);
    expect(cf.find(`x-${WEB}.example.com`, "A")?.proxied).toBe(false);

    api.content = "127.0.0.1";
    const applied = keep(
      await plinth(["apply", "plan.json", "--yes", "--no-wait"], webDir, { env: webEnv() }),
    );
    expect(applied.code, applied.stderr).toBe(0);
    expect(cf.find(`x-${WEB}.example.com`, "A")?.proxied).toBe(true);
    expect(cf.mutations()).toHaveLength(1);
  });

  it("the API token appears in no output, event stream or state file", () => {
    const stateDir = join(webDir, ".plinth", "state");
    const files = readdirSync(stateDir).map((f) => readFileSync(join(stateDir, f), "utf8"));
    expect(files.length).toBeGreaterThan(0);
    for (const text of [...outputs, ...files]) expect(text.includes(token)).toBe(false);
  });
});
