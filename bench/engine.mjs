#!/usr/bin/env node
// Benchmarks of plinth's live engine on the test bed's real API server (kube-apiserver 1.36, kwok,
// helm-controller), each beside kubectl measured in the same run:
//   1. a no-op `plinth plan staging` against `kubectl diff --server-side` of the rendered objects;
//   2. applying every object: `plinth apply --no-wait` against `kubectl apply --server-side`, then
//      `plinth apply` with its readiness waits, per phase: wall time against the slowest component
//      and against the sum of its components;
//   3. 1,000 objects (40 preview namespaces, a synthetic saved plan): planned and applied by
//      plinth's own provider and executor in process (bench/previews.mjs; `apply plan.json` refuses
//      a plan the config does not produce), destroyed by `plinth destroy`, with wall time and peak
//      memory.
// Operators do not run on the test bed: stand-ins report the CNPG Clusters, the ArangoDeployment,
// the ClickHouseInstallations (the data tier's and SigNoz's) and the Certificate ready a few
// seconds after each appears, as their operators would. Starts the test bed's kube if it is down (and stops it after); removes
// everything it applied. It shares the cluster-wide objects of environment "staging" with the
// engine tests: do not run it while they run.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "plinth");
const KUBECONFIG = join(ROOT, ".testbed", "kube", "kubeconfig");
const RUNS = Number(process.env.BENCH_ENGINE_RUNS ?? 5);
const PREVIEWS = Number(process.env.BENCH_PREVIEWS ?? 40);
// cert-manager's `cloudflare-api-token` Secret is written from CLOUDFLARE_API_TOKEN; the bench's
// cluster is `existing` (no VPS), so no DNS call is ever made with it.
const ENV = {
  ...process.env,
  KUBECONFIG,
  PLINTH_HOLDER: "bench@local",
  CLOUDFLARE_API_TOKEN: process.env.CLOUDFLARE_API_TOKEN ?? "bench-cloudflare-token-not-real",
};

/**
 * Staging's Vault runs in the cluster, which kwok cannot start: the test bed's OpenBao plays it, so
 * apply converges a real Vault once the vault component is ready (and plan reads it). It is outside
 * the cluster, so its kubernetes auth reaches the API server by address.
 */
function vaultVariables() {
  const all = Object.fromEntries(
    readFileSync(join(ROOT, ".testbed", "env"), "utf8")
      .split("\n")
      .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line))
      .filter(Boolean)
      .map((m) => [m[1], m[2].replace(/^'(.*)'$/, "$1")]),
  );
  return {
    VAULT_ADDR: all.VAULT_ADDR,
    VAULT_TOKEN: all.VAULT_TOKEN,
    PLINTH_VAULT_KUBE_HOST: /server: (\S+)/.exec(readFileSync(KUBECONFIG, "utf8"))?.[1],
    PLINTH_VAULT_KUBE_CA_FILE: join(ROOT, ".testbed", "kube", "pki", "ca.crt"),
  };
}

const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

function sh(cmd, args, o = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8", env: ENV, maxBuffer: 256 << 20, ...o });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", ms };
}

