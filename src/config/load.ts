import { existsSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type * as z from "zod";
import { type Diagnostic, error, UserError } from "../diagnostics/diagnostic.js";
import { compileConfig } from "./compile.js";
import { readCompiled, saveCompiled } from "./compile-cache.js";
import { evaluateCompiled } from "./evaluate.js";
import { findConfigFile } from "./find.js";
import { COMPONENT_IDS } from "./ids.js";
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
  if (secrets.length > 0) {
    throw new UserError(
      secrets.map((s) =>
        error(
          s.kind === "placeholder"
            ? "is a placeholder secret; plinth generates every credential and keeps it in a secret store"
            : "is a literal secret; secrets never live in config",
          {
            file: displayFile,
            path: s.path,
            fix: "delete it (plinth generates it), or reference one with secret.env('NAME') or secret.file('path')",
          },
        ),
      ),
    );
  }
  const parsed = configSchema.safeParse(raw);
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

function issueToDiagnostic(issue: z.core.$ZodIssue, file: string): Diagnostic {
  const path = issue.path.map(String).join(".");
  switch (issue.code) {
    case "unrecognized_keys": {
      const what = path.endsWith("components") ? "component" : "field";
      return error(`unknown ${what}${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`, {
        file,
        path,
        fix:
          what === "component"
            ? `component ids are ${COMPONENT_IDS.join(", ")}`
            : "remove it or check its spelling against the configuration reference in the README",
      });
    }
    case "invalid_value":
      return error(`is ${JSON.stringify(issueInput(issue))}`, {
        file,
        path,
        fix: `use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
      });
    case "invalid_key":
      return error(
        `key ${JSON.stringify(path.split(".").pop())} is not allowed: ${issue.issues[0]?.message ?? ""}`,
        {
          file,
          path,
          fix: "use one of the names listed in the configuration reference",
        },
      );
    case "invalid_type":
      if (issueInput(issue) === undefined) {
        return error(`is required (${issue.expected})`, { file, path, fix: "add it" });
      }
      return error(`must be ${issue.expected}`, { file, path, fix: `write a ${issue.expected}` });
    case "invalid_union":
      return error("does not match any allowed form", {
        file,
        path,
        fix: "see the configuration reference for the allowed forms",
      });
    default:
      return error(issue.message, { file, path });
  }
}

function issueInput(issue: z.core.$ZodIssue): unknown {
  return (issue as { input?: unknown }).input;
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
