/**
 * The backup objects plinth renders, and the plugin installation it applies, accepted by the test
 * bed's real API server with the upstream CRDs (CloudNativePG 1.28, cert-manager, plugin v0.15.0):
 * applied server-side in a namespace of this test's own, read back, and removed. No CloudNativePG
 * operator runs on the test bed, so nothing acts on them: that path is test/backups/barman.test.ts.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve as resolvePath } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../src/catalog/types.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { fetchManifest } from "../../src/providers/manifest.js";
import { crdFiles } from "../../testbed/crds.js";
import { KubeClient, objectPath, statusMessage } from "../../testbed/kube/client.js";
import { exampleWith } from "../helpers/config.js";
import { root, testbedEnv } from "../testbed/env.js";
import { backupsSettings } from "./config.js";

const ns = `backups-${process.pid}-${Date.now().toString(36)}`;
let kube: KubeClient;

const PLURALS: Record<string, string> = {
  Cluster: "clusters",
  ObjectStore: "objectstores",
  ScheduledBackup: "scheduledbackups",
};

function rendered(): KubeObject[] {
  const env = resolve(
    exampleWith((raw) => {
      raw.defaults = { ...raw.defaults, backups: backupsSettings() };
    }),
    "staging",
  );
  return desiredComponents(env, buildGraph(env))
    .filter((c) => c.id === "platform-postgres" || c.id === "postgres")
    .flatMap((c) => c.objects)
    .filter((o) => o.kind in PLURALS)
    .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: ns } }));
}

/** Server-side apply as plinth does it (field manager plinth), optionally as a dry run. */
function apply(o: KubeObject, plural: string, dryRun = false) {
  const path = objectPath(o.apiVersion, plural, o.metadata.name, o.metadata.namespace);
  return kube.request("PATCH", `${path}?fieldManager=plinth&force=true${dryRun ? "&dryRun=All" : ""}`, {
    body: o,
    contentType: "application/apply-patch+yaml",
  });
}

describe("backup objects on the test bed's API server", () => {
  beforeAll(async () => {
    const path = resolvePath(testbedEnv("KUBECONFIG"));
    if (!path.startsWith(resolvePath(root, ".testbed")))
      throw new Error(`KUBECONFIG=${path} is not the test bed's`);
    kube = KubeClient.fromKubeconfig(path);
    await kube.call("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    });
  });
  afterAll(async () => {
    await kube?.request("DELETE", `/api/v1/namespaces/${ns}`);
  });

  it("accepts the Clusters with the plugin, the ObjectStores and the ScheduledBackups, and keeps every field", async () => {
    const objects = rendered();
    expect(objects.map((o) => o.kind).sort()).toEqual([
      "Cluster",
      "Cluster",
      "ObjectStore",
      "ObjectStore",
      "ScheduledBackup",
      "ScheduledBackup",
    ]);
    for (const o of objects) {
      const plural = PLURALS[o.kind] ?? "";
      const res = await apply(o, plural);
      expect([200, 201], `${o.kind} ${o.metadata.name}: ${statusMessage(res.body)}`).toContain(res.status);
      const live = await kube.get<{ spec: Record<string, unknown> }>(
        objectPath(o.apiVersion, plural, o.metadata.name, ns),
      );
      // Nothing pruned by the schema: what plinth sends is what the operator and plugin will read.
      expect(live.spec).toMatchObject(o.spec as Record<string, unknown>);
    }
  });

  it("refuses what the plugin's schema forbids (the schema is live, not decoration)", async () => {
    const store = rendered().find((o) => o.kind === "ObjectStore");
    if (!store) throw new Error("no ObjectStore rendered");
    const bad = {
      ...store,
      metadata: { ...store.metadata, name: "bad" },
      spec: { ...(store.spec as object), retentionPolicy: "30 days" },
    };
    const res = await apply(bad as KubeObject, "objectstores");
    expect(res.status).toBe(422);
    expect(statusMessage(res.body)).toContain("retentionPolicy");
  });

  it("accepts the plugin's installation as plinth applies it (dry run: one API server for everyone)", async () => {
    const crd = (await crdFiles()).find((c) => c.kind === "ObjectStore");
    if (!crd) throw new Error("plugin CRD not pinned");
    // The pinned release's bytes from the checksum-verified Go module (not a stand-in for a hosted API).
    const bytes = readFileSync(join(dirname(crd.file), "../../../manifest.yaml"));
    const env = resolve(
      exampleWith((raw) => {
        raw.defaults = { ...raw.defaults, backups: backupsSettings() };
      }),
      "prod",
    );
    const source = desiredComponents(env, buildGraph(env)).find((c) => c.id === "cnpg-operator")?.external[0]
      ?.source;
    if (!source) throw new Error("no plugin manifest");
    const objects = await fetchManifest(source, (async () => new Response(bytes)) as unknown as typeof fetch);
    for (const o of objects) {
      const group = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
      const list = await kube.get<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
        group,
      );
      const r = list.resources.find((x) => x.kind === o.kind && !x.name.includes("/"));
      if (!r) throw new Error(`${o.apiVersion} ${o.kind} is not served`);
      // Namespaced objects go to this test's namespace (cnpg-system is everyone's).
      const placed = r.namespaced ? { ...o, metadata: { ...o.metadata, namespace: ns } } : o;
      const res = await apply(placed, r.name, true);
      expect(res.status, `${o.kind} ${o.metadata.name}: ${statusMessage(res.body)}`).toBeLessThan(300);
    }
    expect(objects.length).toBeGreaterThan(10);
  });
});
