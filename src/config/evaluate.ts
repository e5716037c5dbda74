import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Script, constants as vmConstants } from "node:vm";
import { isMainThread, Worker } from "node:worker_threads";
import { error, UserError } from "../diagnostics/diagnostic.js";
import { importUrl } from "../util/import-url.js";
import { COMMONJS_BANNER } from "./compile.js";

/** How long a config may take to evaluate before plinth gives up on it. */
export const DEFAULT_CONFIG_TIME_LIMIT_MS = 30_000;

export interface EvaluateOptions {
  file: string;
  displayFile: string;
  /** This plinth's package entry: what the config's `import ... from "plinth"` gets. */
  ownEntry: string;
  timeLimitMs?: number;
}

/**
 * Evaluates a compiled config: its default export, awaited (or called and awaited).
 *
 * CommonJS (every config without top-level await) runs as a script under V8's own time limit
 * (`vm` timeout: a native timer, nothing to start up), the call of an exported function included,
 * so a synchronous loop there is interrupted at the limit. Only when that yields a promise does
 * the rest run under the watchdog below: a config that is a plain object, the usual case, never
 * starts a thread.
 */
export async function evaluateCompiled(code: string, o: EvaluateOptions): Promise<unknown> {
  const limit = o.timeLimitMs ?? DEFAULT_CONFIG_TIME_LIMIT_MS;
  if (!code.startsWith(COMMONJS_BANNER)) return evaluateModule(code, o.file, o.displayFile, limit);
  const started = Date.now();
  // Boxed: an async function returning the config's promise would adopt it, and await it unguarded.
  const { value } = await runScript(code, o, limit);
  if (!isThenable(value)) return value;
  return withinTimeLimit(
    () => settle(value, o.displayFile),
    Math.max(1, limit - (Date.now() - started)),
    limit,
    o.displayFile,
  );
}

const ARGUMENTS = Symbol.for("plinth.config.arguments");

/** The module's code and the default export's call, in one script run under the time limit. */
async function runScript(code: string, o: EvaluateOptions, limitMs: number): Promise<{ value: unknown }> {
  const plinth = (await importUrl(pathToFileURL(o.ownEntry).href)) as object;
  const fromConfig = createRequire(o.file);
  const require = Object.assign((id: string): unknown => (id === "plinth" ? plinth : fromConfig(id)), {
    resolve: fromConfig.resolve,
    cache: fromConfig.cache,
  });
  const module = { exports: {} as Record<string, unknown> };
  const meta = { url: pathToFileURL(o.file).href, filename: o.file, dirname: dirname(o.file) };
  const args = [module.exports, require, module, o.file, dirname(o.file), meta];
  const source = `(() => { const a = globalThis[Symbol.for("plinth.config.arguments")];
(function (exports, require, module, __filename, __dirname, __plinth_import_meta) {${code}
}).apply(undefined, a);
const d = a[2].exports.default;
return d === undefined ? { missing: true } : { value: typeof d === "function" ? d() : d };
})()`;
  (globalThis as Record<symbol, unknown>)[ARGUMENTS] = args;
  let result: { missing?: true; value?: unknown };
  try {
    const script = new Script(source, {
      filename: o.file,
      importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    result = script.runInThisContext({ timeout: limitMs });
  } catch (e) {
    // A config may throw anything, null included.
    if ((e as { code?: string } | null)?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT")
      throw timeLimitError(limitMs, o.displayFile);
    throw evaluationError(e, o.displayFile);
  } finally {
    delete (globalThis as Record<symbol, unknown>)[ARGUMENTS];
  }
  if (result.missing) throw noDefaultExport(o.displayFile);
  return { value: result.value };
}

/**
 * An ES module (a config with top-level await): written beside the config file (so its own
 * imports and `import.meta.url` resolve from its folder), imported under the watchdog, its default
 * export awaited (or called and awaited), and removed again whatever happens.
 */
async function evaluateModule(
  code: string,
  file: string,
  displayFile: string,
  timeLimitMs: number,
): Promise<unknown> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.mjs`);
  await writeFile(temp, code, { mode: 0o600, flag: "wx" });
  try {
    return await withinTimeLimit(
      () => importDefault(temp, displayFile),
      timeLimitMs,
      timeLimitMs,
      displayFile,
    );
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Runs `work` with a time limit. A config that never settles is cut off by a timer. One that
 * loops synchronously blocks that timer too, so a watchdog thread (started alongside, costing the
 * main thread next to nothing) interrupts the main thread through the inspector's
 * `Runtime.terminateExecution` once the limit and a grace period have passed; the timer then
 * fires. Evaluating in a worker instead would be simpler to interrupt but would add a worker's
 * start-up to every run. `limitMs` is what is left of `statedMs`, the limit the message names.
 */
async function withinTimeLimit<T>(
  work: () => Promise<T>,
  limitMs: number,
  statedMs: number,
  displayFile: string,
): Promise<T> {
  const watchdog = startWatchdog(limitMs);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      watchdog.stop();
      reject(timeLimitError(statedMs, displayFile));
    }, limitMs);
  });
  try {
    return await Promise.race([work(), timedOut]);
  } finally {
    clearTimeout(timer);
    watchdog.stop();
  }
}

function timeLimitError(limitMs: number, displayFile: string): UserError {
  return new UserError(
    error(`did not finish evaluating within ${formatSeconds(limitMs)}`, {
      file: displayFile,
      fix: "look for a loop or a promise that never settles in the config's code, or raise the limit with PLINTH_CONFIG_TIMEOUT=90s",
    }),
  );
}

function noDefaultExport(displayFile: string): UserError {
  return new UserError(
    error("has no default export", { file: displayFile, fix: "export default defineConfig({ ... })" }),
  );
}

/** What the config threw, worded for the user (already worded: kept). */
function evaluationError(e: unknown, displayFile: string): UserError {
  if (e instanceof UserError) return e;
  return new UserError(
    error(`failed while evaluating: ${describeThrown(e)}`, {
      file: displayFile,
      fix: "fix the error in the config's code",
    }),
  );
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === "object" || typeof v === "function") &&
    v !== null &&
    typeof (v as PromiseLike<unknown>).then === "function"
  );
}

async function settle(value: PromiseLike<unknown>, displayFile: string): Promise<unknown> {
  try {
    return await value;
  } catch (e) {
    throw evaluationError(e, displayFile);
  }
}

async function importDefault(temp: string, displayFile: string): Promise<unknown> {
  try {
    const mod = (await importUrl(pathToFileURL(temp).href)) as { default?: unknown };
    let exported = mod.default;
    if (exported === undefined) throw noDefaultExport(displayFile);
    if (typeof exported === "function") exported = await (exported as () => unknown)();
    return await exported;
  } catch (e) {
    throw evaluationError(e, displayFile);
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
