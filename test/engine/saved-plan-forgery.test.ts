/**
 * Saved plans that cannot be forged (issue 10, items 1 and 2), against the test bed's API server.
 * Each attack edits a real saved plan as an attacker with write access to the file would, with
 * the content hash recomputed (it is unkeyed, so anyone can), and runs `plinth apply` on it: it
 * must be refused (exit 2, naming each difference) with nothing written to the cluster. A
 * legitimate saved plan, signed and unsigned, still applies.
 *
 * The environment `forge` shares its cluster with `forge-peer` (never deployed) so that its
 * namespaces are suffixed (`data-forge`): apply is narrowed to its `postgres` component, whose
 * objects all live there, so this file touches nothing another engine test owns.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/catalog/types.js";
import { type Change, finishPlan, type Plan } from "../../src/plan/plan.js";
import { ensureStandInCrds, kubeconfig, kubectl, kubectlJson, plinth, project, type Run } from "./bed.js";

const ENV = "forge";
const NS = "data-forge";
const KEY = "5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f";
const NO_KEY = { PLINTH_PLAN_KEY: "" };
const APPLY = ["--yes", "--no-wait", "--target", "postgres"];
let dir: string;

const outputs: string[] = [];
function keep(r: Run): Run {
  outputs.push(r.stdout, r.stderr);
  return r;
}

/** The config: forge (and its never-deployed peer) on `cluster`, forge named `env`. */
function writeForgeConfig(o: { env?: string; cluster?: string } = {}): void {
  const cluster = o.cluster ?? "bed";
  writeFileSync(
    join(dir, "plinth.config.ts"),
    `import { defineConfig } from "plinth";

export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: {
    bed: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig())} },
    other: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig())} },
  },
  environments: {
    ${JSON.stringify(o.env ?? ENV)}: {
      kind: "staging",
      cluster: "${cluster}",
      domainPrefix: "x-forge",
      features: { observability: true },
      components: { kubero: { enabled: false } },
    },
    "forge-peer": { kind: "test", cluster: "${cluster}", domainPrefix: "x-forge-peer", components: { kubero: { enabled: false } } },
  },
});
`,
  );
}

const run = (args: string[], env: Record<string, string> = NO_KEY) => plinth(args, dir, { env }).then(keep);

