import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, extname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Loader, Message } from "esbuild";
import { error, UserError } from "../diagnostics/diagnostic.js";
import { esbuildHides } from "./secret-env.js";

/**
 * The first line of a config compiled to CommonJS, which evaluate.ts runs as a script with a time
 * limit; without it the code is an ES module (a config with top-level await).
 */
export const COMMONJS_BANNER = "// plinth: compiled config, CommonJS";

/** A bundled config and what went into it, for the compiled-config cache's key. */
export interface Compiled {
  /** CommonJS (starting with COMMONJS_BANNER), or an ES module where top-level await needs one. */
  code: string;
  /** sha256 of each bundled file, by absolute path: exactly the bytes esbuild compiled. */
  inputs: Record<string, string>;
  /** Where each relative or absolute import pointed before resolution (a new file may shadow it). */
  imports: string[];
}

const LOADERS: Record<string, Loader> = {
  ".ts": "ts",
  ".mts": "ts",
  ".cts": "ts",
  ".tsx": "tsx",
  ".js": "js",
  ".mjs": "js",
  ".cjs": "js",
  ".jsx": "jsx",
  ".json": "json",
};

/**
 * Bundles the config with esbuild: to CommonJS, which evaluate.ts can run under V8's own time
 * limit (no watchdog thread to start), or, for a config with top-level await, which CommonJS
 * cannot hold, to an ES module. Every file is read here rather than by esbuild, so the hashes the
 * cache is keyed on are of the very bytes compiled (an edit during the build cannot make a stale
 * compile look current).
 */
export async function compileConfig(file: string, displayFile: string, ownEntry: string): Promise<Compiled> {
  try {
    return await bundle(file, displayFile, ownEntry, "cjs");
  } catch (e) {
    const topLevelAwait = e instanceof UserError && /top-level await/i.test(e.message);
    if (!topLevelAwait) throw e;
    return bundle(file, displayFile, ownEntry, "esm");
  }
}

async function bundle(
  file: string,
  displayFile: string,
  ownEntry: string,
  format: "cjs" | "esm",
): Promise<Compiled> {
  const { build } = await import("esbuild");
  const inputs: Record<string, string> = {};
  const imports = new Set<string>();
  const options = {
    entryPoints: [file],
    absWorkingDir: dirname(file),
    bundle: true,
    write: false,
    platform: "node" as const,
    format,
    target: "node22",
    logLevel: "silent" as const,
    packages: "external" as const,
    // CommonJS has no import.meta: evaluate.ts passes the config's own in this variable.
    ...(format === "cjs"
      ? { banner: { js: COMMONJS_BANNER }, define: { "import.meta": "__plinth_import_meta" } }
      : {}),
    plugins: [
      {
        // `import { defineConfig } from "plinth"` resolves to this very installation, wherever the
        // config lives (CommonJS: evaluate.ts's require answers "plinth"), and plinth's own
        // dependencies resolve from plinth's folder.
        name: "plinth-self",
        setup(b: import("esbuild").PluginBuild) {
          b.onResolve({ filter: /^plinth$/ }, () => ({
            path: format === "cjs" ? "plinth" : pathToFileURL(ownEntry).href,
            external: true,
          }));
          b.onResolve({ filter: /^(\.|\/|[A-Za-z]:[\\/])/ }, (args) => {
            if (args.resolveDir)
              imports.add(isAbsolute(args.path) ? args.path : resolve(args.resolveDir, args.path));
            return undefined;
          });
          b.onLoad({ filter: /.*/, namespace: "file" }, async (args) => {
            const loader = LOADERS[extname(args.path).toLowerCase()];
            if (!loader) return undefined;
            const contents = await readFile(args.path);
            inputs[args.path] = createHash("sha256").update(contents).digest("hex");
            return { contents, loader };
          });
        },
      },
    ],
  };
  try {
    const result = await withoutSecretEnv(() => build(options));
    return { code: result.outputFiles?.[0]?.text ?? "", inputs, imports: [...imports] };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (!errors) throw e;
    // esbuild names files relative to the config's folder; the config itself as the user wrote it.
    const shown = (f: string) => (resolve(dirname(file), f) === file ? displayFile : f);
    throw new UserError(
      errors.map((m) => {
        const loc = m.location;
        return error(m.text, {
          file: loc ? `${shown(loc.file)}:${loc.line}:${loc.column + 1}` : displayFile,
          fix: syntaxFix(m),
        });
      }),
    );
  }
}

/**
 * A fix that points somewhere: at the end of the file esbuild's line is empty or an innocent `},`,
 * and the real cause (something left open) lies above it.
 */
function syntaxFix(m: Message): string {
  const loc = m.location;
  if (/end of file/i.test(m.text)) {
    return 'the file ends before the code does: close every {, [, ( and string still open above (a defineConfig({ ... }) config ends with "});")';
  }
  const line = loc?.lineText.trim();
  return line ? `fix the code at: ${line}` : "fix the config's code";
}

/**
 * esbuild's JS API spawns its service process with no `env` option (it inherits process.env, at
 * the first call, synchronously). The secrets leave process.env for exactly that synchronous call
 * and come back before any other code can run.
 */
function withoutSecretEnv<T>(call: () => T): T {
  const hidden = esbuildHides(process.env).map((name) => [name, process.env[name]] as const);
  for (const [name] of hidden) delete process.env[name];
  try {
    return call();
  } finally {
    for (const [name, value] of hidden) process.env[name] = value;
  }
}
