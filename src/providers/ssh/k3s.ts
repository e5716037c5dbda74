import { setTimeout as delay } from "node:timers/promises";
import {
  AUTHENTICATION_CONFIG_PATH,
  apiServerTrust,
  authenticationFile,
} from "../../catalog/api-server-auth.js";
import { K3S_INSTALLER } from "../../catalog/versions.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { toYaml } from "../../util/yaml.js";
import { fetchBytes, sha256Hex } from "../download.js";
import type { ResourceChange } from "../types.js";
import { rewriteServer, storedServer, writePrivateFile } from "./kubeconfig.js";
import { ABSOLUTE_PATH, checked, command, envWords, HOST, K3S_CHANNEL, K3S_VERSION } from "./shell.js";
import type { RemoteHost } from "./sudo.js";

/**
 * Schemes an installer may come from: it runs as root on the VPS, so never plain http (anyone on
 * the way could swap it); `file:` is a copy on the machine plinth runs on.
 */
const INSTALLER_SCHEMES = ["https:", "file:"];

/** What plinth wants on the VPS, and what apply has to do to get there. */
export interface K3sSpec {
  cluster: string;
  version: string;
  channel: string;
  installerUrl: string;
  /** sha256 the installer's bytes must have before anything runs (the pin, or a mirror's own). */
  installerSha256: string;
  /** `/etc/rancher/k3s/config.yaml`, from the model. */
  configYaml: string;
  /**
   * The API server's AuthenticationConfiguration trusting the SSO gate's issuer (the dashboard
   * signs in with the gate's ID token); absent where the gate has none to trust.
   */
  authenticationYaml?: string;
  /**
   * `provider: "vault"`: the file above (no authenticator yet) is written only where there is none;
   * its content is the Vault step's, which writes the authenticator once Vault has issued the client id.
   */
  authenticationIfAbsent?: boolean;
  /** The host the stored kubeconfig's server names (the k3s API host, else the VPS host). */
  apiHost: string;
  /** Local path of the kubeconfig plinth stores (mode 0600). */
  kubeconfigPath: string;
  /** Run the installer: k3s absent, another version, or config.yaml changed. */
  install: boolean;
}

export interface K3sOptions {
  /** Absolute local path where the kubeconfig is stored (the cluster's `kubeconfig`, resolved). */
  kubeconfigPath: string;
  /**
   * Install root on the host instead of `/` (k3s in `<root>/usr/local/bin`, its config in
   * `<root>/etc/rancher/k3s`). For tests with a stand-in installer; never from config.
   */
  root?: string;
  /** How long to wait for the node to be Ready after an install (ms), default 5 minutes. */
  readyTimeoutMs?: number;
  pollIntervalMs?: number;
  /** Fetches the installer's bytes; default: same-origin-redirect `fetch` for https, the file for `file:`. */
  loadInstaller?: (url: string) => Promise<Uint8Array>;
  /** Progress lines (the CLI prints them to stderr). */
  onProgress?: (message: string) => void;
}

export interface K3sPaths {
  binDir: string;
  bin: string;
  configFile: string;
  authenticationFile: string;
  kubeconfig: string;
}

export function k3sPaths(root = ""): K3sPaths {
  const base = root.replace(/\/+$/, "");
  if (base) checked("install root path", base, ABSOLUTE_PATH);
  return {
    binDir: `${base}/usr/local/bin`,
    bin: `${base}/usr/local/bin/k3s`,
    configFile: `${base}/etc/rancher/k3s/config.yaml`,
    authenticationFile: `${base}${AUTHENTICATION_CONFIG_PATH}`,
    kubeconfig: `${base}/etc/rancher/k3s/k3s.yaml`,
  };
}

function invalid(path: string, message: string, fix: string): UserError {
  return new UserError(error(message, { path, fix }));
}

/**
 * The k3s server config plinth writes before installing: the API host and the VPS host in the
 * certificate's SANs, volumes under the cluster's storage path, the node kubeconfig root-only.
 * Nothing bundled is disabled: plinth replaces none of k3s's parts (Traefik is tuned through a
 * HelmChartConfig, and ServiceLB is what binds ports 80/443 of a single VPS to Traefik).
 */
