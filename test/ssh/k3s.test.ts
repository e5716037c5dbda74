/**
 * k3s over SSH against the test bed's SSH host (Debian's sshd standing in for the VPS), with the
 * STAND-IN k3s installer of ./standin.ts (the real k3s download is unreachable here), served from a
 * file or from real HTTPS servers on loopback (127.0.0.1 and 127.0.0.2) with a test certificate.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer, request as httpsRequest, type Server } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserConfig } from "../../src/config/schema.js";
import { validateConfig } from "../../src/config/validate-config.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { resolve } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { fetchBytes } from "../../src/providers/download.js";
import { openSsh } from "../../src/providers/ssh/connection.js";
import { applyK3s, type K3sOptions, type K3sSpec, k3sPaths, planK3s } from "../../src/providers/ssh/k3s.js";
import { privileged } from "../../src/providers/ssh/sudo.js";
import { optionalTestbedEnv, testbedEnv } from "../testbed/env.js";
import { asRoot, bedTarget, hostRoot, standInK3s } from "./standin.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "plinth-ssh-"));
const known = join(dir, "known_hosts");
const root = hostRoot();
const paths = k3sPaths(root);

function config(
  version: string,
  k3s: Partial<NonNullable<UserConfig["clusters"][string]["k3s"]>>,
): UserConfig {
  return {
    project: "acme",
    defaults: { baseDomain: "example.com", internalDomain: "example.org" },
    clusters: {
      vps: {
        type: "k3s-vps",
        vps: {
          host: testbedEnv("SSH_HOST"),
          user: testbedEnv("SSH_USER"),
          sshPort: Number(testbedEnv("SSH_PORT")),
          sshKey: { fromFile: testbedEnv("SSH_KEY") },
          memory: "16Gi",
          cores: 8,
        },
        k3s: { channel: "stable", version, ...k3s },
        storagePath: "/srv/plinth-volumes",
      },
    },
    environments: { staging: { cluster: "vps" } },
  };
}

function staging(
  version = "v1.33.5+k3s1",
  k3s: Parameters<typeof config>[1] = standInK3s(dir),
): ResolvedEnvironment {
  return resolve(validateConfig(config(version, k3s), "plinth.config.ts"), "staging");
}

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

/** What shows that nothing ran on the host: the installed version, config.yaml, the install count. */
async function hostState(): Promise<string[]> {
  return [
    (await asRoot(known, paths.bin, "--version")).stdout,
    (await asRoot(known, "cat", paths.configFile)).stdout,
    (await asRoot(known, "cat", `${root}/etc/rancher/k3s/standin-installs`)).stdout,
  ];
}

/**
 * `fetch` that trusts the test certificate: the only stand-in on this path (Node reads extra CAs at
 * start-up only). It follows no redirect itself, so what is followed or refused is plinth's own
 * same-origin rule in fetchBytes.
 */
function trustingFetch(ca: string): typeof fetch {
  return ((input: string | URL) =>
    new Promise<Response>((done, fail) => {
      const req = httpsRequest(new URL(String(input)), { ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const headers = Object.entries(res.headers).filter(
            (e): e is [string, string] => typeof e[1] === "string",
          );
          done(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers }));
        });
      });
      req.on("error", fail);
      req.end();
    })) as typeof fetch;
}

const options = (): K3sOptions => ({
  kubeconfigPath: join(dir, "kube", "vps.yaml"),
  root,
  pollIntervalMs: 100,
  readyTimeoutMs: 30_000,
});

async function host() {
  return privileged(await openSsh(bedTarget({ knownHostsFile: known })));
}

async function userError(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  return (e as UserError).message;
}

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

afterAll(async () => {
  await asRoot(known, "rm", "-rf", root).catch(() => {});
});

