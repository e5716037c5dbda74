import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as z from "zod";
import { type Diagnostic, error, UserError } from "../diagnostics/diagnostic.js";
import { COMPONENT_IDS } from "../model/ids.js";
import { type Config, configSchema } from "./schema.js";
import { findLiteralSecrets } from "./secret-ref.js";

export const CONFIG_FILES = [
  "plinth.config.ts",
  "plinth.config.mts",
  "plinth.config.js",
  "plinth.config.mjs",
];

export interface LoadedConfig {
  /** Absolute path of the config file. */
  file: string;
  /** Path as shown to the user (relative to the working directory). */
  displayFile: string;
  config: Config;
}

export function findConfigFile(cwd: string, explicit?: string): string {
  if (explicit) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) {
      throw new UserError(
        error(`config file ${explicit} does not exist`, { fix: "check the --config path" }),
      );
    }
    return file;
  }
  for (const name of CONFIG_FILES) {
    const file = join(cwd, name);
    if (existsSync(file)) return file;
  }
  throw new UserError(
    error(`no plinth config found in ${cwd}`, {
      fix: `create ${CONFIG_FILES[0]} (see examples/blueprint) or pass --config PATH`,
    }),
  );
}

/** Loads, evaluates and validates a config file; every problem becomes a diagnostic naming the file. */
export async function loadConfig(options: { cwd: string; configPath?: string }): Promise<LoadedConfig> {
  const file = findConfigFile(options.cwd, options.configPath);
  const displayFile = relative(options.cwd, file) || basename(file);
  const raw = await evaluateConfigFile(file, displayFile);
  return { file, displayFile, config: validateConfig(raw, displayFile) };
}

export function validateConfig(raw: unknown, displayFile: string): Config {
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
 * A compiled config, kept under `.plinth/cache` beside the config file and used again while every
 * file that went into it is unchanged: bundling starts esbuild's service process, a large share of
 * a no-op `plinth plan`. Only the compilation is cached; the config is evaluated on every run.
 */
interface CompiledConfig {
  /** The plinth the config was compiled against (`import "plinth"` points at it). */
  plinth: string;
  /** sha256 of each bundled file, by absolute path. */
  inputs: Record<string, string>;
  code: string;
}

const CACHE_VERSION = 1;

function cacheFileOf(file: string): string {
  return join(dirname(file), ".plinth", "cache", `${basename(file)}.v${CACHE_VERSION}.json`);
}

async function sha256Of(path: string): Promise<string | undefined> {
  try {
    return createHash("sha256")
      .update(await readFile(path))
      .digest("hex");
  } catch {
    return undefined;
  }
}

async function cachedCompile(file: string, plinth: string): Promise<string | undefined> {
  let cached: CompiledConfig;
  try {
    cached = JSON.parse(await readFile(cacheFileOf(file), "utf8")) as CompiledConfig;
  } catch {
    return undefined;
  }
  if (cached.plinth !== plinth || typeof cached.code !== "string" || !cached.inputs?.[file]) return undefined;
  const hashes = await Promise.all(Object.keys(cached.inputs).map((path) => sha256Of(path)));
  return Object.values(cached.inputs).every((hash, i) => hash === hashes[i]) ? cached.code : undefined;
}

async function saveCompile(file: string, entry: CompiledConfig): Promise<void> {
  const target = cacheFileOf(file);
  const temp = `${target}.${randomBytes(6).toString("hex")}`;
  try {
    await mkdir(dirname(target), { recursive: true });
    await writeFile(temp, JSON.stringify(entry));
    await rename(temp, target);
  } catch {
    // A read-only checkout runs without the cache.
    await rm(temp, { force: true });
  }
}

async function compileConfig(file: string, displayFile: string, ownEntry: string): Promise<string> {
  const { build } = await import("esbuild");
  let code: string;
  let inputs: string[];
  try {
    const result = await build({
      entryPoints: [file],
      absWorkingDir: dirname(file),
      metafile: true,
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "silent",
      packages: "external",
      plugins: [
        {
          // `import { defineConfig } from "plinth"` resolves to this very installation, wherever the
          // config lives, and plinth's own dependencies resolve from plinth's folder.
          name: "plinth-self",
          setup(b) {
            b.onResolve({ filter: /^plinth$/ }, () => ({
              path: pathToFileURL(ownEntry).href,
              external: true,
            }));
          },
        },
      ],
    });
    code = result.outputFiles[0]?.text ?? "";
    inputs = Object.keys(result.metafile.inputs).map((p) => resolve(dirname(file), p));
  } catch (e) {
    const errors = (
      e as {
        errors?: {
          text: string;
          location?: { file: string; line: number; column: number; lineText: string } | null;
        }[];
      }
    ).errors;
    if (!errors) throw e;
    throw new UserError(
      errors.map((m) => {
        const loc = m.location;
        return error(m.text, {
          file: loc ? `${displayFile}:${loc.line}:${loc.column + 1}` : displayFile,
          fix: loc ? `fix the TypeScript at: ${loc.lineText.trim()}` : "fix the TypeScript syntax",
        });
      }),
    );
  }
  const hashes = await Promise.all(inputs.map((path) => sha256Of(path)));
  if (hashes.every(Boolean)) {
    await saveCompile(file, {
      plinth: ownEntry,
      inputs: Object.fromEntries(inputs.map((path, i) => [path, hashes[i] as string])),
      code,
    });
  }
  return code;
}

/**
 * TypeScript configs are bundled with esbuild (as Vite does), then written next to the config file,
 * so that the config's own imports and `import.meta.url` resolve from its folder, imported and
 * removed.
 */
async function evaluateConfigFile(file: string, displayFile: string): Promise<unknown> {
  // Compiled, this module sits beside dist/index.js (bundled, dist/bundle/ is beside it too); run
  // from source (tests), beside src/index.ts.
  const compiled = fileURLToPath(new URL("../index.js", import.meta.url));
  const ownEntry = existsSync(compiled) ? compiled : compiled.replace(/\.js$/, ".ts");
  const code = (await cachedCompile(file, ownEntry)) ?? (await compileConfig(file, displayFile, ownEntry));
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.mjs`);
  await writeFile(temp, code);
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
      error(`failed while evaluating: ${(e as Error).message}`, {
        file: displayFile,
        fix: "fix the error in the config's code",
      }),
    );
  } finally {
    await rm(temp, { force: true });
  }
}
