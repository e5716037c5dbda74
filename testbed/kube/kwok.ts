/**
 * kwok's configuration: upstream's own Stage manifests (read from the kwok module in the Go module
 * cache, the version our go.mod pins) for a node that initialises and heartbeats, pods that become
 * Ready (and Succeeded when a Job owns them), and PVCs that get a PV and bind.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments, parse as parseYaml, stringify } from "yaml";
import { moduleDir, nodeAnnotation, pinnedVersion } from "./layout.js";

const run = promisify(execFile);

/** kustomize folders of kwok's stages, as `kwokctl` composes its "fast" profile. */
const STAGE_DIRS = ["node/fast", "node/heartbeat-with-lease", "pod/fast", "volume/fast"];

/**
 * kwok's volume stages provision only for its own `kwok-volume` class; plinth renders for k3s,
 * whose default class is `local-path`. Widen the selector rather than rename our class.
 */
const KWOK_CLASS = "self.spec.storageClassName == 'kwok-volume'";
const WIDENED_CLASS = "self.spec.storageClassName in ['kwok-volume', 'local-path']";

async function kwokModuleDir(root: string): Promise<string> {
  const version = pinnedVersion(root, moduleDir, "sigs.k8s.io/kwok");
  const { stdout } = await run("go", ["mod", "download", "-json", `sigs.k8s.io/kwok@${version}`], {
    cwd: join(root, moduleDir),
  });
  const dir = (JSON.parse(stdout) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`go mod download sigs.k8s.io/kwok@${version}: no Dir in ${stdout}`);
  return dir;
}

/**
 * The fake node's address: the machine's first non-loopback IPv4 address. kwok gives it to the
 * node and to every `hostNetwork` pod, and the API server proxies to a Service only through the
 * IP of one of its pods and never to loopback: a test's own HTTP server on this address, behind a
 * hostNetwork pod, is how health checks through the service proxy are tested for real.
 */
export function nodeIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const v4 = addresses?.find((a) => a.family === "IPv4" && !a.internal);
    if (v4) return v4.address;
  }
  return "127.0.0.1";
}

/**
 * kwok's options: only the node we create carries the annotation, so kwok leaves other nodes alone.
 * Without a node lease the node controller marks the fake node NotReady about every 55 s and its
 * pods not ready, which hangs readiness waits at random.
 */
export const kwokArgs = [
  "--manage-all-nodes=false",
  "--node-lease-duration-seconds=40",
  `--manage-nodes-with-annotation-selector=${nodeAnnotation}=fake`,
  "--cidr=10.244.0.1/16",
  `--node-ip=${nodeIp()}`,
];

/** The multi-document YAML for `kwok --config`: upstream's Stages. */
export async function kwokConfig(root: string): Promise<string> {
  const base = join(await kwokModuleDir(root), "kustomize", "stage");
  // No KwokConfiguration here: kwok applies its defaults only when the file has none, so its
  // options go on the command line instead (kwokArgs).
  const docs: unknown[] = [];
  let widened = false;
  for (const dir of STAGE_DIRS) {
    const kustomization = parseYaml(readFileSync(join(base, dir, "kustomization.yaml"), "utf8")) as {
      resources?: string[];
    };
    for (const resource of kustomization.resources ?? []) {
      if (!resource.endsWith(".yaml")) continue;
      let text = readFileSync(join(base, dir, resource), "utf8");
      if (text.includes(KWOK_CLASS)) {
        text = text.replaceAll(KWOK_CLASS, WIDENED_CLASS);
        widened = true;
      }
      for (const doc of parseAllDocuments(text)) {
        const obj = doc.toJS() as { kind?: string } | null;
        if (obj?.kind === "Stage") docs.push(obj);
      }
    }
  }
  if (!widened) {
    throw new Error(`kwok's volume stages no longer select "${KWOK_CLASS}": update testbed/kube/kwok.ts`);
  }
  return docs.map((d) => stringify(d)).join("---\n");
}
