/**
 * A remote operator manifest (Kubero's) planned object by object against the test bed's real API
 * server: before the first apply its objects are to create; once applied, the plan reads no
 * changes and `--detailed-exitcode` exits 0; an object of it edited by hand is an update naming
 * the field, and apply puts it back; a manifest that cannot be read is an update that says so,
 * and its applied objects are kept, not pruned.
 *
 * Stand-in: the real host (raw.githubusercontent.com) is unreachable here, so the catalog's pin is
 * pointed at a real HTTP server on loopback serving a small manifest of the same shape (a
 * namespace, a ServiceAccount, a ClusterRole, the manager's Deployment naming the image plinth
 * swaps), with that manifest's own sha256. Everything else is the real CLI run in-process; its
 * requests to the API server go through the test's TLS proxy (fault-proxy.ts, no fault injected),
 * which counts them: a converged manifest object is neither read nor dry-run on its own.
 * Environment "mfstplan" (ci kind, Kubero alone) lives in its own namespaces (a peer environment
 * gives it the `-mfstplan` suffix); the manifest's namespace and ClusterRole are named for it.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Change, Plan } from "../../src/plan/plan.js";
import { cli, tempDir } from "../helpers/config.js";
import { ensureStandInCrds, kubeconfig, kubectl, kubectlJson } from "./bed.js";
import { type KubeFaultProxy, startKubeFaultProxy } from "./fault-proxy.js";

const pin = vi.hoisted(() => ({ url: "", sha256: "" }));
vi.mock("../../src/catalog/versions.js", async (original) => ({
  ...(await original<typeof import("../../src/catalog/versions.js")>()),
  KUBERO_OPERATOR_MANIFEST: pin,
}));

const ENV = "mfstplan";
const OPERATOR_NS = `${ENV}-operator-system`;
const CLUSTER_ROLE = `${ENV}-operator-manager`;
const MANIFEST = `apiVersion: v1
kind: Namespace
metadata:
  name: ${OPERATOR_NS}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: controller-manager
  namespace: ${OPERATOR_NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ${CLUSTER_ROLE}
rules:
  - apiGroups: ["application.kubero.dev"]
    resources: ["kuberoes"]
    verbs: ["get", "list", "watch"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller-manager
  namespace: ${OPERATOR_NS}
spec:
  replicas: 1
  selector:
    matchLabels:
      control-plane: controller-manager
  template:
    metadata:
      labels:
        control-plane: controller-manager
    spec:
      serviceAccountName: controller-manager
      containers:
        - name: kube-rbac-proxy
          image: gcr.io/kubebuilder/kube-rbac-proxy:v0.11.0
        - name: manager
          image: ghcr.io/kubero-dev/kubero-operator/kuberoapp:v0.2.1
`;

let server: Server;
/** Requests the stand-in host answered: a plan reads a verified copy from the cache after the first. */
let hits = 0;
let dir: string;
/** Between plinth and the API server (no fault injected): counts the requests a plan sends. */
let proxy: KubeFaultProxy;

const plinth = (...args: string[]) => cli([...args], dir);

async function plan(): Promise<{ plan: Plan; manifest: Change }> {
  const r = await plinth("plan", ENV, "--json");
  expect(r.code, r.stderr).toBe(0);
  const p = JSON.parse(r.stdout) as Plan;
  const manifest = p.phases
    .flatMap((ph) => ph.components.flatMap((c) => c.changes))
    .find((c) => c.provider === "manifest");
  expect(manifest).toBeDefined();
  return { plan: p, manifest: manifest as Change };
}

const pending = (p: Plan) =>
  p.phases
    .flatMap((ph) => ph.components.flatMap((c) => c.changes))
    .filter((c) => c.action !== "no-op")
    .map((c) => `${c.action} ${c.kind} ${c.name}`);

