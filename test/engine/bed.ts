import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { testbedEnv } from "../testbed/env.js";

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = join(ROOT, "bin", "plinth");

export function kubeconfig(): string {
  return testbedEnv("KUBECONFIG");
}

export async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run("kubectl", args, { env: { ...process.env, KUBECONFIG: kubeconfig() } });
  return stdout;
}

export async function kubectlJson<T = { items: unknown[] }>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl(...args, "-o", "json")) as T;
}

/**
 * Stand-in CRDs (test/stand-in-crds.json, shared with bench/engine.mjs) for the custom resources
 * whose upstream CRDs cannot be fetched here: the Go module proxy refuses their modules (for the
 * Vault Secrets Operator: "403 Forbidden, This module version is not available" for v1.4.1's zip).
 * They accept any spec, so these tests exercise plinth's apply, ownership and prune on them;
 * schema validity of the other kinds is checked elsewhere.
 */
export const STAND_IN_CRDS = join(ROOT, "test", "stand-in-crds.json");

export async function ensureStandInCrds(): Promise<void> {
  await kubectl("apply", "--server-side", "--field-manager=test-stand-in", "-f", STAND_IN_CRDS);
  const list = JSON.parse(readFileSync(STAND_IN_CRDS, "utf8")) as { items: { metadata: { name: string } }[] };
  await kubectl(
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    ...list.items.map((crd) => `crd/${crd.metadata.name}`),
  );
}

export interface ProjectOptions {
  env?: string;
  /** Extra TypeScript for the environment object (e.g. `storage: { postgres: "60Gi" },`). */
  extra?: string;
  /** Extra entries of the environment's `components` (e.g. `redis: { enabled: false },`). */
  components?: string;
  state?: string;
}

/** A temp project whose config puts one staging-kind environment on the test bed's API server. */
export function project(o: ProjectOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "plinth-engine-"));
  writeConfig(dir, o);
  return dir;
}

export function writeConfig(dir: string, o: ProjectOptions = {}): void {
  const env = o.env ?? "staging";
  writeFileSync(
    join(dir, "plinth.config.ts"),
    `import { defineConfig } from "plinth";

// Kubero is off: its operator manifest is fetched from GitHub at apply time, unreachable here.
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig())} } },
  environments: {
    ${JSON.stringify(env)}: {
      kind: "staging",
      cluster: "bed",
      domainPrefix: "x-${env}",
      features: { observability: true },
      ${o.extra ?? ""}
      components: { kubero: { enabled: false }, ${o.components ?? ""} },
    },
  },
  ${o.state ?? ""}
});
`,
  );
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * What the engine tests' environments write into cert-manager's `cloudflare-api-token` Secret:
 * their clusters are `existing` (no VPS), so no DNS call is ever made with it. A test overrides it
 * through `opts.env` (an empty value is "not set").
 */
export const BED_CLOUDFLARE_TOKEN = "bed-cloudflare-token-not-real";

/** Runs the built CLI as a user does, in `cwd`. */
export function plinth(
  args: string[],
  cwd: string,
  opts: { killAfterMs?: number; env?: Record<string, string> } = {},
): Promise<Run> {
  return new Promise((resolvePromise) => {
    const child = spawn(BIN, args, {
      cwd,
      env: {
        ...process.env,
        PLINTH_HOLDER: "test@bed",
        CLOUDFLARE_API_TOKEN: BED_CLOUDFLARE_TOKEN,
        // These environments' Vault would run in the (fake) cluster, never the test bed's shared OpenBao.
        VAULT_ADDR: "",
        VAULT_TOKEN: "",
        ...opts.env,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    if (opts.killAfterMs !== undefined) setTimeout(() => child.kill("SIGKILL"), opts.killAfterMs);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Sets `status` on a custom resource as its operator would (the operators do not run on the test bed). */
export async function setStatus(
  kind: string,
  namespace: string,
  name: string,
  status: object,
): Promise<void> {
  await kubectl(
    "patch",
    kind,
    name,
    "-n",
    namespace,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  );
}

/**
 * Plays CloudNativePG's operator for one namespace (it does not run on the test bed): every Cluster
 * that appears there is reported Ready as soon as it exists, until the returned stop is called.
 */
export function standInCnpgOperator(namespace: string, pollMs = 250): () => Promise<void> {
  let running = true;
  const done = new Set<string>();
  const loop = (async () => {
    while (running) {
      const list = await kubectlJson<{ items: { metadata: { name: string; uid: string } }[] }>(
        "get",
        "clusters.postgresql.cnpg.io",
        "-n",
        namespace,
      ).catch(() => ({ items: [] }));
      for (const c of list.items) {
        if (done.has(c.metadata.uid)) continue;
        await setStatus("clusters.postgresql.cnpg.io", namespace, c.metadata.name, {
          phase: "Cluster in healthy state",
          conditions: [
            {
              type: "Ready",
              status: "True",
              reason: "ClusterIsReady",
              message: "stand-in operator",
              lastTransitionTime: new Date().toISOString(),
            },
          ],
        });
        done.add(c.metadata.uid);
      }
      await new Promise((t) => setTimeout(t, pollMs));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}
