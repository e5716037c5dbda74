#!/usr/bin/env node
// 1,000 objects through plinth's engine, in two steps, each its own process so that its peak
// memory is its own:
//
//   plan:  many preview environments' objects planned by plinth's Kubernetes provider (a
//          server-side dry run per object, as `plinth plan` does) and written as a saved plan;
//   apply: that plan run by the code `plinth apply plan.json` runs once the file has passed its
//          checks: under the environment's lock, the cluster's part of the moved-since-plan check
//          (every object re-read at the version planned), then the executor (ApplySet parent
//          widened, objects applied component by component, readiness waited for, parent shrunk)
//          and the run recorded in state.
//
// Why not `plinth apply plan.json` itself: the CLI (and applyPlan) refuse any plan that is not
// exactly what the config produces (src/plan/claim.ts), and no config produces a thousand preview
// objects; the claim check is a comparison of the plan with the config's own render, measured by
// the staging benchmarks, not a cost that grows with the cluster. What is skipped is only that
// comparison and the plan file's signature check; everything that talks to the cluster runs.
//
// usage: node bench/previews.mjs plan <kubeconfig> <env> <previews> <out.json>
//        node bench/previews.mjs apply <config dir> <plan.json>
import { readFileSync, writeFileSync } from "node:fs";
import { openEnvironment } from "../dist/api/engine.js";
import { lockedRun, runRecorded } from "../dist/apply/run.js";
import { movedSincePlan } from "../dist/plan/compose.js";
import { finishPlan, verifyHash } from "../dist/plan/plan.js";
import { connect } from "../dist/providers/kubernetes/client.js";
import { KubernetesProvider } from "../dist/providers/kubernetes/provider.js";

const USAGE =
  "usage: node bench/previews.mjs plan <kubeconfig> <env> <previews> <out.json> | apply <config dir> <plan.json>";

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

/** Plans every preview's objects (four previews at a time, each object by the provider's own pool, as `plinth plan` plans components). */
async function planStep(kubeconfig, env, count, out) {
  const { api } = await connect({ kubeconfig });
  const kube = new KubernetesProvider({ api, concurrency: 16 });
  const ctx = { env, tooling: "plinth/bench" };
  const started = Date.now();
  const previews = Array.from({ length: Number(count) }, (_, i) => previewObjects(i + 1));
  const components = new Array(previews.length);
  let next = 0;
  async function lane() {
    for (let i = next++; i < previews.length; i = next++)
      components[i] = await planPreview(kube, ctx, previews[i]);
  }
  await Promise.all([lane(), lane(), lane(), lane()]);
  const plan = finishPlan({ env, cluster: "bed", offline: false, phases: [{ id: "999", components }] });
  writeFileSync(out, `${JSON.stringify(plan, null, 2)}\n`);
  const objects = components.reduce((n, c) => n + c.changes.length, 0);
  return { objects, ms: Date.now() - started };
}

async function planPreview(kube, ctx, p) {
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

/**
 * Applies the saved plan as `plinth apply plan.json` does after its checks of the file against the
 * config (see the top of this file): lock, moved-since-plan, executor with its waits, state record.
 */
async function applyStep(dir, file) {
  const started = Date.now();
  const plan = JSON.parse(readFileSync(file, "utf8"));
  if (!verifyHash(plan)) throw new Error(`${file} does not match its content hash`);
  const target = await openEnvironment({
    env: plan.env,
    cwd: dir,
    holder: process.env.PLINTH_HOLDER ?? "bench@local",
  });
  let events = 0;
  const { changes } = await lockedRun(target.state, plan.env, target.holder, "apply (bench)", async () => {
    const moved = await movedSincePlan(plan, target);
    if (moved.length > 0) throw new Error(`the plan no longer matches the cluster:\n  ${moved.join("\n  ")}`);
    // The CLI's default concurrency (4 components at a time); progress events counted, not printed.
    return runRecorded(plan, target, { onEvent: () => events++, concurrency: 4 });
  });
  return { objects: changes, events, ms: Date.now() - started };
}

const [step, ...args] = process.argv.slice(2);
let result;
if (step === "plan" && args.length === 4) result = await planStep(...args);
else if (step === "apply" && args.length === 2) result = await applyStep(...args);
else throw new Error(USAGE);
process.stdout.write(`${JSON.stringify({ ...result, maxRssKb: process.resourceUsage().maxRSS })}\n`);