describe.sequential("a remote manifest is planned object by object (test bed, stand-in manifest host)", () => {
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === "/operator.yaml") return res.end(MANIFEST);
      res.writeHead(404).end("not found");
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    pin.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/operator.yaml`;
    pin.sha256 = createHash("sha256").update(MANIFEST).digest("hex");
    await ensureStandInCrds();
    dir = tempDir("plinth-manifest-plan-");
    proxy = await startKubeFaultProxy({ kubeconfig: kubeconfig(), dir });
    writeFileSync(
      join(dir, "plinth.config.ts"),
      `import { defineConfig } from "plinth";

// A second environment on the cluster gives "${ENV}" its own namespaces.
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(proxy.kubeconfig)} } },
  environments: {
    ${ENV}: {
      kind: "ci",
      cluster: "bed",
      components: {
        traefik: { enabled: false },
        redis: { enabled: false },
        postgres: { enabled: false },
        kubero: { enabled: true },
      },
    },
    "${ENV}-peer": { kind: "ci", cluster: "bed", components: { kubero: { enabled: false } } },
  },
});
`,
    );
    await plinth("unlock", ENV);
    await plinth("destroy", ENV, "--yes", "--delete-data");
  });

  afterAll(async () => {
    if (dir) await plinth("destroy", ENV, "--yes", "--delete-data");
    await kubectl("delete", "configmap", "-n", "kube-system", `plinth-applyset-${ENV}`, "--ignore-not-found");
    await new Promise((done) => server?.close(done));
    await proxy?.close();
  });

  it("before the first apply: the manifest's objects are to create, named in the step", async () => {
    const from = proxy.seen.length;
    const { manifest } = await plan();
    // Not in the cluster yet: each is asked of the server (the filter the no-op plan is held to below).
    const asked = proxy.seen
      .slice(from)
      .filter((x) => x.path.includes(OPERATOR_NS) || x.path.includes(CLUSTER_ROLE));
    expect(asked.filter((x) => x.method === "PATCH" && x.path.includes("dryRun")).length).toBe(4);
    expect(manifest.action).toBe("create");
    expect(manifest.detail).toContain(pin.url);
    expect(manifest.detail).toContain(
      `4 of its 4 objects: create Namespace ${OPERATOR_NS}, create ServiceAccount ${OPERATOR_NS}/controller-manager, create ClusterRole ${CLUSTER_ROLE}, create Deployment ${OPERATOR_NS}/controller-manager`,
    );
    expect(hits).toBe(1);
    // The verified download is kept by its digest beside the config (git-ignored).
    expect(readdirSync(join(dir, ".plinth", "cache", "manifests"))).toEqual([`${pin.sha256}.yaml`]);
  });

  it("after apply: no changes, --detailed-exitcode 0, no download, nothing of the manifest pruned", async () => {
    const applied = await plinth("apply", ENV, "--yes", "--no-wait");
    expect(applied.code, applied.stderr).toBe(0);
    const deployment = await kubectlJson<{
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: { template: { spec: { containers: { image: string }[] } } };
    }>("get", "deployment", "controller-manager", "-n", OPERATOR_NS);
    expect(deployment.spec.template.spec.containers.map((c) => c.image)).toEqual([
      "quay.io/brancz/kube-rbac-proxy:v0.19.1",
      "ghcr.io/kubero-dev/kubero-operator/kuberoapp:v0.2.1",
    ]);
    expect(deployment.metadata.labels["plinth.dev/component"]).toBe("kubero");
    expect(deployment.metadata.annotations["plinth.dev/manifest"]).toBe("kubero-operator");

    const from = proxy.seen.length;
    const { plan: p, manifest } = await plan();
    expect(manifest.action).toBe("no-op");
    expect(pending(p)).toEqual([]);
    // Its converged objects are no-ops from the ApplySet's lists: none is read or dry-run alone.
    const single = proxy.seen
      .slice(from)
      .map((x) => `${x.method} ${x.path.replace(/\?.*/, "")}`)
      .filter((r) => r.includes(OPERATOR_NS) || r.includes(CLUSTER_ROLE));
    expect(single).toEqual([]);
    const exit = await plinth("plan", ENV, "--detailed-exitcode");
    expect(exit.code, exit.stdout + exit.stderr).toBe(0);
    expect(exit.stdout).toContain("Plan: 0 to create, 0 to update, 0 to adopt, 0 to delete");
    // Plan and apply read the cached copy (re-hashed on every read): the host was asked once.
    expect(hits).toBe(1);
  });

  it("a hand edit of one of its objects is an update naming the field; apply puts it back", async () => {
    await kubectl("scale", "deployment", "controller-manager", "-n", OPERATOR_NS, "--replicas=3");
    const { plan: p, manifest } = await plan();
    expect(pending(p)).toEqual(["update OperatorManifest kubero-operator"]);
    expect(manifest.detail).toContain(
      `1 of its 4 objects: update Deployment ${OPERATOR_NS}/controller-manager`,
    );
    expect(manifest.diff).toEqual([
      { path: `Deployment ${OPERATOR_NS}/controller-manager spec.replicas`, before: 3, after: 1 },
    ]);
    const exit = await plinth("plan", ENV, "--detailed-exitcode");
    expect(exit.code).toBe(1);
    expect(exit.stdout).toContain(`Deployment ${OPERATOR_NS}/controller-manager spec.replicas: 3 → 1`);

    const applied = await plinth("apply", ENV, "--yes", "--no-wait");
    expect(applied.code, applied.stderr).toBe(0);
    const replicas = await kubectl(
      "get",
      "deployment",
      "controller-manager",
      "-n",
      OPERATOR_NS,
      "-o",
      "jsonpath={.spec.replicas}",
    );
    expect(replicas).toBe("1");
    expect((await plinth("plan", ENV, "--detailed-exitcode")).code).toBe(0);
  });

  it("a manifest that cannot be read is an update saying why, and its objects are kept", async () => {
    rmSync(join(dir, ".plinth", "cache", "manifests"), { recursive: true });
    const url = pin.url;
    pin.url = url.replace("/operator.yaml", "/gone.yaml");
    try {
      const { plan: p, manifest } = await plan();
      expect(pending(p)).toEqual(["update OperatorManifest kubero-operator"]);
      expect(manifest.detail).toContain(
        `not compared with the cluster: cannot fetch the operator manifest ${pin.url}: HTTP 404`,
      );
      const exit = await plinth("plan", ENV, "--detailed-exitcode");
      expect(exit.code).toBe(1);
    } finally {
      pin.url = url;
    }
    expect(existsSync(join(dir, ".plinth", "cache", "manifests"))).toBe(false);
  });

  it("destroy removes the manifest's objects with the rest (their kinds are recorded in the ApplySet)", async () => {
    const destroyed = await plinth("destroy", ENV, "--yes", "--delete-data");
    expect(destroyed.code, destroyed.stderr).toBe(0);
    const left = await kubectl("get", "clusterrole", CLUSTER_ROLE, "--ignore-not-found", "-o", "name");
    expect(left).toBe("");
    const deployments = await kubectlJson("get", "deployments", "-n", OPERATOR_NS);
    expect(deployments.items).toEqual([]);
  });
});