function must(r, what) {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stderr.slice(-2000)}`);
  return r;
}

/** Wall time and the child's peak RSS (GNU time -v when installed, else the child's own report). */
function measured(cmd, args, o = {}) {
  if (!TIME) return { ...sh(cmd, args, o), maxRssMb: undefined };
  const r = sh(TIME, ["-v", cmd, ...args], o);
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1];
  return { ...r, maxRssMb: kb ? Number(kb) / 1024 : undefined };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const fmt = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const mb = (x) => (x === undefined ? "n/a" : `${x.toFixed(0)} MB`);

// --- test bed ------------------------------------------------------------------------------------

/** The services the benchmarks use: the API server, and OpenBao playing staging's Vault. */
const SERVICES = ["kube", "openbao"];

function servicesUp() {
  const r = sh("npm", ["run", "--silent", "testbed", "--", "status"], { cwd: ROOT });
  return SERVICES.every((s) => new RegExp(`^${s}\\s+up\\b`, "m").test(r.stdout));
}

/** The same stand-in CRDs as the engine tests (test/engine/bed.ts): the Go module proxy refuses the real ones. */
const STAND_IN_CRDS = join(ROOT, "test", "stand-in-crds.json");

function ensureStandInCrds() {
  must(
    sh("kubectl", ["apply", "--server-side", "--field-manager=test-stand-in", "-f", STAND_IN_CRDS]),
    "stand-in CRDs",
  );
  const names = JSON.parse(readFileSync(STAND_IN_CRDS, "utf8")).items.map(
    (crd) => `crd/${crd.metadata.name}`,
  );
  must(
    sh("kubectl", ["wait", "--for=condition=Established", "--timeout=60s", ...names]),
    "stand-in CRDs Established",
  );
}

function writeConfig(dir, env, kind, extra = "") {
  writeFileSync(
    join(dir, "plinth.config.ts"),
    `import { defineConfig } from "plinth";

// The blueprint's ${env} on the test bed's API server. Kubero is off: its operator manifest is
// fetched from GitHub at apply time, unreachable here.
export default defineConfig({
  project: "acme",
  defaults: { baseDomain: "example.com", internalDomain: "example.org" },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(KUBECONFIG)} } },
  environments: {
    ${env}: { kind: "${kind}", cluster: "bed", ${extra} components: { kubero: { enabled: false } } },
  },
});
`,
  );
}

// --- stand-in operators --------------------------------------------------------------------------

const now = () => new Date().toISOString();
const readyCondition = (message) => ({
  type: "Ready",
  status: "True",
  reason: "Ready",
  message: `${message} (set by the benchmark's stand-in operator)`,
  lastTransitionTime: now(),
});
/** What each operator reports, and after how long: the waits a real cluster would make plinth sit through. */
const STAND_INS = [
  [
    "cluster.postgresql.cnpg.io",
    "platform",
    "platform-postgres",
    6_000,
    () => ({ phase: "Cluster in healthy state", conditions: [readyCondition("Cluster is Ready")] }),
  ],
  [
    "cluster.postgresql.cnpg.io",
    "data",
    "postgres",
    5_000,
    () => ({ phase: "Cluster in healthy state", conditions: [readyCondition("Cluster is Ready")] }),
  ],
  [
    "arangodeployment.database.arangodb.com",
    "data",
    "arangodb",
    4_000,
    () => ({ conditions: [readyCondition("ready")] }),
  ],
  [
    "clickhouseinstallation.clickhouse.altinity.com",
    "data",
    "clickhouse",
    3_000,
    () => ({ status: "Completed" }),
  ],
  // SigNoz's own ClickHouse (plinth renders it since SigNoz left the chart's subchart): without
  // it, apply waits its 15 minutes for status Completed and the bench stops at its 8-minute bound.
  [
    "clickhouseinstallation.clickhouse.altinity.com",
    "observability",
    "signoz",
    3_000,
    () => ({ status: "Completed" }),
  ],
  [
    "certificate.cert-manager.io",
    "kube-system",
    "plinth-wildcard",
    2_000,
    () => ({ conditions: [readyCondition("Certificate is up to date")] }),
  ],
];

function run(cmd, args) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { env: ENV });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", () => undefined);
    child.on("close", (code) => done({ code, stdout: out }));
  });
}

function standInOperators() {
  let running = true;
  const loops = STAND_INS.map(async ([kind, ns, name, delay, status]) => {
    while (running) {
      const r = await run("kubectl", ["get", kind, name, "-n", ns, "-o", "name"]);
      if (r.code === 0) break;
      await new Promise((t) => setTimeout(t, 300));
    }
    await new Promise((t) => setTimeout(t, delay));
    if (running)
      await run("kubectl", [
        "patch",
        kind,
        name,
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status: status() }),
      ]);
  });
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

