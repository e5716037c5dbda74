/**
 * Where the Kubernetes half of the test bed keeps its files and which loopback ports it uses.
 * Ports are fixed (so logs, `status` and a developer's shell agree across runs) and each can be
 * moved with its TESTBED_*_PORT variable when something else owns it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { portFromEnv } from "../lib/proc.js";
import type { TestbedContext } from "../lib/service.js";

export const ports = {
  etcd: { env: "TESTBED_ETCD_PORT", port: () => portFromEnv("TESTBED_ETCD_PORT", 32379) },
  etcdPeer: { env: "TESTBED_ETCD_PEER_PORT", port: () => portFromEnv("TESTBED_ETCD_PEER_PORT", 32380) },
  apiserver: {
    env: "TESTBED_KUBE_APISERVER_PORT",
    port: () => portFromEnv("TESTBED_KUBE_APISERVER_PORT", 36443),
  },
  controllerManager: {
    env: "TESTBED_KUBE_CONTROLLER_MANAGER_PORT",
    port: () => portFromEnv("TESTBED_KUBE_CONTROLLER_MANAGER_PORT", 36257),
  },
  scheduler: {
    env: "TESTBED_KUBE_SCHEDULER_PORT",
    port: () => portFromEnv("TESTBED_KUBE_SCHEDULER_PORT", 36259),
  },
} as const;

/** The module with our multi-call main (etcd, API server, controllers, kwok, helm-controller). */
export const moduleDir = join("testbed", "go", "kube");

/** The service-account token issuer; OpenBao's kubernetes auth is configured with the same. */
export const serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local";
export const serviceClusterIpRange = "10.96.0.0/16";

/** The fake node kwok manages (selected by annotation, so kwok never touches another node). */
export const nodeName = "kwok-node-0";
export const nodeAnnotation = "kwok.x-k8s.io/node";

export function kubeDir(ctx: Pick<TestbedContext, "stateDir">): string {
  return join(ctx.stateDir, "kube");
}

export function pkiDir(ctx: Pick<TestbedContext, "stateDir">): string {
  return join(kubeDir(ctx), "pki");
}

/** The admin kubeconfig the tests (and a developer's kubectl) use. */
export function adminKubeconfig(ctx: Pick<TestbedContext, "stateDir">): string {
  return join(kubeDir(ctx), "kubeconfig");
}

export function componentKubeconfig(ctx: Pick<TestbedContext, "stateDir">, component: string): string {
  return join(kubeDir(ctx), `${component}.kubeconfig`);
}

/** A module version pinned in one of our go.mod files (the single place a version is written). */
export function pinnedVersion(root: string, goModDir: string, module: string): string {
  const goMod = readFileSync(join(root, goModDir, "go.mod"), "utf8");
  const escaped = module.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, "m").exec(goMod);
  if (!match?.[1]) throw new Error(`${goModDir}/go.mod does not require ${module}`);
  return match[1];
}
