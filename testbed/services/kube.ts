/**
 * The test bed's Kubernetes: etcd, kube-apiserver, kube-controller-manager and kube-scheduler from
 * upstream's Go modules, kwok faking one node (its pods become Ready, Job pods Succeeded, PVCs
 * bound), k3s's helm-controller, and the CRDs of what plinth deploys, all on loopback.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments, stringify } from "yaml";
import { crdFiles } from "../crds.js";
import { KubeClient } from "../kube/client.js";
import { kwokArgs, kwokConfig } from "../kube/kwok.js";
import {
  adminKubeconfig,
  componentKubeconfig,
  kubeDir,
  moduleDir,
  nodeAnnotation,
  nodeName,
  pinnedVersion,
  pkiDir,
  ports,
  serviceAccountIssuer,
  serviceClusterIpRange,
} from "../kube/layout.js";
import { assertPortFree, goBuild, isRunning, spawnDaemon, stopDaemon, waitFor } from "../lib/proc.js";
import type { Service, TestbedContext } from "../lib/service.js";

const run = promisify(execFile);

/** Daemons in start order; each runs `controlplane <server>` and is named `kube-<part>`. */
const DAEMONS = ["etcd", "apiserver", "controller-manager", "scheduler", "kwok", "helm-controller"] as const;
type Daemon = (typeof DAEMONS)[number];
const daemonName = (d: Daemon) => `kube-${d}`;
/** The multi-call binary's server name for each daemon. */
const SERVERS: Record<Daemon, string> = {
  etcd: "etcd",
  apiserver: "kube-apiserver",
  "controller-manager": "kube-controller-manager",
  scheduler: "kube-scheduler",
  kwok: "kwok",
  "helm-controller": "helm-controller",
};

/**
 * `-ldflags`: the Kubernetes version for `/version` (from go.mod, so it is written once), plus a
 * hash of our own Go sources, which makes goBuild's cache key change when they do.
 */
function ldflags(root: string): string {
  const version = pinnedVersion(root, moduleDir, "k8s.io/kubernetes");
  const [major, minor] = version.replace(/^v/, "").split(".");
  const src = join(root, moduleDir, "cmd", "controlplane");
  const hash = createHash("sha256");
  for (const file of readdirSync(src).sort()) hash.update(file).update(readFileSync(join(src, file)));
  const x: string[] = [];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    x.push(`-X ${pkg}.gitVersion=${version}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`);
    x.push(`-X ${pkg}.gitTreeState=clean`);
  }
  x.push(`-X main.sourceHash=${hash.digest("hex").slice(0, 16)}`);
  // -s -w: no symbol tables or DWARF, which shortens the link (the slowest step of a warm build).
  return ["-s", "-w", ...x].join(" ");
}

async function binary(ctx: TestbedContext): Promise<string> {
  const dir = await goBuild(ctx, { moduleDir, packages: ["./cmd/controlplane"], ldflags: ldflags(ctx.root) });
  return join(dir, "controlplane");
}

function kubeconfigYaml(ctx: TestbedContext, user: string): string {
  const pki = pkiDir(ctx);
  const b64 = (file: string) => readFileSync(join(pki, file)).toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "testbed",
        cluster: {
          server: `https://127.0.0.1:${ports.apiserver.port()}`,
          "certificate-authority-data": b64("ca.crt"),
        },
      },
    ],
    users: [
      {
        name: user,
        user: { "client-certificate-data": b64(`${user}.crt`), "client-key-data": b64(`${user}.key`) },
      },
    ],
    contexts: [{ name: "testbed", context: { cluster: "testbed", user } }],
    "current-context": "testbed",
  });
}

function writeKubeconfigs(ctx: TestbedContext): void {
  writeFileSync(adminKubeconfig(ctx), kubeconfigYaml(ctx, "admin"), { mode: 0o600 });
  for (const user of ["kube-controller-manager", "kube-scheduler", "kwok", "helm-controller"]) {
    writeFileSync(componentKubeconfig(ctx, user), kubeconfigYaml(ctx, user), { mode: 0o600 });
  }
}