/** A fresh saved plan of forge, as `plinth plan forge -o <file>` writes it. */
async function savePlan(file: string, env: Record<string, string> = NO_KEY): Promise<Plan> {
  const r = await run(["plan", ENV, "-o", file], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(readFileSync(join(dir, file), "utf8")) as Plan;
}

/** The attacker's edit, then the hash recomputed as anyone can; the signature (if any) kept. */
function tamper(plan: Plan, file: string, edit: (postgres: Change[], p: Plan) => void): void {
  const p = structuredClone(plan);
  const postgres = p.phases.flatMap((ph) => ph.components).find((c) => c.id === "postgres");
  if (!postgres) throw new Error("forge plans postgres");
  edit(postgres.changes, p);
  const { summary: _s, hash: _h, signature, ...content } = p;
  const forged = finishPlan(content);
  writeFileSync(join(dir, file), JSON.stringify(signature ? { ...forged, signature } : forged, null, 2));
}

/** What the cluster holds that an attack would write: compared before and after each refusal. */
async function clusterState(): Promise<string> {
  const parent = await kubectlJson<{ metadata: { resourceVersion: string } }>(
    "get",
    "configmap",
    `plinth-applyset-${ENV}`,
    "-n",
    "kube-system",
  );
  const names = await kubectl("get", "secrets,configmaps", "-n", NS, "-o", "name");
  const bindings = await kubectl("get", "clusterrolebindings", "-o", "name");
  return JSON.stringify({
    parent: parent.metadata.resourceVersion,
    names: names.split("\n").sort(),
    bindings: bindings.split("\n").filter((b) => b.includes("forge")),
  });
}

async function expectRefused(file: string, env: Record<string, string>, ...said: string[]): Promise<Run> {
  const before = await clusterState();
  const r = await run(["apply", file, ...APPLY], env);
  expect(r.code, r.stderr).toBe(2);
  for (const s of said) expect(r.stderr).toContain(s);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(await clusterState()).toBe(before);
  return r;
}

function objectChange(o: KubeObject): Change {
  const ns = o.metadata.namespace;
  return {
    action: "create",
    provider: "kubernetes",
    id: `kubernetes:${o.apiVersion}:${o.kind}:${ns ? `${ns}/` : ""}${o.metadata.name}`,
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    ...(ns ? { namespace: ns } : {}),
    spec: { object: o },
  };
}

describe.sequential("saved plans cannot be forged", { timeout: 300_000 }, () => {
  let base: Plan;
  let attacker: Server;
  let fetched = 0;

  beforeAll(async () => {
    dir = project({ env: ENV });
    writeForgeConfig();
    await ensureStandInCrds();
    await run(["destroy", ENV, "--yes", "--delete-data"]);
    // The attacker's manifest server: a request to it would mean plinth fetched a URL from the file.
    attacker = createServer((_req, res) => {
      fetched++;
      res.end(`apiVersion: v1\nkind: ConfigMap\nmetadata: { name: planted, namespace: ${NS} }\n`);
    });
    await new Promise<void>((r) => attacker.listen(0, "127.0.0.1", r));
  });
  afterAll(async () => {
    attacker?.close();
    await kubectl("delete", "configmap", "someone-elses", "-n", NS, "--ignore-not-found");
    await run(["destroy", ENV, "--yes", "--delete-data"]);
  });

  it("a legitimate unsigned saved plan applies, saying that it is not signed", async () => {
    await savePlan("plan.json");
    const r = await run(["apply", "plan.json", ...APPLY]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "notice: plan.json is not signed and PLINTH_PLAN_KEY is not set: its signature is not checked",
    );
    expect(await kubectl("get", "cluster.postgresql.cnpg.io", "postgres", "-n", NS, "-o", "name")).toContain(
      "postgres",
    );
    base = await savePlan("base.json");
  });

  it("a forged ClusterRoleBinding to cluster-admin: refused, no binding on the API server", async () => {
    tamper(base, "crb.json", (changes) =>
      changes.push(
        objectChange({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name: "forge-exfil-admin" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
          subjects: [{ kind: "ServiceAccount", name: "default", namespace: NS }],
        } as KubeObject),
      ),
    );
    await expectRefused(
      "crb.json",
      NO_KEY,
      "crb.json: is not what the config produces now",
      "ClusterRoleBinding forge-exfil-admin (component postgres): not an object the config produces (an extra object)",
    );
    await expect(kubectl("get", "clusterrolebinding", "forge-exfil-admin")).rejects.toThrow(/NotFound/);
  });

  it("an exfiltrating Secret filled from the operator's variables: refused, no Secret, no value shown", async () => {
    const passphrase = "vault-passphrase-sentinel-7731";
    const awsKey = "aws-secret-sentinel-9920";
    tamper(base, "exfil.json", (changes) =>
      changes.push({
        action: "create",
        provider: "secret",
        id: `kubernetes:v1:Secret:${NS}/exfil`,
        kind: "Secret",
        name: "exfil",
        namespace: NS,
        spec: {
          secret: {
            name: "exfil",
            namespace: NS,
            keys: {
              passphrase: {
                length: 0,
                alphabet: "alphanumeric",
                fromEnv: { variable: "PLINTH_VAULT_PASSPHRASE", what: "x" },
              },
              s3: {
                length: 0,
                alphabet: "alphanumeric",
                fromEnv: { variable: "AWS_SECRET_ACCESS_KEY", what: "x" },
              },
              note: { length: 0, alphabet: "alphanumeric", fixed: "hello" },
            },
            consumers: ["nobody"],
          },
        },
      }),
    );
    const r = await expectRefused(
      "exfil.json",
      { ...NO_KEY, PLINTH_VAULT_PASSPHRASE: passphrase, AWS_SECRET_ACCESS_KEY: awsKey },
      "Secret data-forge/exfil (component postgres): fills a key from environment variable PLINTH_VAULT_PASSPHRASE; the catalog fills secrets only from CLOUDFLARE_API_TOKEN here",
      "Secret data-forge/exfil (component postgres): fills a key from environment variable AWS_SECRET_ACCESS_KEY",
      "Secret data-forge/exfil (component postgres): not a secret the config produces (an extra secret)",
    );
    expect(r.stdout + r.stderr).not.toContain(passphrase);
    expect(r.stdout + r.stderr).not.toContain(awsKey);
    await expect(kubectl("get", "secret", "exfil", "-n", NS)).rejects.toThrow(/NotFound/);
  });

  it("a foreign manifest URL: refused, never fetched", async () => {
    const url = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/operator.yaml`;
    tamper(base, "manifest.json", (changes) =>
      changes.push({
        action: "update",
        provider: "manifest",
        kind: "OperatorManifest",
        name: "kubero-operator",
        spec: { url, sha256: "0".repeat(64), imageOverrides: [] },
      }),
    );
    await expectRefused(
      "manifest.json",
      NO_KEY,
      "OperatorManifest kubero-operator (component postgres): not a manifest step the config produces",
    );
    expect(fetched).toBe(0);
    await expect(kubectl("get", "configmap", "planted", "-n", NS)).rejects.toThrow(/NotFound/);
  });

  it("a deletion of an object plinth does not own: refused, the object stays", async () => {
    await kubectl("create", "configmap", "someone-elses", "-n", NS, "--from-literal=a=b");
    const live = await kubectlJson<{ metadata: { resourceVersion: string } }>(
      "get",
      "configmap",
      "someone-elses",
      "-n",
      NS,
    );
    tamper(base, "delete.json", (changes) =>
      changes.push({
        action: "delete",
        provider: "kubernetes",
        id: `kubernetes:v1:ConfigMap:${NS}/someone-elses`,
        apiVersion: "v1",
        kind: "ConfigMap",
        name: "someone-elses",
        namespace: NS,
        detail: "no longer desired",
        spec: { release: false },
        liveVersion: live.metadata.resourceVersion,
      }),
    );
    await expectRefused(
      "delete.json",
      NO_KEY,
      "ConfigMap data-forge/someone-elses: not a member of forge's ApplySet; plinth deletes or releases only objects it owns",
    );
    expect(await kubectl("get", "configmap", "someone-elses", "-n", NS, "-o", "name")).toContain(
      "someone-elses",
    );
  });

  it("a changed object (the database's storage) is refused as not what the config produces", async () => {
    tamper(base, "changed.json", (changes) => {
      const cluster = changes.find((c) => c.kind === "Cluster");
      const object = (cluster?.spec as { object: { spec: { storage: { size: string } } } } | undefined)
        ?.object;
      if (!object) throw new Error("postgres plans its Cluster");
      object.spec.storage.size = "1Ti";
    });
    await expectRefused(
      "changed.json",
      NO_KEY,
      "Cluster data-forge/postgres (component postgres): differs from what the config produces",
    );
  });

  it("with PLINTH_PLAN_KEY set: an unsigned plan is refused", async () => {
    await savePlan("unsigned.json");
    await expectRefused(
      "unsigned.json",
      { PLINTH_PLAN_KEY: KEY },
      "unsigned.json: is not signed, and PLINTH_PLAN_KEY is set: only signed plans are applied",
    );
  });

  it("a signed plan edited by one byte (hash recomputed) is refused; the key appears nowhere", async () => {
    const signed = await savePlan("signed.json", { PLINTH_PLAN_KEY: KEY });
    expect(signed.signature).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    // One byte of one object: the namespace's label value `forge` → `forgf`.
    tamper(signed, "one-byte.json", (changes) => {
      const ns = changes.find((c) => c.kind === "Namespace");
      const object = (ns?.spec as { object: KubeObject } | undefined)?.object;
      if (!object?.metadata.labels) throw new Error("postgres plans its namespace");
      object.metadata.labels["plinth.dev/environment"] = "forgf";
    });
    await expectRefused(
      "one-byte.json",
      { PLINTH_PLAN_KEY: KEY },
      "one-byte.json: has a signature that does not match its content (edited after signing, or signed with another PLINTH_PLAN_KEY)",
    );
    // The same file without the key: the claim check still refuses it.
    await expectRefused(
      "one-byte.json",
      NO_KEY,
      "notice: one-byte.json is signed, but PLINTH_PLAN_KEY is not set",
    );
    expect(outputs.join("\n")).not.toContain(KEY);
  });

  it("a signed plan re-addressed to another cluster in the file: the signature covers it", async () => {
    const signed = JSON.parse(readFileSync(join(dir, "signed.json"), "utf8")) as Plan;
    tamper(signed, "moved.json", (_c, p) => {
      p.cluster = "other";
    });
    await expectRefused(
      "moved.json",
      { PLINTH_PLAN_KEY: KEY },
      "moved.json: has a signature that does not match",
    );
  });

  it("a plan for forge applied with a config whose forge moved to another cluster, or was renamed", async () => {
    writeForgeConfig({ cluster: "other" });
    await expectRefused(
      "signed.json",
      { PLINTH_PLAN_KEY: KEY },
      "signed.json: is not what the config produces now",
      "made for cluster bed; the config puts forge on cluster other",
    );
    writeForgeConfig({ env: "forge-renamed" });
    await expectRefused(
      "signed.json",
      { PLINTH_PLAN_KEY: KEY },
      "signed.json: was made for environment forge, which the config does not have (renamed or removed?)",
    );
    writeForgeConfig();
  });

  it("a legitimate signed plan applies", async () => {
    const signed = await savePlan("signed.json", { PLINTH_PLAN_KEY: KEY });
    expect(signed.signature).toBeDefined();
    const r = await run(["apply", "signed.json", ...APPLY], { PLINTH_PLAN_KEY: KEY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("notice:");
    expect(outputs.join("\n")).not.toContain(KEY);
  });
});
