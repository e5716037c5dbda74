#!/usr/bin/env node
// Benchmarks of plinth's offline commands, each beside a peer measured in the same run, then
// of its live engine on the test bed (bench/engine.mjs).
// Cold start means a fresh process every run (nothing warm but the OS file cache), as a user sees it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const config = "examples/blueprint/plinth.config.ts";

// CPU time (user + system, GNU time's 10 ms ticks) beside wall time: on a machine others load,
// wall time mostly measures the wait for a core, CPU time what the command itself costs.
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

function time(cmd, args) {
  const runs = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const r = once(cmd, args);
    if (i >= 2) runs.push(r); // two warm-up runs fill the file cache (and write plinth's code cache)
  }
  return summary(runs);
}

/**
 * `a` and `b` run by turns (a, b, a, b ...), so both see the same load, and `a - b` is taken pair
 * by pair: on a machine whose load drifts, the difference of two medians measured one after the
 * other says more about the drift than about the commands.
 */
function paired(a, b) {
  const as = [];
  const bs = [];
  const diffs = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const [ta, tb] = [once(...a), once(...b)];
    if (i < 2) continue;
    as.push(ta);
    bs.push(tb);
    diffs.push(ta.ms - tb.ms);
  }
  return { a: summary(as), b: summary(bs), diff: median(diffs) };
}

function once(cmd, args) {
  const start = process.hrtime.bigint();
  const r = TIME
    ? spawnSync(TIME, ["-f", "plinth-bench-cpu %U %S", cmd, ...args], { encoding: "utf8" })
    : spawnSync(cmd, args, { encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  const used = /plinth-bench-cpu (\S+) (\S+)/.exec(r.stderr);
  return { ms, cpu: used ? (Number(used[1]) + Number(used[2])) * 1000 : undefined };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function summary(runs) {
  const samples = runs.map((r) => r.ms).sort((a, b) => a - b);
  const cpu = runs.map((r) => r.cpu).filter((c) => c !== undefined);
  return {
    median: median(samples),
    p90: samples[Math.floor(samples.length * 0.9)],
    cpu: cpu.length ? median(cpu) : undefined,
  };
}

function row(name, t, peer) {
  const ratio = peer ? ` ${(t.median / peer.median).toFixed(1)}x the peer` : "";
  const cpu = t.cpu === undefined ? "" : `  cpu ${t.cpu.toFixed(0).padStart(4)} ms`;
  console.log(
    `${name.padEnd(44)} median ${t.median.toFixed(0).padStart(5)} ms  p90 ${t.p90.toFixed(0).padStart(5)} ms${cpu}${ratio}`,
  );
}

if (process.env.BENCH_BUILD !== "0") {
  const built = spawnSync("npm", ["run", "build"], { stdio: "ignore" });
  if (built.status !== 0) throw new Error("npm run build failed");
}

console.log(
  `plinth offline benchmarks, ${RUNS} runs each (median, p90); load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}\n`,
);
// The floor: Node.js starting and exiting, nothing loaded, run by turns with the plan it is the
// target's yardstick for.
const pair = paired(
  ["bin/plinth", ["plan", "staging", "--offline", "--config", config]],
  ["node", ["-e", ""]],
);
const bare = pair.b;
row("bare: node -e ''", bare);
// Peer: a Node.js process that loads plinth's own dependencies (zod, yaml, esbuild) and exits:
// the floor any Node.js tool with this stack pays before doing work.
const peer = time("node", [
  "-e",
  "await import('zod'); await import('yaml'); await import('esbuild')",
  "--input-type=module",
]);
row("peer: node + zod/yaml/esbuild import", peer);
const plan = pair.a;
row("plinth plan staging --offline", plan, peer);
const planJson = time("bin/plinth", ["plan", "prod", "--offline", "--json", "--config", config]);
row("plinth plan prod --offline --json", planJson, peer);
const out = mkdtempSync(join(tmpdir(), "plinth-bench-"));
const render = time("bin/plinth", ["render", "staging", "--out", join(out, "r"), "--config", config]);
row("plinth render staging", render, peer);
rmSync(out, { recursive: true, force: true });
const validate = time("bin/plinth", ["validate", "--config", config]);
row("plinth validate (all five environments)", validate, peer);

// Target (issue 12): a cold offline plan within 60 ms of a bare Node.js start, pair by pair.
console.log(
  `\ntarget: plan staging --offline <= bare node + 60 ms: ${pair.diff <= 60 ? "PASS" : "MISS"} (median of the pairs' differences ${pair.diff.toFixed(0)} ms; medians ${plan.median.toFixed(0)} ms and ${bare.median.toFixed(0)} ms${plan.cpu === undefined ? "" : `; CPU ${(plan.cpu - bare.cpu).toFixed(0)} ms above a bare start's`})`,
);

// The live engine on the test bed (started if it is down), beside kubectl: bench/engine.mjs.
// BENCH_ENGINE=0 keeps to the offline figures above.
if (process.env.BENCH_ENGINE !== "0") {
  console.log("");
  const engine = spawnSync("node", [join(import.meta.dirname, "engine.mjs")], { stdio: "inherit" });
  if (engine.status !== 0) process.exitCode = engine.status ?? 1;
}