/** Runs `plinth apply --json`, timestamping each event as it arrives. */
function applyWithEvents(args, cwd) {
  return new Promise((done) => {
    const start = Date.now();
    const child = spawn(BIN, args, { cwd, env: ENV });
    const events = [];
    let buffer = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      buffer += d;
      for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (line.startsWith("{")) events.push({ at: Date.now() - start, ...JSON.parse(line) });
      }
    });
    child.stderr.on("data", (d) => (stderr += d));
    // Bounded: a pod kwok's flapping node strands NotReady would hold a Deployment wait for 10 minutes.
    const guard = setTimeout(() => child.kill("SIGTERM"), 8 * 60_000);
    child.on("close", (code) => {
      clearTimeout(guard);
      done({ code, events, stderr, ms: Date.now() - start });
    });
  });
}

/**
 * Per phase: wall (first component starting to last ready); the critical path (the longest chain
 * of components that wait for one another, each counted from its own start to ready); the slowest
 * single component; and the sum of all, what running them one after the other would take.
 */
function phaseFigures(events, dependsOn) {
  const phases = new Map();
  for (const e of events) {
    if (e.type !== "component" || e.status === "pending") continue;
    const p = phases.get(e.phase) ?? { start: Infinity, end: 0, components: new Map() };
    if (e.status === "applying") p.start = Math.min(p.start, e.at);
    if (e.status === "ready") {
      p.end = Math.max(p.end, e.at);
      p.components.set(e.component, e.elapsedMs);
    }
    phases.set(e.phase, p);
  }
  return [...phases].map(([id, p]) => {
    const [slowest, slowestMs] = [...p.components].sort((a, b) => b[1] - a[1])[0] ?? ["-", 0];
    const sum = [...p.components.values()].reduce((a, b) => a + b, 0);
    const chain = new Map();
    const path = (c) => {
      if (!chain.has(c)) {
        const deps = (dependsOn.get(c) ?? []).filter((d) => p.components.has(d));
        chain.set(c, (p.components.get(c) ?? 0) + Math.max(0, ...deps.map(path)));
      }
      return chain.get(c);
    };
    const critical = Math.max(...[...p.components.keys()].map(path));
    return { id, wall: p.end - p.start, critical, slowest, slowestMs, sum };
  });
}

// --- the benchmarks ------------------------------------------------------------------------------

function stagingBenchmarks(work) {
  const dir = join(work, "staging");
  const rendered = join(work, "rendered");
  spawnSync("mkdir", ["-p", dir]);
  writeConfig(
    dir,
    "staging",
    "staging",
    'domainPrefix: "staging", features: { observability: true }, vault: { engine: "openbao" },',
  );
  must(sh(BIN, ["render", "staging", "--out", rendered], { cwd: dir }), "plinth render");
  const cleanSlate = () => {
    sh(BIN, ["unlock", "staging"], { cwd: dir });
    must(sh(BIN, ["destroy", "staging", "--yes", "--delete-data"], { cwd: dir }), "plinth destroy staging");
  };
  cleanSlate();
  return { dir, rendered, cleanSlate };
}

const FLOOR = join(ROOT, "bench", "floor.mjs");

/** The kinds a no-op plan of the environment lists (its ApplySet parent's record), as apiVersion/plural. */
function listedKinds(dir) {
  const parent = JSON.parse(
    must(
      sh("kubectl", ["get", "configmap", "-n", "kube-system", "plinth-applyset-staging", "-o", "json"]),
      "parent",
    ).stdout,
  );
  const plural = new Map(
    must(sh("kubectl", ["api-resources", "--no-headers"], { cwd: dir }), "kubectl api-resources")
      .stdout.split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols.length >= 4)
      .map((cols) => [`${cols.at(-3)}/${cols.at(-1)}`, cols[0]]),
  );
  return (parent.metadata.annotations?.["plinth.dev/member-kinds"] ?? "")
    .split(",")
    .filter(Boolean)
    .map((k) => {
      const i = k.lastIndexOf("/");
      return `${k.slice(0, i)}/${plural.get(k) ?? `${k.slice(i + 1).toLowerCase()}s`}`;
    });
}