/** Arguments of each server. Every listener is on 127.0.0.1. */
function daemonArgs(ctx: TestbedContext, daemon: Daemon): string[] {
  const dir = kubeDir(ctx);
  const pki = pkiDir(ctx);
  const etcdUrl = `http://127.0.0.1:${ports.etcd.port()}`;
  const peerUrl = `http://127.0.0.1:${ports.etcdPeer.port()}`;
  switch (daemon) {
    case "etcd":
      return [
        "--name=testbed",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=testbed=${peerUrl}`,
        // A throwaway store: skipping fsync makes every API write several times faster.
        "--unsafe-no-fsync=true",
        "--quota-backend-bytes=2147483648",
        "--log-level=warn",
      ];
    case "apiserver":
      return [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${ports.apiserver.port()}`,
        `--cert-dir=${join(dir, "apiserver-certs")}`,
        `--tls-cert-file=${join(pki, "apiserver.crt")}`,
        `--tls-private-key-file=${join(pki, "apiserver.key")}`,
        `--client-ca-file=${join(pki, "ca.crt")}`,
        "--authorization-mode=Node,RBAC",
        `--service-account-issuer=${serviceAccountIssuer}`,
        `--service-account-key-file=${join(pki, "sa.pub")}`,
        `--service-account-signing-key-file=${join(pki, "sa.key")}`,
        `--service-cluster-ip-range=${serviceClusterIpRange}`,
        "--allow-privileged=true",
        "--profiling=false",
        "--v=1",
      ];
    case "controller-manager":
      return [
        `--kubeconfig=${componentKubeconfig(ctx, "kube-controller-manager")}`,
        `--authentication-kubeconfig=${componentKubeconfig(ctx, "kube-controller-manager")}`,
        `--authorization-kubeconfig=${componentKubeconfig(ctx, "kube-controller-manager")}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${ports.controllerManager.port()}`,
        `--cert-dir=${join(dir, "controller-manager-certs")}`,
        `--service-account-private-key-file=${join(pki, "sa.key")}`,
        `--root-ca-file=${join(pki, "ca.crt")}`,
        // Each controller acts as its own service account, as in kubeadm and k3s (RBAC's bootstrap
        // roles are written for that).
        "--use-service-account-credentials=true",
        `--service-cluster-ip-range=${serviceClusterIpRange}`,
        "--leader-elect=false",
        "--v=1",
      ];
    case "scheduler":
      return [
        `--kubeconfig=${componentKubeconfig(ctx, "kube-scheduler")}`,
        `--authentication-kubeconfig=${componentKubeconfig(ctx, "kube-scheduler")}`,
        `--authorization-kubeconfig=${componentKubeconfig(ctx, "kube-scheduler")}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${ports.scheduler.port()}`,
        "--leader-elect=false",
        "--v=1",
      ];
    case "kwok":
      return [
        `--kubeconfig=${componentKubeconfig(ctx, "kwok")}`,
        `--config=${join(dir, "kwok.yaml")}`,
        ...kwokArgs,
      ];
    case "helm-controller":
      return [`--kubeconfig=${componentKubeconfig(ctx, "helm-controller")}`];
  }
}

/** GET over TLS without verifying the server (the controllers serve self-signed health endpoints). */
function healthz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/healthz", rejectUnauthorized: false, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