export function k3sConfigYaml(env: ResolvedEnvironment): string {
  const { cluster } = env;
  const vps = cluster.vps;
  if (!vps) throw new Error(`k3sConfigYaml: cluster ${cluster.name} has no vps`);
  const sans = [...new Set([env.hosts["k3s-api"]?.host, vps.host].filter((h): h is string => !!h))];
  const body = toYaml({
    "default-local-storage-path": cluster.storagePath,
    "tls-san": sans,
    "write-kubeconfig-mode": "0600",
    // The SSO gate's issuer, trusted for the dashboard's sign-in (catalog/api-server-auth.ts).
    ...(apiServerTrust(env)
      ? { "kube-apiserver-arg": [`authentication-config=${AUTHENTICATION_CONFIG_PATH}`] }
      : {}),
  });
  return `# Written by plinth for cluster ${cluster.name}: change plinth.config.ts, not this file.\n${body}`;
}

function authenticationYaml(
  env: ResolvedEnvironment,
): Pick<K3sSpec, "authenticationYaml" | "authenticationIfAbsent"> {
  const trust = apiServerTrust(env);
  if (!trust) return {};
  return {
    authenticationYaml: authenticationFile(env.cluster.name, trust),
    ...(trust.audience ? {} : { authenticationIfAbsent: true }),
  };
}

/** The desired k3s of an environment's cluster, every value checked before it can reach a shell. */
export function desiredK3s(env: ResolvedEnvironment, o: Pick<K3sOptions, "kubeconfigPath">): K3sSpec {
  const { cluster } = env;
  const path = `clusters.${cluster.name}`;
  const { vps, k3s } = cluster;
  if (cluster.type !== "k3s-vps" || !vps || !k3s) {
    throw invalid(
      path,
      "is not a k3s-vps cluster with vps and k3s settings",
      'set type: "k3s-vps", vps and k3s',
    );
  }
  if (!K3S_VERSION.test(k3s.version)) {
    throw invalid(
      `${path}.k3s.version`,
      `"${k3s.version}" is not a pinned k3s release`,
      "write it like v1.33.5+k3s1",
    );
  }
  if (!K3S_CHANNEL.test(k3s.channel)) {
    throw invalid(
      `${path}.k3s.channel`,
      `"${k3s.channel}" is not a k3s channel`,
      "use stable, latest or testing",
    );
  }
  if (!HOST.test(vps.host)) {
    throw invalid(
      `${path}.vps.host`,
      `"${vps.host}" is not a host name or IP address`,
      "write it like 203.0.113.20",
    );
  }
  const apiHost = env.hosts["k3s-api"]?.host ?? vps.host;
  if (!HOST.test(apiHost)) {
    throw invalid(
      `environments.${env.name}.hosts.k3s-api`,
      `"${apiHost}" is not a host name`,
      "use a DNS name",
    );
  }
  if (!ABSOLUTE_PATH.test(cluster.storagePath) || cluster.storagePath.split("/").includes("..")) {
    throw invalid(
      `${path}.storagePath`,
      `"${cluster.storagePath}" is not a plain absolute path`,
      "use letters, digits, '.', '_', '-' and '/' only, e.g. /var/lib/plinth/volumes",
    );
  }
  const installer = k3s.installerUrl ? { url: k3s.installerUrl, sha256: k3s.installerSha256 } : K3S_INSTALLER;
  checkInstallerSource(cluster.name, installer.url, installer.sha256);
  return {
    cluster: cluster.name,
    version: k3s.version,
    channel: k3s.channel,
    installerUrl: installer.url,
    installerSha256: installer.sha256,
    configYaml: k3sConfigYaml(env),
    ...authenticationYaml(env),
    apiHost,
    kubeconfigPath: o.kubeconfigPath,
    install: true,
  };
}