const row = (name, ms, peer, peerName) =>
  console.log(
    `${name.padEnd(44)} ${fmt(ms).padStart(8)}   ${peerName.padEnd(44)} ${fmt(peer).padStart(8)}   ${(ms / peer).toFixed(2)}x`,
  );

/** kubectl takes files in name order, so an object may come before its namespace: apply again until all are in. */
function kubectlApply(rendered) {
  const out = { ms: 0, passes: 0, objects: 0 };
  for (let ok = false; !ok && out.passes < 4; ) {
    const r = sh("kubectl", [
      "apply",
      "--server-side",
      "--field-manager=kubectl-bench",
      "-R",
      "-f",
      rendered,
    ]);
    out.ms += r.ms;
    out.passes++;
    const applied = r.stdout.split("\n").filter((l) => l.includes("serverside-applied")).length;
    out.objects = Math.max(out.objects, applied);
    ok = r.code === 0;
    if (!ok && !/NotFound/.test(r.stderr)) throw new Error(`kubectl apply failed:\n${r.stderr.slice(-2000)}`);
  }
  return out;
}

async function staging(work, targets) {
  const { dir, rendered, cleanSlate } = stagingBenchmarks(work);

  // Every object applied, nothing waited for: the like-for-like with kubectl apply (which has no
  // secrets to generate: plinth never renders them). Each starts from an empty cluster.
  const kApply = kubectlApply(rendered);
  must(
    sh("kubectl", ["delete", "-R", "-f", rendered, "--wait=true", "--ignore-not-found"]),
    "kubectl delete",
  );
  const pApply = must(
    sh(BIN, ["apply", "staging", "--yes", "--no-wait"], { cwd: dir }),
    "plinth apply --no-wait",
  );
  cleanSlate();
  row(
    `plinth apply staging --no-wait`,
    pApply.ms,
    kApply.ms,
    `kubectl apply --server-side -R (${kApply.objects} obj, ${kApply.passes} passes)`,
  );

  // Every readiness wait, operators played by stand-ins. Not the catalog's health checks: they ask
  // the charts' services through the API server, and kwok's pods serve nothing.
  const stop = standInOperators();
  const full = await applyWithEvents(["apply", "staging", "--yes", "--json", "--no-health-checks"], dir);
  await stop();
  if (full.code !== 0) {
    // What it was waiting for when it stopped: a readiness no stand-in operator reports.
    const waiting = full.events
      .filter((e) => e.type === "component" && e.status === "waiting")
      .slice(-5)
      .map((e) => `  ${e.component}: ${e.detail}`);
    throw new Error(
      `plinth apply staging failed (${full.code ?? "killed after 8 minutes"}):\n${waiting.join("\n")}\n${full.stderr.slice(-2000)}`,
    );
  }

  // A no-op plan of the converged environment against kubectl's server-side diff of the same
  // objects, interleaved run by run (so both see the same load), beside the floor: a bare Node.js
  // start, and Node.js sending just the requests a converged plan cannot do without.
  const kinds = listedKinds(dir);
  const samples = { plans: [], diffs: [], bare: [], floor: [] };
  let diffCode = 0;
  let noopPlan = true;
  for (let i = 0; i < RUNS + 1; i++) {
    const p = sh(BIN, ["plan", "staging", "--detailed-exitcode"], { cwd: dir });
    if (p.code !== 0 && p.code !== 1) throw new Error(`no-op plinth plan failed (${p.code}):\n${p.stderr}`);
    noopPlan &&= p.code === 0;
    const d = sh("kubectl", ["diff", "--server-side", "--force-conflicts", "-R", "-f", rendered]);
    if (d.code !== 0 && d.code !== 1) throw new Error(`kubectl diff failed:\n${d.stderr}`);
    diffCode = d.code;
    const bare = sh("node", ["-e", ""]);
    const floor = must(sh("node", [FLOOR, KUBECONFIG, "staging", ...kinds]), "bench/floor.mjs");
    if (i > 0) {
      samples.plans.push(p.ms);
      samples.diffs.push(d.ms);
      samples.bare.push(bare.ms);
      samples.floor.push(floor.ms);
    }
  }
  cleanSlate();
  const noop = { plinth: median(samples.plans), kubectl: median(samples.diffs) };
  row(
    `no-op plinth plan staging (median of ${RUNS})`,
    noop.plinth,
    noop.kubectl,
    "kubectl diff --server-side -R (median)",
  );
  if (!noopPlan) console.log("  (plinth's plan was not empty: exit 1 with --detailed-exitcode)");
  if (diffCode !== 0) console.log("  (kubectl diff found differences: exit 1)");
  const floor = median(samples.floor);
  console.log(
    `  floor: node -e '' ${fmt(median(samples.bare))}; node + one TLS connection + the ApplySet parent and ${kinds.length} lists (bench/floor.mjs) ${fmt(floor)}`,
  );
  const ratio = noop.plinth / noop.kubectl;
  targets.push(
    `no-op plan at <= 0.5x kubectl diff --server-side: ${ratio <= 0.5 ? "PASS" : "MISS"} (${ratio.toFixed(2)}x; plinth ${fmt(noop.plinth)}, ${fmt(noop.plinth - floor)} above the floor of ${fmt(floor)}, which is ${(floor / noop.kubectl).toFixed(2)}x kubectl)`,
  );

  const graph = JSON.parse(
    must(sh(BIN, ["graph", "staging", "--format", "json"], { cwd: dir }), "graph").stdout,
  );
  const dependsOn = new Map(graph.phases.flatMap((p) => p.components.map((c) => [c.id, c.dependsOn])));
  const phases = phaseFigures(full.events, dependsOn);
  console.log(
    `\nplinth apply staging with every readiness wait: ${fmt(full.ms)} (plan, apply, waits; --no-health-checks: kwok's pods serve nothing)`,
  );
  console.log(
    `  ${"phase".padEnd(5)} ${"wall".padStart(8)} ${"critical path".padStart(13)} ${"slowest component".padStart(30)} ${"sum".padStart(8)}  wall/critical  wall/sum`,
  );
  for (const p of phases) {
    console.log(
      `  ${p.id.padEnd(5)} ${fmt(p.wall).padStart(8)} ${fmt(p.critical).padStart(13)} ${`${p.slowest} ${fmt(p.slowestMs)}`.padStart(30)} ${fmt(p.sum).padStart(8)}  ${(p.wall / p.critical).toFixed(2).padStart(13)}  ${(p.wall / p.sum).toFixed(2).padStart(8)}`,
    );
  }
  const worst = phases.reduce((w, p) => (p.wall / p.critical > w.wall / w.critical ? p : w));
  targets.push(
    `each phase close to its slowest wait (chain), not the sum: worst wall/critical path ${(worst.wall / worst.critical).toFixed(2)} (phase ${worst.id}); wall/sum ${phases.map((p) => (p.wall / p.sum).toFixed(2)).join(", ")}`,
  );
}

