/**
 * A STAND-IN for the k3s installer (https://get.k3s.io): the real k3s download cannot be reached
 * here, so these tests serve plinth this small script instead (as a `file://` installerUrl). It
 * installs no Kubernetes: under a test root on the SSH host it writes a fake `k3s` executable that
 * prints the requested version, answers `k3s kubectl get nodes -o json` with a node that turns
 * Ready on its second poll, and leaves a `k3s.yaml` pointing at the test bed's real API server.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parse, stringify } from "yaml";
import { sha256Hex } from "../../src/providers/download.js";
import { openSsh, type SshTarget } from "../../src/providers/ssh/connection.js";
import { command } from "../../src/providers/ssh/shell.js";
import { privileged } from "../../src/providers/ssh/sudo.js";
import { testbedEnv } from "../testbed/env.js";

/** The fake k3s the stand-in installs: its data folder is `<root>/etc/rancher/k3s`, found from its own path. */
const FAKE_K3S = `#!/bin/sh
# stand-in k3s, written by plinth's stand-in installer (tests only; not k3s)
data="$(cd "$(dirname "$0")/../../.." && pwd)/etc/rancher/k3s"
case "\${1:-}" in
  --version)
    echo "k3s version $(cat "$data/standin-version") (stand-in)"
    echo "go version stand-in" ;;
  kubectl)
    [ "$*" = "kubectl get nodes -o json" ] || { echo "stand-in k3s: unsupported: $*" >&2; exit 1; }
    n=$(( $(cat "$data/standin-polls") + 1 )); echo "$n" > "$data/standin-polls"
    if [ "$n" -lt 2 ]; then s=False; m="kubelet starting (stand-in)"; else s=True; m="kubelet is posting ready status (stand-in)"; fi
    printf '{"items":[{"metadata":{"name":"standin-node"},"status":{"conditions":[{"type":"Ready","status":"%s","message":"%s"}]}}]}\\n' "$s" "$m" ;;
  *) echo "stand-in k3s: unsupported: $*" >&2; exit 1 ;;
esac
`;

/**
 * Writes the stand-in installer into `dir` and returns its `file://` URL. The kubeconfig it leaves is
 * the test bed's admin kubeconfig (server `https://127.0.0.1:<test API port>`, the loopback form k3s
 * writes), which plinth must fetch, rewrite and store. `tlsServerName` is for a cluster whose k3s
 * API host is a DNS name: real k3s puts that name in its certificate (`tls-san`), the test API
 * server's certificate names only `localhost`, so the kubeconfig checks the certificate for that.
 */
export function standInInstaller(dir: string, o: { tlsServerName?: string } = {}): string {
  const doc = parse(readFileSync(testbedEnv("KUBECONFIG"), "utf8")) as {
    clusters: { cluster: Record<string, unknown> }[];
  };
  if (o.tlsServerName) for (const c of doc.clusters) c.cluster["tls-server-name"] = o.tlsServerName;
  const kubeconfig = stringify(doc);
  const script = `#!/bin/sh
# STAND-IN for https://get.k3s.io used by plinth's tests (the real k3s download is unreachable here).
set -eu
: "\${INSTALL_K3S_VERSION:?}" "\${INSTALL_K3S_BIN_DIR:?}" "\${K3S_CONFIG_FILE:?}"
[ "$(id -u)" = 0 ] || { echo "stand-in installer: must run as root" >&2; exit 1; }
[ -f "$K3S_CONFIG_FILE" ] || { echo "stand-in installer: $K3S_CONFIG_FILE missing (plinth writes it first)" >&2; exit 1; }
data="$(dirname "$K3S_CONFIG_FILE")"
mkdir -p "$INSTALL_K3S_BIN_DIR" "$data"
printf '%s\\n' "$INSTALL_K3S_VERSION" > "$data/standin-version"
printf '%s\\n' "\${INSTALL_K3S_CHANNEL:-}" > "$data/standin-channel"
echo 0 > "$data/standin-polls"
echo $(( $(cat "$data/standin-installs" 2>/dev/null || echo 0) + 1 )) > "$data/standin-installs"
cat > "$INSTALL_K3S_BIN_DIR/k3s.tmp" <<'PLINTH_STANDIN_K3S'
${FAKE_K3S}PLINTH_STANDIN_K3S
chmod 755 "$INSTALL_K3S_BIN_DIR/k3s.tmp"
mv -f "$INSTALL_K3S_BIN_DIR/k3s.tmp" "$INSTALL_K3S_BIN_DIR/k3s"
echo '${Buffer.from(kubeconfig).toString("base64")}' | base64 -d > "$data/k3s.yaml"
chmod 600 "$data/k3s.yaml"
echo "[stand-in] installed k3s $INSTALL_K3S_VERSION under $INSTALL_K3S_BIN_DIR"
`;
  const file = join(dir, "standin-k3s-install.sh");
  writeFileSync(file, script, { mode: 0o644 });
  return pathToFileURL(file).toString();
}

/**
 * The config fields for the stand-in: its `file://` URL and the sha256 of the script written there
 * (plinth runs an installer only when its bytes have the sha256 the config gives).
 */
export function standInK3s(
  dir: string,
  o: { tlsServerName?: string } = {},
): { installerUrl: string; installerSha256: string } {
  const installerUrl = standInInstaller(dir, o);
  return { installerUrl, installerSha256: sha256Hex(readFileSync(fileURLToPath(installerUrl))) };
}

/** A fresh install root on the SSH host for one test file. */
export function hostRoot(): string {
  return `/tmp/plinth-standin-k3s/${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** How the tests reach the test bed's SSH host (the key, the user with passwordless sudo). */
export function bedTarget(o: Partial<SshTarget> & { knownHostsFile: string }): SshTarget {
  return {
    cluster: "vps",
    host: testbedEnv("SSH_HOST"),
    port: Number(testbedEnv("SSH_PORT")),
    user: testbedEnv("SSH_USER"),
    privateKey: readFileSync(testbedEnv("SSH_KEY"), "utf8"),
    keySource: `file ${testbedEnv("SSH_KEY")}`,
    hostKeyFingerprint: testbedEnv("SSH_HOST_KEY_FINGERPRINT"),
    ...o,
  };
}

/** Runs one command as root on the SSH host (test set-up and inspection; the host key pinned). */
export async function asRoot(
  knownHostsFile: string,
  ...words: string[]
): Promise<{ code: number; stdout: string }> {
  const conn = await openSsh(bedTarget({ knownHostsFile }));
  try {
    const host = await privileged(conn);
    return await conn.exec(command(...host.sudo, ...words));
  } finally {
    conn.close();
  }
}