describe("host-key pinning", () => {
  const unpinned = (file: string, accept = false) =>
    bedTarget({
      knownHostsFile: file,
      hostKeyFingerprint: undefined,
      acceptHostKey: accept,
      acceptCommand: "plinth bootstrap staging --accept-host-key",
    });

  it("refuses first contact without --accept-host-key, naming the fingerprint and the fix; records nothing", async () => {
    const file = join(dir, "first", "known_hosts");
    const message = await userError(openSsh(unpinned(file)));
    expect(message).toContain("is not known yet");
    expect(message).toContain(testbedEnv("SSH_HOST_KEY_FINGERPRINT"));
    expect(message).toContain("--accept-host-key");
    expect(existsSync(file)).toBe(false);
  });

  it("accepts it with --accept-host-key and records it; the next contact needs no flag", async () => {
    const file = join(dir, "accept", "known_hosts");
    (await openSsh(unpinned(file, true))).close();
    const line = readFileSync(file, "utf8");
    expect(line).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${testbedEnv("SSH_PORT")} ssh-ed25519 \\S+\\n$`));
    (await openSsh(unpinned(file))).close();
    expect(readFileSync(file, "utf8")).toBe(line);
  });

  it("refuses a key that differs from the recorded one, with both fingerprints, even with --accept-host-key", async () => {
    const file = join(dir, "mismatch", "known_hosts");
    const other = join(dir, "other_host_key");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    const pub = readFileSync(`${other}.pub`, "utf8").split(" ");
    const { stdout } = await run("ssh-keygen", ["-l", "-E", "sha256", "-f", `${other}.pub`]);
    const otherFp = /SHA256:\S+/.exec(stdout)?.[0] ?? "";
    (await import("node:fs")).mkdirSync(join(dir, "mismatch"), { recursive: true });
    writeFileSync(file, `[127.0.0.1]:${testbedEnv("SSH_PORT")} ${pub[0]} ${pub[1]}\n`);
    const message = await userError(openSsh(unpinned(file, true)));
    expect(message).toContain("HOST KEY MISMATCH");
    expect(message).toContain(testbedEnv("SSH_HOST_KEY_FINGERPRINT"));
    expect(message).toContain(otherFp);
    expect(message).toContain("line 1");
  });

  it("uses the pinned fingerprint: the right one connects, a wrong one is refused with both", async () => {
    (await openSsh(bedTarget({ knownHostsFile: known }))).close();
    const wrong = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const message = await userError(openSsh(bedTarget({ knownHostsFile: known, hostKeyFingerprint: wrong })));
    expect(message).toContain("HOST KEY MISMATCH");
    expect(message).toContain(wrong);
    expect(message).toContain(testbedEnv("SSH_HOST_KEY_FINGERPRINT"));
    expect(message).toContain("clusters.vps.vps.hostKeyFingerprint");
  });
});

describe("bad input: each a clear UserError before anything changes", () => {
  it("an unreachable host (closed port)", async () => {
    const port = await freePort();
    const message = await userError(openSsh(bedTarget({ knownHostsFile: known, port })));
    expect(message).toContain(`cannot reach 127.0.0.1:${port}: connection refused`);
    expect(message).toContain("sshPort");
  });

  it("a key the host does not accept", async () => {
    const stranger = join(dir, "stranger");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger]);
    const message = await userError(
      openSsh(
        bedTarget({
          knownHostsFile: known,
          privateKey: readFileSync(stranger, "utf8"),
          keySource: "env STRANGER_KEY",
        }),
      ),
    );
    expect(message).toContain(
      `refused the SSH key from env STRANGER_KEY for user "${testbedEnv("SSH_USER")}"`,
    );
    expect(message).toContain("authorized_keys");
  });

  it("something that is not a private key", async () => {
    const message = await userError(
      openSsh(
        bedTarget({
          knownHostsFile: known,
          privateKey: readFileSync(`${testbedEnv("SSH_KEY")}.pub`, "utf8"),
        }),
      ),
    );
    expect(message).toContain("not a private key plinth can read");
  });

  it.skipIf(!optionalTestbedEnv("SSH_NOSUDO_USER"))("a user without passwordless sudo", async () => {
    const user = optionalTestbedEnv("SSH_NOSUDO_USER") ?? "";
    const conn = await openSsh(bedTarget({ knownHostsFile: known, user }));
    try {
      const message = await userError(privileged(conn));
      expect(message).toContain(`user "${user}" on 127.0.0.1 cannot run sudo without a password`);
      expect(message).toContain("NOPASSWD");
      expect(message).toContain("clusters.vps.vps.user");
    } finally {
      conn.close();
    }
  });
});

describe.sequential("k3s install, no-op, upgrade (stand-in installer)", () => {
  beforeAll(async () => {
    await asRoot(known, "rm", "-rf", root);
  });

  it("plans a create, installs, waits for Ready, stores the rewritten kubeconfig 0600", async () => {
    const env = staging();
    const h = await host();
    try {
      const change = await planK3s(env, h, options());
      expect(change.action).toBe("create");
      expect(change.diff.find((d) => d.path === "version")).toEqual({
        path: "version",
        before: undefined,
        after: "v1.33.5+k3s1",
      });
      await applyK3s(change, h, options());
    } finally {
      h.conn.close();
    }
    const config = (await asRoot(known, "cat", paths.configFile)).stdout;
    expect(config).toContain("tls-san:\n  - k3s-staging.example.org\n  - 127.0.0.1\n");
    expect(config).toContain('write-kubeconfig-mode: "0600"');
    expect(config).toContain("default-local-storage-path: /srv/plinth-volumes");
    expect((await asRoot(known, "cat", `${root}/etc/rancher/k3s/standin-channel`)).stdout.trim()).toBe(
      "stable",
    );
    // The stand-in's node was NotReady on the first poll: plinth waited for the condition.
    expect(
      Number((await asRoot(known, "cat", `${root}/etc/rancher/k3s/standin-polls`)).stdout),
    ).toBeGreaterThanOrEqual(2);
    const stored = options().kubeconfigPath;
    expect(statSync(stored).mode & 0o777).toBe(0o600);
    const port = new URL(/server: (\S+)/.exec(readFileSync(testbedEnv("KUBECONFIG"), "utf8"))?.[1] ?? "")
      .port;
    expect(readFileSync(stored, "utf8")).toContain(`server: https://k3s-staging.example.org:${port}\n`);
  });

  it("a second run is a no-op", async () => {
    const h = await host();
    try {
      const change = await planK3s(staging(), h, options());
      expect(change.action).toBe("no-op");
      expect(change.diff).toEqual([]);
    } finally {
      h.conn.close();
    }
    expect((await asRoot(known, "cat", `${root}/etc/rancher/k3s/standin-installs`)).stdout.trim()).toBe("1");
  });

  it("a version change is an update with before/after, and apply upgrades", async () => {
    const env = staging("v1.33.6+k3s1");
    const h = await host();
    try {
      const change = await planK3s(env, h, options());
      expect(change.action).toBe("update");
      expect(change.diff[0]).toEqual({ path: "version", before: "v1.33.5+k3s1", after: "v1.33.6+k3s1" });
      await applyK3s(change, h, options());
      expect((await planK3s(env, h, options())).action).toBe("no-op");
    } finally {
      h.conn.close();
    }
    expect((await asRoot(known, "cat", `${root}/etc/rancher/k3s/standin-installs`)).stdout.trim()).toBe("2");
    expect((await asRoot(known, paths.bin, "--version")).stdout).toContain("v1.33.6+k3s1");
  });

  it("a lost local kubeconfig is fetched again without reinstalling", async () => {
    (await import("node:fs")).rmSync(options().kubeconfigPath);
    const env = staging("v1.33.6+k3s1");
    const h = await host();
    try {
      const change = await planK3s(env, h, options());
      expect(change.action).toBe("update");
      expect(change.diff.map((d) => d.path)).toEqual(["kubeconfig"]);
      expect(change.spec?.install).toBe(false);
      await applyK3s(change, h, options());
    } finally {
      h.conn.close();
    }
    expect(existsSync(options().kubeconfigPath)).toBe(true);
    expect((await asRoot(known, "cat", `${root}/etc/rancher/k3s/standin-installs`)).stdout.trim()).toBe("2");
  });

  it("an installer URL that does not answer fails before anything changes on the host", async () => {
    const env = staging("v1.33.7+k3s1", {
      installerUrl: `https://127.0.0.1:${await freePort()}/install.sh`,
      installerSha256: "0".repeat(64),
    });
    const h = await host();
    try {
      const change = await planK3s(env, h, options());
      const message = await userError(applyK3s(change, h, options()));
      expect(message).toContain("cannot fetch the k3s installer");
      expect(message).toContain("clusters.vps.k3s.installerUrl");
    } finally {
      h.conn.close();
    }
    expect((await asRoot(known, paths.bin, "--version")).stdout).toContain("v1.33.6+k3s1");
    expect((await asRoot(known, "cat", paths.configFile)).stdout).toContain("# Written by plinth");
  });
});