/**
 * bench/previews.mjs bundled as bin/plinth's CLI is (scripts/bundle.mjs), so its memory and load
 * are what a plinth process's are. In dist/, one level down as dist/bundle/ is: the bundled code
 * finds dist/index.js and package.json relative to itself.
 */
async function bundledPreviews() {
  const { build } = await import("esbuild");
  const { bundleOptions } = await import(join(ROOT, "scripts", "bundle.mjs"));
  const outdir = join(ROOT, "dist", `bench-previews-${process.pid}`);
  await build(bundleOptions([join(ROOT, "bench", "previews.mjs")], outdir));
  process.on("exit", () => rmSync(outdir, { recursive: true, force: true }));
  return join(outdir, "previews.js");
}

async function previews(work, targets) {
  // 1,000 objects: many preview namespaces in one saved plan, applied exactly, then destroyed.
  const dir = join(work, "previews");
  spawnSync("mkdir", ["-p", dir]);
  writeConfig(dir, "previews", "ci");
  sh(BIN, ["unlock", "previews"], { cwd: dir });
  must(sh(BIN, ["destroy", "previews", "--yes", "--delete-data"], { cwd: dir }), "plinth destroy previews");
  const file = join(dir, "plan.json");
  const script = await bundledPreviews();
  const planned = must(
    measured("node", [script, "plan", KUBECONFIG, "previews", String(PREVIEWS), file]),
    "preview plan",
  );
  const report = JSON.parse(planned.stdout);
  // Bounded: a wedged fake node (kwok under load) must not hold the benchmark for hours.
  const applied = measured("timeout", ["900", "node", script, "apply", dir, file], { cwd: dir });
  sh(BIN, ["unlock", "previews"], { cwd: dir });
  const destroyed = must(
    measured(BIN, ["destroy", "previews", "--yes", "--delete-data"], { cwd: dir }),
    "destroy",
  );
  sh("kubectl", [
    "delete",
    "configmap",
    "-n",
    "kube-system",
    "plinth-applyset-previews",
    "--ignore-not-found",
  ]);
  if (applied.code !== 0)
    throw new Error(`applying the previews' plan failed (${applied.code}):\n${applied.stderr.slice(-2000)}`);
  const appliedReport = JSON.parse(applied.stdout);
  if (appliedReport.objects !== report.objects)
    throw new Error(`applied ${appliedReport.objects} of the plan's ${report.objects} objects`);
  const planRss = planned.maxRssMb ?? report.maxRssKb / 1024;
  const applyRss = applied.maxRssMb ?? appliedReport.maxRssKb / 1024;
  console.log(
    `\n${report.objects} objects (${PREVIEWS} preview namespaces, one saved plan; peak RSS by ${TIME ? "GNU time -v" : "the process itself"}):`,
  );
  console.log(`  plan (a dry run of each)   ${fmt(planned.ms).padStart(8)}   peak RSS ${mb(planRss)}`);
  console.log(`  apply (executor, waits)    ${fmt(applied.ms).padStart(8)}   peak RSS ${mb(applyRss)}`);
  console.log(
    `  plinth destroy previews    ${fmt(destroyed.ms).padStart(8)}   peak RSS ${mb(destroyed.maxRssMb)}`,
  );
  const peak = Math.max(planRss ?? 0, applyRss ?? 0, destroyed.maxRssMb ?? 0);
  targets.push(`1,000 objects under 300 MB peak: ${peak > 0 && peak < 300 ? "met" : "MISSED"} (${mb(peak)})`);
}

async function main() {
  if (process.env.BENCH_BUILD !== "0") must(sh("npm", ["run", "build"], { cwd: ROOT }), "npm run build");
  const started = !servicesUp();
  if (started)
    must(sh("npm", ["run", "testbed", "--", "up", ...SERVICES], { cwd: ROOT }), "npm run testbed -- up");
  Object.assign(ENV, vaultVariables());
  const work = mkdtempSync(join(tmpdir(), "plinth-bench-engine-"));
  const targets = [];
  try {
    ensureStandInCrds();
    console.log("plinth engine benchmarks on the test bed (kube-apiserver 1.36, kwok, helm-controller)\n");
    // BENCH_STAGING=0 / BENCH_PREVIEWS=0 skip a part (the other's figures alone).
    if (process.env.BENCH_STAGING !== "0") await staging(work, targets);
    if (PREVIEWS > 0) await previews(work, targets);
  } finally {
    rmSync(work, { recursive: true, force: true });
    if (started) sh("npm", ["run", "testbed", "--", "down", ...SERVICES], { cwd: ROOT });
  }
  console.log(
    `\ntargets (load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}):\n${targets.map((t) => `  ${t}`).join("\n")}`,
  );
}

await main();
