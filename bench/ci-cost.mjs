#!/usr/bin/env node
// What the generated `plinth-ci.yml` spends in plinth itself, measured on the test bed's real API
// server (kube-apiserver, kwok, helm-controller): the example's `ci` environment (Traefik's
// HelmChartConfig, CloudNativePG's operator chart and its PostgreSQL Cluster, the Redis operator
// chart and its Redis; 11 objects) under a unique name, as the workflow's step runs it:
// `plinth apply <env> --yes` from an empty cluster with every readiness wait, then the same apply
// again (nothing to change), then `plinth destroy` (the workflow removes k3s instead; timed for the
// record). CloudNativePG's operator does not run on the test bed: a stand-in reports the Cluster
// ready as soon as it exists, so the figure is plinth's own work and its API round trips, not
// image pulls or PostgreSQL's start (README "Pull requests", "What the ci workflow costs").
// It converges cluster-wide objects (kube-system HelmCharts): run it when no engine test runs.
// Usage: node bench/ci-cost.mjs   (BENCH_CI_RUNS=3 cycles by default, BENCH_BUILD=0 keeps the build)
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
// BENCH_BIN: a copy of bin/ and dist/ elsewhere, so another build in this checkout cannot swap the
// bundle under a run.
const BIN = process.env.BENCH_BIN ?? join(ROOT, "bin", "plinth");
const KUBECONFIG = join(ROOT, ".testbed", "kube", "kubeconfig");
const RUNS = Number(process.env.BENCH_CI_RUNS ?? 3);
const ENV_NAME = `cim${randomBytes(3).toString("hex")}`;
const DATA = `data-${ENV_NAME}`;
const ENV = {
  ...process.env,
  KUBECONFIG,
  PLINTH_HOLDER: "bench-ci@local",
  CLOUDFLARE_API_TOKEN: "bench-cloudflare-token-not-real",
  SSO_GITHUB_CLIENT_SECRET: "bench-sso-secret-not-real",
  VAULT_ADDR: "",
  VAULT_TOKEN: "",
};

function sh(cmd, args, o = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8", env: ENV, maxBuffer: 64 << 20, ...o });
  return {
    code: r.status,
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? "",
    ms: Number(process.hrtime.bigint() - start) / 1e6,
  };
}

/** As sh, without blocking the event loop (the stand-in operator runs beside the apply). */
function shAsync(cmd, args, o = {}) {
  const start = process.hrtime.bigint();
  return new Promise((done) => {
    const child = spawn(cmd, args, { env: ENV, ...o });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) =>
      done({ code, stdout, stderr, ms: Number(process.hrtime.bigint() - start) / 1e6 }),
    );
  });
}

function must(r, what) {
  if (r.code !== 0)
    throw new Error(`${what} failed (${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  return r;
}

/** The same stand-in CRDs as the engine tests (test/engine/bed.ts). */
function ensureStandInCrds() {
  const file = join(ROOT, "test", "stand-in-crds.json");
  must(
    sh("kubectl", ["apply", "--server-side", "--field-manager=test-stand-in", "-f", file]),
    "stand-in CRDs",
  );
  const names = JSON.parse(readFileSync(file, "utf8")).items.map((crd) => `crd/${crd.metadata.name}`);
  must(sh("kubectl", ["wait", "--for=condition=Established", "--timeout=60s", ...names]), "CRDs Established");
}

/** CloudNativePG's operator, played: the Cluster reported ready as soon as it exists. */
function standInCnpg() {
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await new Promise((done) => {
        const c = spawn(
          "kubectl",
          ["get", "cluster.postgresql.cnpg.io", "postgres", "-n", DATA, "-o", "name"],
          { env: ENV },
        );
        c.on("close", (code) => done(code));
      });
      if (r === 0) break;
      await new Promise((t) => setTimeout(t, 200));
    }
    if (!running) return;
    const patched = await shAsync("kubectl", [
      "patch",
      "cluster.postgresql.cnpg.io",
      "postgres",
      "-n",
      DATA,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({
        status: {
          phase: "Cluster in healthy state",
          conditions: [
            {
              type: "Ready",
              status: "True",
              reason: "Ready",
              message: "stand-in",
              lastTransitionTime: new Date().toISOString(),
            },
          ],
        },
      }),
    ]);
    if (patched.code !== 0) console.error(`stand-in: the Cluster's status was not set: ${patched.stderr}`);
  })();
  return async () => {
    running = false;
    await loop;
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;

if (process.env.BENCH_BUILD !== "0") must(sh("npm", ["run", "build"], { cwd: ROOT }), "npm run build");
ensureStandInCrds();
const dir = mkdtempSync(join(tmpdir(), "plinth-ci-cost-"));
const example = readFileSync(join(ROOT, "examples", "blueprint", "plinth.config.ts"), "utf8");
// The example's defaults, its ci environment under a unique name on the test bed's cluster, and
// a peer (never applied) so every namespace carries the environment's name.
writeFileSync(
  join(dir, "plinth.config.ts"),
  example.replace(
    / {2}clusters: \{[\s\S]*?\n {2}\},\n {2}environments: \{[\s\S]*?\n {2}\},\n/,
    `  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(KUBECONFIG)} } },
  environments: {
    ${ENV_NAME}: { kind: "ci", cluster: "bed" },
    "${ENV_NAME}-peer": { kind: "ci", cluster: "bed" },
  },
`,
  ),
);
// BENCH_CI_WAIT=none: `--no-wait`; else the readiness waits the test bed can answer (helm-controller's
// install Jobs, the Cluster, the Redis) without the health checks of the charts' Deployments,
// which kwok never gets (no Helm release is ever written under it).
const WAIT = process.env.BENCH_CI_WAIT === "none" ? ["--no-wait"] : ["--no-health-checks", "--timeout", "3m"];
const figures = { create: [], again: [], destroy: [] };
try {
  for (let i = 0; i < RUNS; i++) {
    const stop = standInCnpg();
    const create = must(
      await shAsync(BIN, ["apply", ENV_NAME, "--yes", ...WAIT], { cwd: dir }),
      "apply (create)",
    );
    await stop();
    figures.create.push(create.ms);
    const again = must(
      await shAsync(BIN, ["apply", ENV_NAME, "--yes", ...WAIT], { cwd: dir }),
      "apply (again)",
    );
    figures.again.push(again.ms);
    const destroy = must(sh(BIN, ["destroy", ENV_NAME, "--yes", "--delete-data"], { cwd: dir }), "destroy");
    figures.destroy.push(destroy.ms);
    if (i === 0)
      console.log(
        create.stdout
          .split("\n")
          .filter((l) => /Apply complete|applied|created/i.test(l))
          .slice(-3)
          .join("\n"),
      );
  }
} finally {
  sh(BIN, ["destroy", ENV_NAME, "--yes", "--delete-data"], { cwd: dir });
}
console.log(
  `environment ${ENV_NAME} (the example's ci), ${RUNS} runs, load average ${loadavg()[0].toFixed(1)}, Node ${process.version}`,
);
for (const [what, xs] of Object.entries(figures))
  console.log(`${what.padEnd(8)} median ${s(median(xs))}  (runs: ${xs.map(s).join(", ")})`);