/** The installed k3s version (`k3s --version`), or undefined when k3s is not installed. */
export async function installedVersion(host: RemoteHost, paths: K3sPaths): Promise<string | undefined> {
  const script = 'if [ -x "$1" ]; then "$1" --version; else exit 3; fi';
  const r = await host.conn.exec(command("sh", "-c", script, "sh", paths.bin));
  if (r.code === 3) return undefined;
  const found = /k3s version (v\S+)/.exec(r.stdout)?.[1];
  if (r.code !== 0 || !found) {
    throw new Error(
      `cannot read the k3s version on ${host.conn.where()}: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  }
  return found;
}

/** A root-owned file's content, or undefined when it does not exist. */
async function readRootFile(host: RemoteHost, file: string): Promise<string | undefined> {
  const script = 'if [ -f "$1" ]; then cat "$1"; else exit 3; fi';
  const r = await host.conn.exec(command(...host.sudo, "sh", "-c", script, "sh", file));
  if (r.code === 3) return undefined;
  if (r.code !== 0) throw new Error(`cannot read ${file} on ${host.conn.where()}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Replaces a root-owned file atomically (temp file in the same folder, then rename), mode 0600. */
async function writeRootFile(host: RemoteHost, file: string, content: string): Promise<void> {
  const script =
    'set -e; mkdir -p "$(dirname "$1")"; umask 077; cat > "$1.plinth-tmp"; mv -f "$1.plinth-tmp" "$1"';
  const r = await host.conn.exec(command(...host.sudo, "sh", "-c", script, "sh", file), { stdin: content });
  if (r.code !== 0) throw new Error(`cannot write ${file} on ${host.conn.where()}: ${r.stderr.trim()}`);
}

/**
 * The API server's AuthenticationConfiguration replaced with `content` when it differs (the API
 * server reloads the file: no restart); says whether it was written. The Vault step's way of
 * adding the authenticator for the client id Vault issued (`provider: "vault"`).
 */
export async function writeAuthentication(
  host: RemoteHost,
  content: string,
  root?: string,
): Promise<boolean> {
  const file = k3sPaths(root).authenticationFile;
  if ((await readRootFile(host, file)) === content) return false;
  await writeRootFile(host, file, content);
  return true;
}

function hostOfServer(server: string | undefined): string | undefined {
  if (!server) return undefined;
  try {
    return new URL(server).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return undefined;
  }
}

/**
 * Compares the VPS with the model: k3s absent is a create; another version or another config.yaml
 * an update (field diffs with before/after); a missing or differently-pointed local kubeconfig an
 * update that only fetches it; otherwise a no-op. Reads only.
 */
export async function planK3s(
  env: ResolvedEnvironment,
  host: RemoteHost,
  o: K3sOptions,
): Promise<ResourceChange<K3sSpec>> {
  const spec = desiredK3s(env, o);
  const paths = k3sPaths(o.root);
  const [installed, config, authentication] = [
    await installedVersion(host, paths),
    await readRootFile(host, paths.configFile),
    spec.authenticationYaml === undefined ? undefined : await readRootFile(host, paths.authenticationFile),
  ];
  const diff: ResourceChange<K3sSpec>["diff"] = [];
  if (installed !== spec.version) diff.push({ path: "version", before: installed, after: spec.version });
  if (config !== spec.configYaml) diff.push({ path: "config.yaml", before: config, after: spec.configYaml });
  const install = diff.length > 0;
  // The API server reloads this file by itself: a change needs no reinstall.
  const owned = !(spec.authenticationIfAbsent && authentication !== undefined);
  if (owned && authentication !== spec.authenticationYaml) {
    diff.push({ path: "authentication.yaml", before: authentication, after: spec.authenticationYaml });
  }
  const stored = storedServer(o.kubeconfigPath);
  if (install || hostOfServer(stored) !== spec.apiHost) {
    diff.push({ path: "kubeconfig", before: stored, after: `${o.kubeconfigPath} → https://${spec.apiHost}` });
  }
  const vps = env.cluster.vps;
  return {
    provider: "ssh",
    id: `ssh:k3s:${env.cluster.name}`,
    component: "k3s",
    action: installed === undefined ? "create" : diff.length > 0 ? "update" : "no-op",
    kind: "K3sInstall",
    name: env.cluster.name,
    namespace: vps ? `${vps.user}@${vps.host}:${vps.sshPort}` : "",
    diff,
    spec: { ...spec, install },
    liveVersion: installed ?? "absent",
  };
}

/**
 * The installer's source checked again where it is used (a spec can come from a saved plan, not
 * only from a validated config): https or file, with a sha256 to hold the bytes to.
 */
function checkInstallerSource(
  cluster: string,
  url: string,
  sha256: string | undefined,
): asserts sha256 is string {
  const path = `clusters.${cluster}.k3s`;
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    throw invalid(`${path}.installerUrl`, `"${url}" is not a URL`, "write an https:// URL");
  }
  if (!INSTALLER_SCHEMES.includes(scheme)) {
    throw invalid(
      `${path}.installerUrl`,
      `is ${scheme}// (the installer runs as root on the VPS; ${scheme}// can be altered on the way)`,
      `use an https:// mirror (or file:// for a local copy), or remove installerUrl to use the pinned ${K3S_INSTALLER.url}`,
    );
  }
  if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw invalid(
      `${path}.installerSha256`,
      `the installer ${url} has no sha256 to check it against`,
      "set installerSha256 to the output of `sha256sum` on the file the mirror serves",
    );
  }
}

/**
 * The installer's script, refused unless its bytes have the expected sha256: it is checked before
 * anything is written or run on the VPS, so a wrong download changes nothing there.
 */
async function fetchInstaller(spec: K3sSpec, o: K3sOptions): Promise<string> {
  const path = `clusters.${spec.cluster}.k3s.installerUrl`;
  checkInstallerSource(spec.cluster, spec.installerUrl, spec.installerSha256);
  let bytes: Uint8Array;
  try {
    bytes = await (o.loadInstaller ?? ((url) => fetchBytes(url)))(spec.installerUrl);
  } catch (e) {
    throw invalid(
      path,
      `cannot fetch the k3s installer from ${spec.installerUrl}: ${(e as Error).message}; nothing was changed on the VPS`,
      `check the network, or set installerUrl to a reachable https:// mirror of ${K3S_INSTALLER.url}`,
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== spec.installerSha256) {
    throw invalid(
      path,
      `the k3s installer from ${spec.installerUrl} has sha256 ${actual}, not the expected ${spec.installerSha256}; nothing was changed on the VPS`,
      "check what serves that URL (a proxy or a mirror that altered the file?); for a mirror whose file you have reviewed, set installerSha256 to its sha256",
    );
  }
  const script = new TextDecoder().decode(bytes);
  if (!script.startsWith("#!")) {
    throw invalid(
      path,
      `${spec.installerUrl} did not return a shell script (it starts with ${JSON.stringify(script.slice(0, 20))}); nothing was changed on the VPS`,
      `point installerUrl at the installer script itself (a mirror of ${K3S_INSTALLER.url})`,
    );
  }
  return script;
}

interface NodeList {
  items?: {
    metadata?: { name?: string };
    status?: { conditions?: { type?: string; status?: string; message?: string }[] };
  }[];
}

/** Named condition with a timeout: every node of the cluster reports `Ready=True`. */
async function waitNodeReady(host: RemoteHost, paths: K3sPaths, o: K3sOptions): Promise<void> {
  const timeout = o.readyTimeoutMs ?? 300_000;
  const deadline = Date.now() + timeout;
  let last = "no answer yet";
  o.onProgress?.(`waiting for the k3s node on ${host.conn.target.host} to be Ready`);
  for (;;) {
    const r = await host.conn.exec(
      command(...host.sudo, paths.bin, "kubectl", "get", "nodes", "-o", "json"),
      {
        timeoutMs: 60_000,
      },
    );
    if (r.code === 0) {
      try {
        const nodes = (JSON.parse(r.stdout) as NodeList).items ?? [];
        const states = nodes.map((n) => {
          const ready = n.status?.conditions?.find((c) => c.type === "Ready");
          return {
            name: n.metadata?.name ?? "?",
            ok: ready?.status === "True",
            text: ready?.message ?? ready?.status,
          };
        });
        if (states.length > 0 && states.every((s) => s.ok)) return;
        last = states.length
          ? states.map((s) => `${s.name}: Ready=${s.text ?? "unknown"}`).join(", ")
          : "no nodes";
      } catch {
        last = `unreadable answer: ${r.stdout.slice(0, 200)}`;
      }
    } else {
      last = r.stderr.trim().split("\n").slice(-1)[0] ?? `exit ${r.code}`;
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        error(
          `the k3s node did not become Ready within ${Math.round(timeout / 1000)} s; last seen: ${last}`,
          {
            path: `clusters.${host.conn.target.cluster}`,
            fix: "look at the k3s service on the VPS (journalctl -u k3s), then run the same command again",
          },
        ),
      );
    }
    await delay(o.pollIntervalMs ?? 2_000);
  }
}

/** Fetches k3s's kubeconfig, points it at the API host and stores it locally (0600, atomic). */
async function storeKubeconfig(host: RemoteHost, paths: K3sPaths, spec: K3sSpec): Promise<string> {
  const raw = await readRootFile(host, paths.kubeconfig);
  if (raw === undefined) {
    throw new UserError(
      error(`k3s left no kubeconfig at ${paths.kubeconfig} on ${host.conn.target.host}`, {
        path: `clusters.${spec.cluster}`,
        fix: "look at the k3s service on the VPS (journalctl -u k3s), then run the same command again",
      }),
    );
  }
  const { yaml, server } = rewriteServer(raw, spec.apiHost);
  writePrivateFile(spec.kubeconfigPath, yaml);
  return server;
}

/**
 * Carries out a planned k3s change: refuses if the installed version moved since the plan; loads
 * the installer before touching anything; writes config.yaml, runs the installer with the pinned
 * version, checks the version it left, waits for the node to be Ready, then stores the kubeconfig.
 */
export async function applyK3s(
  change: ResourceChange<K3sSpec>,
  host: RemoteHost,
  o: K3sOptions,
): Promise<void> {
  const spec = change.spec;
  if (change.action === "no-op" || !spec) return;
  const paths = k3sPaths(o.root);
  const now = (await installedVersion(host, paths)) ?? "absent";
  if (change.liveVersion && now !== change.liveVersion) {
    throw new UserError(
      error(
        `k3s on ${host.conn.target.host} changed since the plan (was ${change.liveVersion}, now ${now})`,
        {
          path: `clusters.${spec.cluster}`,
          fix: "plan again and review the new plan",
        },
      ),
    );
  }
  const authentication = spec.authenticationYaml;
  if (
    authentication !== undefined &&
    !(spec.authenticationIfAbsent && (await readRootFile(host, paths.authenticationFile)) !== undefined)
  ) {
    // Before the installer: the API server reads it at start.
    o.onProgress?.(`writing ${paths.authenticationFile} on ${host.conn.target.host}`);
    await writeRootFile(host, paths.authenticationFile, authentication);
  }
  if (spec.install) {
    const script = await fetchInstaller(spec, o);
    o.onProgress?.(`writing ${paths.configFile} on ${host.conn.target.host}`);
    await writeRootFile(host, paths.configFile, spec.configYaml);
    o.onProgress?.(`running the k3s installer (${spec.version}) on ${host.conn.target.host}`);
    const vars: Record<string, string> = {
      INSTALL_K3S_CHANNEL: checked("k3s channel", spec.channel, K3S_CHANNEL),
      INSTALL_K3S_VERSION: checked("k3s version", spec.version, K3S_VERSION),
      ...(o.root ? { INSTALL_K3S_BIN_DIR: paths.binDir, K3S_CONFIG_FILE: paths.configFile } : {}),
    };
    const r = await host.conn.exec(`${command(...host.sudo, ...envWords(vars), "sh", "-s", "-")}`, {
      stdin: script,
      timeoutMs: 900_000,
    });
    if (r.code !== 0) {
      const tail = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-5).join("\n  ");
      throw new UserError(
        error(`the k3s installer failed on ${host.conn.target.host} (exit ${r.code}):\n  ${tail}`, {
          path: `clusters.${spec.cluster}.k3s`,
          fix: "fix the cause shown, then run the same command again (the installer is idempotent)",
        }),
      );
    }
    const after = await installedVersion(host, paths);
    if (after !== spec.version) {
      throw new UserError(
        error(
          `the k3s installer left ${after ?? "no k3s"} on ${host.conn.target.host}, not ${spec.version}`,
          {
            path: `clusters.${spec.cluster}.k3s.installerUrl`,
            fix: "check that the installer (or its mirror) honours INSTALL_K3S_VERSION",
          },
        ),
      );
    }
    await waitNodeReady(host, paths, o);
  }
  const server = await storeKubeconfig(host, paths, spec);
  o.onProgress?.(`kubeconfig stored at ${spec.kubeconfigPath} (server ${server})`);
}
