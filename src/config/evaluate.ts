import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { isMainThread, Worker } from "node:worker_threads";
import { error, UserError } from "../diagnostics/diagnostic.js";

/** How long a config may take to evaluate before plinth gives up on it. */
export const DEFAULT_CONFIG_TIME_LIMIT_MS = 30_000;

/**
 * Evaluates a compiled config: written beside the config file (so its own imports and
 * `import.meta.url` resolve from its folder), imported, its default export awaited (or called and
 * awaited), and removed again whatever happens.
 *
 * A config that never settles is cut off by a timer. One that loops synchronously blocks that
 * timer too, so a watchdog thread (started alongside, costing the main thread next to nothing)
 * interrupts the main thread through the inspector's `Runtime.terminateExecution` once the limit
 * and a grace period have passed; the timer then fires. Evaluating in a worker instead would be
 * simpler to interrupt but would add a worker's start-up to every run.
 */
export async function evaluateCompiled(
  code: string,
  file: string,
  displayFile: string,
  timeLimitMs = DEFAULT_CONFIG_TIME_LIMIT_MS,
): Promise<unknown> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.mjs`);
  await writeFile(temp, code, { mode: 0o600, flag: "wx" });
  const watchdog = startWatchdog(timeLimitMs);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      watchdog.stop();
      reject(
        new UserError(
          error(`did not finish evaluating within ${formatSeconds(timeLimitMs)}`, {
            file: displayFile,
            fix: "look for a loop or a promise that never settles in the config's code, or raise the limit with PLINTH_CONFIG_TIMEOUT=90s",
          }),
        ),
      );
    }, timeLimitMs);
  });
  try {
    return await Promise.race([importDefault(temp, displayFile), timedOut]);
  } finally {
    clearTimeout(timer);
    watchdog.stop();
    await rm(temp, { force: true });
  }
}

async function importDefault(temp: string, displayFile: string): Promise<unknown> {
  try {
    const mod = (await import(pathToFileURL(temp).href)) as { default?: unknown };
    let exported = mod.default;
    if (exported === undefined) {
      throw new UserError(
        error("has no default export", { file: displayFile, fix: "export default defineConfig({ ... })" }),
      );
    }
    if (typeof exported === "function") exported = await (exported as () => unknown)();
    return await exported;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      error(`failed while evaluating: ${describeThrown(e)}`, {
        file: displayFile,
        fix: "fix the error in the config's code",
      }),
    );
  }
}

/** What a config threw, in words: `throw "text"` and `throw null` are not Errors. */
export function describeThrown(e: unknown): string {
  if (e && typeof e === "object" && typeof (e as Error).message === "string") {
    return (e as Error).message || (e as Error).name || "an error without a message";
  }
  if (typeof e === "string") return `threw ${JSON.stringify(e)}`;
  if (e === null || e === undefined) return `threw ${e}, not an Error`;
  try {
    return `threw ${JSON.stringify(e) ?? String(e)}`;
  } catch {
    return `threw a ${typeof e}`;
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Grace before the watchdog acts: the main thread's own timer goes first whenever it can run. */
const graceOf = (limitMs: number): number => Math.max(1_000, limitMs / 10);

/**
 * `state[0]`: 0 while evaluating; the main thread sets 1 when done (or timed out), the watchdog
 * 2 when it interrupts. The compare-and-swap on both sides means the watchdog never interrupts a
 * main thread that has already moved on.
 */
const WATCHDOG = `
const { workerData } = require("node:worker_threads");
const { state, waitMs } = workerData;
Atomics.wait(state, 0, 0, waitMs);
if (Atomics.compareExchange(state, 0, 0, 2) === 0) {
  try {
    const session = new (require("node:inspector").Session)();
    session.connectToMainThread();
    session.post("Runtime.terminateExecution");
  } catch {
    // No inspector in this Node build: nothing can interrupt the loop but ending the process.
    require("node:fs").writeSync(2, workerData.message);
    process.kill(process.pid, "SIGKILL");
  }
}
`;

function startWatchdog(limitMs: number): { stop(): void } {
  // Only the process's main thread can be interrupted this way (plinth embedded in a worker keeps
  // the timer alone).
  if (!isMainThread) return { stop() {} };
  const state = new Int32Array(new SharedArrayBuffer(4));
  try {
    const worker = new Worker(WATCHDOG, {
      eval: true,
      workerData: {
        state,
        waitMs: limitMs + graceOf(limitMs),
        message: "plinth: the config's code kept running past its time limit; stopped.\n",
      },
    });
    worker.unref();
  } catch {
    return { stop() {} }; // no thread to spare: the timer alone still catches a config that never settles
  }
  return {
    stop() {
      if (Atomics.compareExchange(state, 0, 0, 1) === 0) Atomics.notify(state, 0);
    },
  };
}
