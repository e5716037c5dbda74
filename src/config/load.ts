import { existsSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { error, UserError } from "../diagnostics/diagnostic.js";
import { compileConfig } from "./compile.js";
import { readCompiled, saveCompiled } from "./compile-cache.js";
import { evaluateCompiled } from "./evaluate.js";
import { findConfigFile } from "./find.js";
import { issueToDiagnostic, literalSecretDiagnostic } from "./messages.js";
import { makePrivateDir, PLINTH_DIR } from "./plinth-dir.js";
import { type Config, configSchema } from "./schema.js";
import { findLiteralSecrets } from "./secret-ref.js";

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
  return { file, displayFile, config: validateConfig(raw, displayFile) };
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

export function validateConfig(raw: unknown, displayFile: string): Config {
  const cycle = findCycle(raw);
  if (cycle) {
    throw new UserError(
      error(`refers back to ${cycle.target || "the config itself"}, so the config never ends`, {
        file: displayFile,
        path: cycle.path,
        fix: "make it a copy ({ ...value }) or remove the reference",
      }),
    );
  }
  const secrets = findLiteralSecrets(raw);
  if (secrets.length > 0) throw new UserError(secrets.map((s) => literalSecretDiagnostic(s, displayFile)));
  // The input in each issue lets a message say what was written (`is the string "8"`).
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new UserError(parsed.error.issues.map((i) => issueToDiagnostic(i, displayFile)));
  return parsed.data;
}

/**
 * The first place where the config contains one of its own ancestors (`config.self = config`).
 * An object shared by two places is fine; only a loop would send every walk below round forever.
 */
function findCycle(
  value: unknown,
  path: string[] = [],
  ancestors = new Map<object, string>(),
): { path: string; target: string } | undefined {
  if (!value || typeof value !== "object") return undefined;
  const target = ancestors.get(value);
  if (target !== undefined) return { path: path.join("."), target };
  ancestors.set(value, path.join("."));
  for (const [key, child] of Object.entries(value)) {
    const found = findCycle(child, [...path, key], ancestors);
    if (found) return found;
  }
  ancestors.delete(value);
  return undefined;
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
