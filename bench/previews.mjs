#!/usr/bin/env node
// A synthetic plan of many preview environments' objects, planned by plinth's own Kubernetes
// provider (a server-side dry run per object, as `plinth plan` does) and written as a saved plan
// that `plinth apply plan.json` then applies exactly. One process, so its peak memory is that of
// planning every object at once.
//
// usage: node bench/previews.mjs <kubeconfig> <env> <previews> <out.json>
import { writeFileSync } from "node:fs";
import { finishPlan } from "../dist/plan/plan.js";
import { connect } from "../dist/providers/kubernetes/client.js";
import { KubernetesProvider } from "../dist/providers/kubernetes/provider.js";

const [kubeconfig, env, count, out] = process.argv.slice(2);
if (!out) throw new Error("usage: node bench/previews.mjs <kubeconfig> <env> <previews> <out.json>");

/**
 * One preview: a namespace, a Deployment and its Service, 11 ConfigMaps, 11 Secrets (25 objects).
 * One pod per preview: kwok's single fake node keeps up with that on a small machine.
 */
function previewObjects(i) {
  const ns = `preview-${String(i).padStart(3, "0")}`;
  const meta = (name) => ({ name, namespace: ns, labels: { "plinth.dev/preview": ns } });
  const objects = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "plinth.dev/preview": ns } } },
  ];
  for (const app of ["web"]) {
    const labels = { "app.kubernetes.io/name": app };
    objects.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(app),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              { name: app, image: `registry.example/${app}:1.0.0`, env: [{ name: "PREVIEW", value: ns }] },
            ],
          },
        },
      },
    });
    objects.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(app),
      spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    });
  }
  for (let k = 0; k < 11; k++) {
    objects.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(`settings-${k}`),
      data: { preview: ns, index: String(k) },
    });
    objects.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(`credentials-${k}`),
      type: "Opaque",
      stringData: { note: `synthetic ${ns} ${k}` },
    });
  }
  return { ns, objects };
}

const { api } = await connect({ kubeconfig });
const kube = new KubernetesProvider({ api, concurrency: 16 });
const ctx = { env, tooling: "plinth/bench" };
const started = Date.now();
const previews = Array.from({ length: Number(count) }, (_, i) => previewObjects(i + 1));
const components = new Array(previews.length);
// Four previews at a time, each object by the provider's own pool: as `plinth plan` plans components.
let next = 0;
async function lane() {
  for (let i = next++; i < previews.length; i = next++) components[i] = await planPreview(previews[i]);
}
await Promise.all([lane(), lane(), lane(), lane()]);

async function planPreview(p) {
  const changes = await kube.plan(
    p.objects.map((spec) => ({ provider: "kubernetes", id: "", component: p.ns, spec })),
    ctx,
  );
  return {
    id: p.ns,
    title: `preview ${p.ns}`,
    step: "999",
    layer: "L5",
    namespace: p.ns,
    placement: "local",
    dependsOn: [],
    changes: changes.map((c) => ({
      action: c.action,
      provider: "kubernetes",
      id: c.id,
      kind: c.kind,
      name: c.name,
      namespace: c.namespace,
      apiVersion: c.spec.object.apiVersion,
      ...(c.diff.length ? { diff: c.diff } : {}),
      spec: c.spec,
      ...(c.liveVersion ? { liveVersion: c.liveVersion } : {}),
    })),
  };
}
const plan = finishPlan({ env, cluster: "bed", offline: false, phases: [{ id: "999", components }] });
writeFileSync(out, `${JSON.stringify(plan, null, 2)}\n`);
const objects = components.reduce((n, c) => n + c.changes.length, 0);
process.stdout.write(
  `${JSON.stringify({ objects, planMs: Date.now() - started, maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