async function etcdHealthy(): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${ports.etcd.port()}/health`, {
    signal: AbortSignal.timeout(2_000),
  });
  const body = (await res.json()) as { health?: string };
  return body.health === "true";
}

async function readyz(client: KubeClient): Promise<boolean> {
  const res = await client.request("GET", "/readyz", { timeoutMs: 2_000 });
  return res.status === 200;
}

/** Applies every pinned CRD, then waits until each is Established (its API is served). */
async function loadCrds(ctx: TestbedContext, client: KubeClient): Promise<void> {
  const crds = await crdFiles();
  const names: string[] = [];
  for (const file of [...new Set(crds.map((c) => c.file))]) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      const crd = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      const name = crd?.metadata?.name;
      if (crd?.kind !== "CustomResourceDefinition" || !name) continue;
      const res = await client.apply(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, crd);
      if (res.status >= 300)
        throw new Error(`CRD ${name} from ${file} rejected: HTTP ${res.status} ${res.text}`);
      names.push(name);
    }
  }
  await waitFor(
    `kube: ${names.length} CRDs Established`,
    async () => {
      for (const name of names) {
        const crd = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
        );
        if (!crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"))
          return false;
      }
      return true;
    },
    { timeoutMs: 60_000, logName: daemonName("apiserver"), ctx },
  );
  ctx.log(`kube: ${names.length} CRDs established (${[...new Set(crds.map((c) => c.module))].join(", ")})`);
}

/**
 * What a k3s server has that a bare control plane lacks and plinth relies on: the default
 * `local-path` StorageClass (kwok binds its PVCs), and the node kwok then brings up.
 */
async function applyBootstrapObjects(client: KubeClient): Promise<void> {
  const objects: [string, unknown][] = [
    [
      "/apis/storage.k8s.io/v1/storageclasses/local-path",
      {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: {
          name: "local-path",
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: "rancher.io/local-path",
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
      },
    ],
    [
      `/api/v1/nodes/${nodeName}`,
      {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: nodeName,
          annotations: { [nodeAnnotation]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: {
            "kubernetes.io/hostname": nodeName,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node-role.kubernetes.io/control-plane": "true",
            type: "kwok",
          },
        },
      },
    ],
  ];
  for (const [path, object] of objects) {
    const res = await client.apply(path, object);
    if (res.status >= 300) throw new Error(`applying ${path}: HTTP ${res.status} ${res.text}`);
  }
}

async function spawn(ctx: TestbedContext, bin: string, daemon: Daemon): Promise<void> {
  await spawnDaemon(ctx, {
    name: daemonName(daemon),
    command: bin,
    args: [SERVERS[daemon], ...daemonArgs(ctx, daemon)],
  });
}

function env(ctx: TestbedContext): Record<string, string> {
  return { KUBECONFIG: adminKubeconfig(ctx) };
}

const kube: Service = {
  name: "kube",
  async build(ctx) {
    await binary(ctx);
    // Fetches the CRD modules now, so `start` does no downloading.
    await crdFiles();
  },
  async running(ctx) {
    if (!DAEMONS.every((d) => isRunning(ctx, daemonName(d)))) return false;
    try {
      return await readyz(KubeClient.fromKubeconfig(adminKubeconfig(ctx)));
    } catch {
      return false;
    }
  },
  async start(ctx) {
    for (const { port, env: envVar } of Object.values(ports)) await assertPortFree(port(), "kube", envVar);
    const bin = await binary(ctx);
    const dir = kubeDir(ctx);
    // A fresh cluster each start (tests must not see a previous run's objects); the PKI is kept.
    rmSync(join(dir, "etcd"), { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await run(bin, ["pki", pkiDir(ctx)]).catch((error: { stderr?: string; message: string }) => {
      throw new Error(
        `kube: generating certificates in ${pkiDir(ctx)} failed: ${error.stderr || error.message}`,
      );
    });
    writeKubeconfigs(ctx);
    writeFileSync(join(dir, "kwok.yaml"), await kwokConfig(ctx.root));
    const wait = (d: Daemon, what: string, check: () => Promise<boolean>, timeoutMs = 60_000) =>
      waitFor(`kube: ${what}`, check, { timeoutMs, logName: daemonName(d), ctx });

    await spawn(ctx, bin, "etcd");
    await wait("etcd", "etcd /health", etcdHealthy, 30_000);
    await spawn(ctx, bin, "apiserver");
    const client = KubeClient.fromKubeconfig(adminKubeconfig(ctx));
    await wait("apiserver", "kube-apiserver /readyz", () => readyz(client), 120_000);
    await loadCrds(ctx, client);
    await applyBootstrapObjects(client);

    await spawn(ctx, bin, "controller-manager");
    await spawn(ctx, bin, "scheduler");
    await spawn(ctx, bin, "kwok");
    await spawn(ctx, bin, "helm-controller");
    await wait("controller-manager", "kube-controller-manager /healthz", () =>
      healthz(ports.controllerManager.port()),
    );
    await wait("scheduler", "kube-scheduler /healthz", () => healthz(ports.scheduler.port()));
    await wait("kwok", `node ${nodeName} Ready (kwok)`, async () => {
      const node = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
        `/api/v1/nodes/${nodeName}`,
      );
      return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
    });
    // Pods can be created only once the namespace's default ServiceAccount exists.
    await wait("controller-manager", "default ServiceAccount (controller-manager)", async () => {
      const res = await client.request("GET", "/api/v1/namespaces/default/serviceaccounts/default");
      return res.status === 200;
    });
    await wait("helm-controller", "helm-controller leader lease", async () => {
      const res = await client.request(
        "GET",
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/helm-controller-lock",
      );
      return res.status === 200;
    });
    return env(ctx);
  },
  async env(ctx) {
    // A CRD pinned since this API server started (a new go.mod line) is served from now on: the
    // apply is idempotent and quick, and a running test bed is never restarted for it.
    await loadCrds(ctx, KubeClient.fromKubeconfig(adminKubeconfig(ctx)));
    return env(ctx);
  },
  async stop(ctx) {
    for (const daemon of [...DAEMONS].reverse()) await stopDaemon(ctx, daemonName(daemon));
  },
};

export default kube;
