import type { KubeApi } from "./api.js";
import type { KubeTarget } from "./connect.js";

export type { KubeTarget } from "./connect.js";

/**
 * Loaded on first use: offline commands never read a kubeconfig. (A dynamic import of the module
 * itself, not of client-node, so the bundle keeps only the parts of client-node it calls.)
 */
export async function connect(target: KubeTarget): Promise<{ api: KubeApi; server: string }> {
  return (await import("./connect.js")).connectTo(target);
}
