import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { TestbedContext } from "./service.js";

export { type GoBuildOptions, goBuild } from "./gobuild.js";
export { assertPortFree, describePortOwner, freePort, portFromEnv } from "./ports.js";

/** Repository root, from this file's place (testbed/lib/), for helpers called without a context. */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
export const defaultStateDir = join(repoRoot, ".testbed");

export const logPath = (ctx: Pick<TestbedContext, "stateDir">, name: string): string =>
  join(ctx.stateDir, "logs", `${name}.log`);
export const pidPath = (ctx: Pick<TestbedContext, "stateDir">, name: string): string =>
  join(ctx.stateDir, "run", `${name}.pid`);

export interface DaemonSpec {
  /** Names the log (`logs/<name>.log`) and pid file (`run/<name>.pid`). */
  name: string;
  command: string;
  args: string[];
  /** Added to the parent's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Run as this user (e.g. PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
}

/**
 * Identity of a process: pid plus its start time in clock ticks since boot (field 22 of
 * /proc/PID/stat). A pid alone can be reused by an unrelated process after ours died; the pair
 * cannot, so `stopDaemon` never signals a stranger.
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z" || rest[0] === "X") return undefined;
    return rest[19];
  } catch {
    return undefined;
  }
}

interface PidRecord {
  pid: number;
  start: string;
}

function readPid(ctx: Pick<TestbedContext, "stateDir">, name: string): PidRecord | undefined {
  const file = pidPath(ctx, name);
  if (!existsSync(file)) return undefined;
  const [pidLine, start] = readFileSync(file, "utf8").split("\n");
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || !start) return undefined;
  return { pid, start };
}

/** The recorded pid when that process is still the one we started, else undefined. */
export function daemonPid(ctx: Pick<TestbedContext, "stateDir">, name: string): number | undefined {
  const record = readPid(ctx, name);
  if (!record) return undefined;
  return startTime(record.pid) === record.start ? record.pid : undefined;
}

export function isRunning(ctx: Pick<TestbedContext, "stateDir">, name: string): boolean {
  return daemonPid(ctx, name) !== undefined;
}

/**
 * Starts a process in its own session with stdout/stderr appended to its log, records its pid and
 * returns it. Detached and unreferenced so it outlives `npm run testbed -- up` and the test run.
 */
export async function spawnDaemon(ctx: TestbedContext, spec: DaemonSpec): Promise<number> {
  if (isRunning(ctx, spec.name)) {
    throw new Error(`${spec.name} is already running (pid ${daemonPid(ctx, spec.name)}); stop it first`);
  }
  mkdirSync(join(ctx.stateDir, "logs"), { recursive: true });
  mkdirSync(join(ctx.stateDir, "run"), { recursive: true });
  const log = logPath(ctx, spec.name);
  const fd = openSync(log, "a");
  writeFileSync(fd, `\n--- ${new Date().toISOString()} ${spec.command} ${spec.args.join(" ")}\n`);
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd ?? ctx.root,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ["ignore", fd, fd],
      ...(spec.uid === undefined ? {} : { uid: spec.uid }),
      ...(spec.gid === undefined ? {} : { gid: spec.gid }),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("error", (error: NodeJS.ErrnoException) => {
        const hint = error.code === "ENOENT" ? " (not installed? .ci/run installs it)" : "";
        reject(new Error(`${spec.name}: cannot start ${spec.command}: ${error.message}${hint}`));
      });
      child.once("spawn", () => resolve(child.pid ?? 0));
    });
    child.unref();
    const start = startTime(pid);
    if (start === undefined) {
      throw new Error(`${spec.name} exited at once; last log lines:\n${tailLog(log)}`);
    }
    writeFileSync(pidPath(ctx, spec.name), `${pid}\n${start}\n${spec.command}\n`);
    ctx.log(`${spec.name}: started pid ${pid}, log ${log}`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

export interface StopOptions {
  /** First signal; PostgreSQL wants SIGINT ("fast" shutdown) since SIGTERM waits for clients. */
  signal?: NodeJS.Signals;
  graceMs?: number;
}

/** Stops the process recorded for `name`, only if it is still the one we started. */
export async function stopDaemon(
  ctx: TestbedContext,
  name: string,
  options: StopOptions = {},
): Promise<void> {
  const pid = daemonPid(ctx, name);
  if (pid === undefined) {
    rmSync(pidPath(ctx, name), { force: true });
    return;
  }
  const record = readPid(ctx, name);
  const alive = () => record !== undefined && startTime(pid) === record.start;
  process.kill(pid, options.signal ?? "SIGTERM");
  const deadline = Date.now() + (options.graceMs ?? 10_000);
  while (alive() && Date.now() < deadline) await sleep(100);
  if (alive()) {
    ctx.log(`${name}: pid ${pid} ignored ${options.signal ?? "SIGTERM"}, sending SIGKILL`);
    process.kill(pid, "SIGKILL");
    while (alive()) await sleep(50);
  }
  rmSync(pidPath(ctx, name), { force: true });
  ctx.log(`${name}: stopped pid ${pid}`);
}

/** Last lines of a log file, indented, or a note that there is none. */
export function tailLog(file: string, lines = 25): string {
  if (!existsSync(file)) return `    (no log at ${file})`;
  const text = readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines);
  return `${text.map((line) => `    ${line}`).join("\n")}\n    (full log: ${file})`;
}

export interface WaitOptions {
  timeoutMs: number;
  /** Log shown on failure (`logs/<logName>.log`); also the daemon checked for an early exit. */
  logName?: string;
  /** Where the log lives; defaults to the repository's `.testbed/`. */
  ctx?: Pick<TestbedContext, "stateDir">;
  intervalMs?: number;
}

/**
 * Polls `check` until it returns true. Fails fast when the daemon named `logName` died, and on
 * timeout names what was awaited and prints its log's last lines, so a broken start says why.
 */
export async function waitFor(
  description: string,
  check: () => Promise<boolean>,
  options: WaitOptions,
): Promise<void> {
  const ctx = options.ctx ?? { stateDir: defaultStateDir };
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
    const log = options.logName ? `; last log lines:\n${tailLog(logPath(ctx, options.logName))}` : "";
    if (options.logName && readPid(ctx, options.logName) && !isRunning(ctx, options.logName)) {
      throw new Error(`${description}: the process exited before it was ready${why}${log}`);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${description}: not ready within ${Math.round(options.timeoutMs / 1000)}s${why}${log}`,
      );
    }
    await sleep(options.intervalMs ?? 250);
  }
}

/** True when an HTTP(S) GET answers with one of `statuses` (default: any 2xx). */
export async function httpAnswers(url: string, statuses?: number[], init?: RequestInit): Promise<boolean> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
  await response.body?.cancel();
  return statuses ? statuses.includes(response.status) : response.ok;
}
