import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parse, stringify } from "yaml";
import { makePrivateDir } from "../../config/plinth-dir.js";

interface KubeconfigDoc {
  clusters?: { name?: string; cluster?: { server?: string } }[];
}

/**
 * k3s writes its kubeconfig for use on the node (`server: https://127.0.0.1:6443`). Every cluster
 * entry's server gets the API host instead, keeping the scheme and the port k3s listens on.
 */
export function rewriteServer(k3sYaml: string, apiHost: string): { yaml: string; server: string } {
  const doc = parse(k3sYaml) as KubeconfigDoc | null;
  const clusters = doc?.clusters ?? [];
  if (clusters.length === 0) throw new Error("the kubeconfig k3s wrote has no clusters");
  let server = "";
  for (const c of clusters) {
    const url = new URL(c.cluster?.server ?? "https://127.0.0.1:6443");
    url.hostname = apiHost.includes(":") ? `[${apiHost}]` : apiHost;
    if (!url.port) url.port = "6443";
    server = url.toString().replace(/\/$/, "");
    c.cluster = { ...c.cluster, server };
  }
  return { yaml: stringify(doc, { lineWidth: 0 }), server };
}

/** The server of the kubeconfig at `path`, if it exists and names one. */
export function storedServer(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const doc = parse(readFileSync(path, "utf8")) as KubeconfigDoc | null;
    return doc?.clusters?.[0]?.cluster?.server;
  } catch {
    return undefined;
  }
}

/** Writes a file readable by its owner only, atomically (a temp file renamed over it). */
export function writePrivateFile(path: string, content: string): void {
  makePrivateDir(dirname(path));
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}
