import { existsSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { compileConfig } from "./compile.js";
import { readCompiled, saveCompiled } from "./compile-cache.js";
import { evaluateCompiled } from "./evaluate.js";
import { findConfigFile } from "./find.js";
import { makePrivateDir, PLINTH_DIR } from "./plinth-dir.js";
import type { Config } from "./schema.js";
import { cacheInput, readValidated, saveValidated } from "./validated-cache.js";

export interface LoadedConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Path as shown to the user (relative to the working directory). */
  displayFile: string;
  config: Config;
}

/** Loads, evaluates and validates a config file; every problem becomes a diagnostic naming the file. */
export async function loadConfig(options: {
  cwd: string;
  configPath?: string;
  /** How long evaluating the config may take (default 30 s). */
  timeLimitMs?: number;
}): Promise<LoadedConfig> {
  const file = findConfigFile(options.cwd, options.configPath);
  const displayFile = relative(options.cwd, file) || basename(file);
  ignorePlinthDir(dirname(file));
  const raw = await evaluateConfigFile(file, displayFile, options.timeLimitMs);
  // The same config, checked by the same plinth before, is valid as it was (zod's schemas and
  // their check are a fifth of an offline command): see validated-cache.ts.
  const input = cacheInput(raw);
  const known = input === undefined ? undefined : readValidated(file, input);
  if (known) return { file, displayFile, config: known };
  const { validateConfig } = await import("./validate-config.js");
  const config = validateConfig(raw, displayFile);
  if (input !== undefined) saveValidated(file, input, config);
  return { file, displayFile, config };
}

/**
 * Every command loads the config before it writes anything under `.plinth/` (kubeconfig, known
 * hosts, unseal file, state), so making the folder here, with its `.gitignore`, covers them all,
 * and a folder an older plinth made gets its `.gitignore` too. A read-only checkout goes without.
 */
function ignorePlinthDir(configDir: string): void {
  try {
    makePrivateDir(join(configDir, PLINTH_DIR));
  } catch {
    // nothing will be written there either
  }
}

/**
 * TypeScript configs are bundled with esbuild (as Vite does), or taken from the compiled-config
 * cache when nothing that went into them changed, then evaluated under a time limit.
 */
async function evaluateConfigFile(file: string, displayFile: string, timeLimitMs?: number): Promise<unknown> {
  // Compiled, this module sits beside dist/index.js (bundled, dist/bundle/ is beside it too); run
  // from source (tests), beside src/index.ts.
  const compiled = fileURLToPath(new URL("../index.js", import.meta.url));
  const ownEntry = existsSync(compiled) ? compiled : compiled.replace(/\.js$/, ".ts");
  let code = await readCompiled(file, ownEntry);
  if (code === undefined) {
    const fresh = await compileConfig(file, displayFile, ownEntry);
    await saveCompiled(file, ownEntry, fresh);
    code = fresh.code;
  }
  return evaluateCompiled(code, { file, displayFile, ownEntry, ...(timeLimitMs ? { timeLimitMs } : {}) });
}