describe.sequential("the installer is checked before anything runs on the VPS", () => {
  let tls: { key: string; cert: string };
  let home: Server;
  let elsewhere: Server;
  let base = "";
  let other = "";
  const elsewhereHits: string[] = [];
  let script = "";

  const listen = (server: Server, ip: string) =>
    new Promise<string>((done) =>
      server.listen(0, ip, () => done(`https://${ip}:${(server.address() as { port: number }).port}`)),
    );

  beforeAll(async () => {
    // The stand-in's k3s state from the install tests above: k3s v1.33.6+k3s1, installed twice.
    expect((await asRoot(known, paths.bin, "--version")).stdout).toContain("v1.33.6+k3s1");
    await run("openssl", [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", join(dir, "tls.key"), "-out", join(dir, "tls.crt"), "-days", "1"],
      ...["-subj", "/CN=plinth-test-installer", "-addext", "subjectAltName=IP:127.0.0.1,IP:127.0.0.2"],
    ]);
    tls = {
      key: readFileSync(join(dir, "tls.key"), "utf8"),
      cert: readFileSync(join(dir, "tls.crt"), "utf8"),
    };
    script = readFileSync(new URL(standInK3s(dir).installerUrl), "utf8");
    elsewhere = createHttpsServer(tls, (req, res) => {
      elsewhereHits.push(req.url ?? "");
      res.end(script);
    });
    other = await listen(elsewhere, "127.0.0.2");
    home = createHttpsServer(tls, (req, res) => {
      if (req.url === "/install.sh") return res.end(script);
      if (req.url === "/moved.sh") return res.writeHead(301, { location: "/install.sh" }).end();
      if (req.url === "/away.sh") return res.writeHead(302, { location: `${other}/install.sh` }).end();
      res.writeHead(404).end();
    });
    base = await listen(home, "127.0.0.1");
  });

  afterAll(async () => {
    await new Promise((done) => home?.close(done));
    await new Promise((done) => elsewhere?.close(done));
  });

  const httpsOptions = (): K3sOptions => ({
    ...options(),
    loadInstaller: (url) => fetchBytes(url, { fetchImpl: trustingFetch(tls.cert) }),
  });

  it("http:// is refused at config validation, naming the field and the fix", () => {
    let e: unknown;
    try {
      staging("v1.33.7+k3s1", {
        installerUrl: "http://mirror.example.org/install.sh",
        installerSha256: sha256(script),
      });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toContain("clusters.vps.k3s.installerUrl");
    expect((e as UserError).message).toContain("must be an https:// URL (or file:// for a local copy)");
  });

  it("a mirror without its sha256 is refused at config validation", () => {
    let e: unknown;
    try {
      staging("v1.33.7+k3s1", { installerUrl: `${base}/install.sh` });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).message).toContain("clusters.vps.k3s.installerSha256");
    expect((e as UserError).message).toContain("installerUrl and installerSha256 go together");
  });

  it("without installerUrl the pinned installer (commit URL and digest) is planned", async () => {
    const h = await host();
    try {
      const change = await planK3s(staging("v1.33.7+k3s1", {}), h, options());
      expect(change.spec?.installerUrl).toMatch(
        /^https:\/\/raw\.githubusercontent\.com\/k3s-io\/k3s\/[0-9a-f]{40}\/install\.sh$/,
      );
      expect(change.spec?.installerSha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      h.conn.close();
    }
  });

  it("an http:// installer in a saved plan is refused at apply, before the host is touched", async () => {
    const before = await hostState();
    const h = await host();
    try {
      const change = await planK3s(staging("v1.33.7+k3s1"), h, options());
      const forged = {
        ...change,
        spec: {
          ...(change.spec as K3sSpec),
          installerUrl: `http://127.0.0.1:${await freePort()}/install.sh`,
        },
      };
      const message = await userError(applyK3s(forged, h, options()));
      expect(message).toContain("clusters.vps.k3s.installerUrl: is http://");
      expect(message).toContain("use an https:// mirror");
    } finally {
      h.conn.close();
    }
    expect(await hostState()).toEqual(before);
  });

  it("a download whose sha256 differs is refused, naming both digests, and nothing runs on the host", async () => {
    const before = await hostState();
    const wrong = sha256("another installer");
    const h = await host();
    try {
      const env = staging("v1.33.7+k3s1", { installerUrl: `${base}/install.sh`, installerSha256: wrong });
      const change = await planK3s(env, h, httpsOptions());
      const message = await userError(applyK3s(change, h, httpsOptions()));
      expect(message).toContain(
        `the k3s installer from ${base}/install.sh has sha256 ${sha256(script)}, not the expected ${wrong}`,
      );
      expect(message).toContain("nothing was changed on the VPS");
      expect(message).toContain("set installerSha256");
    } finally {
      h.conn.close();
    }
    expect(await hostState()).toEqual(before);
  });

  it("a redirect to another host is refused without contacting it, and nothing runs on the host", async () => {
    const before = await hostState();
    const h = await host();
    try {
      const env = staging("v1.33.7+k3s1", {
        installerUrl: `${base}/away.sh`,
        installerSha256: sha256(script),
      });
      const message = await userError(applyK3s(await planK3s(env, h, httpsOptions()), h, httpsOptions()));
      expect(message).toContain(`cannot fetch the k3s installer from ${base}/away.sh`);
      expect(message).toContain(`redirected to another host (${base} → ${other})`);
    } finally {
      h.conn.close();
    }
    expect(elsewhereHits).toEqual([]);
    expect(await hostState()).toEqual(before);
  });

  it("a matching digest over https (through a same-host redirect) runs the installer", async () => {
    const env = staging("v1.33.7+k3s1", {
      installerUrl: `${base}/moved.sh`,
      installerSha256: sha256(script),
    });
    const h = await host();
    try {
      await applyK3s(await planK3s(env, h, httpsOptions()), h, httpsOptions());
      expect((await planK3s(env, h, httpsOptions())).action).toBe("no-op");
    } finally {
      h.conn.close();
    }
    expect((await asRoot(known, paths.bin, "--version")).stdout).toContain("v1.33.7+k3s1");
    expect((await asRoot(known, "cat", `${root}/etc/rancher/k3s/standin-installs`)).stdout.trim()).toBe("3");
  });
});
