// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/ for bin/plinth.
//
// Why: Node resolves, reads and compiles every module of an unbundled tree at start-up, and
// @kubernetes/client-node's index alone is 14 MB of generated API code. Bundled, with the client
// marked free of side effects, only what plinth calls (KubeConfig and its auth) is kept, and the
// commands' heavy SDKs (Cloudflare, S3, SSH) stay in chunks loaded on first use. `dist/index.js`
// (defineConfig for config files) is not bundled.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = join(import.meta.dirname, "..");

const SIDE_EFFECT_FREE = /[\\/]node_modules[\\/]@kubernetes[\\/]client-node[\\/]/;

/** Marks client-node's modules side-effect free so esbuild drops the generated APIs plinth never calls. */
const treeShakeKubernetesClient = {
  name: "tree-shake-kubernetes-client",
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === "resolved") return undefined;
      const r = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: "resolved",
      });
      if (r.errors.length > 0 || !SIDE_EFFECT_FREE.test(r.path)) return undefined;
      return { ...r, sideEffects: false };
    });
  },
};

/**
 * Node's built-in modules that only some commands use (the network stack, threads, compression)
 * load on first use instead of at start-up: about 25 ms of a cold start went to loading them
 * (http alone pulls in undici for its WebSocket export), for an offline plan that sends nothing.
 * Each import gets a stand-in whose properties read the real module through
 * `process.getBuiltinModule` when first touched; the names it offers are the module's own, read
 * here at build time. fs is among them: its ES module facade alone loads the file streams and
 * readline (its getters are all read when the facade is made).
 */
const LAZY_BUILTINS = new Set([
  "assert",
  "async_hooks",
  "child_process",
  "crypto",
  "dns",
  "fs",
  "fs/promises",
  "http",
  "http2",
  "https",
  "net",
  "os",
  "perf_hooks",
  "readline",
  "stream",
  "timers/promises",
  "tls",
  "util",
  "vm",
  "worker_threads",
  "zlib",
]);

/**
 * In the scripts, not what every run loads anyway: each reads its files and hashes (fs, crypto),
 * and there a stand-in only adds work (esbuild copies each property of the module onto the
 * importer's namespace object at load).
 */
const LAZY_IN_SCRIPTS = new Set(
  [...LAZY_BUILTINS].filter((id) => !["crypto", "fs", "util", "vm", "os", "path"].includes(id)),
);

const lazyBuiltins = (lazy) => ({
  name: "lazy-builtins",
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_0-9/]+$/ }, (args) => {
      const id = args.path.replace(/^node:/, "");
      if (!lazy.has(id) || !builtinModules.includes(id)) return undefined;
      return { path: id, namespace: "lazy-builtin" };
    });
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => {
      const names = Object.getOwnPropertyNames(process.getBuiltinModule(`node:${args.path}`));
      return {
        contents: `module.exports = __plinthLazyBuiltin(${JSON.stringify(`node:${args.path}`)}, ${JSON.stringify(names)});`,
        loader: "js",
      };
    });
  },
});

/** The stand-in (defined in every chunk's banner): a Proxy that loads the module when first read. */
const LAZY_BUILTIN_HELPER = `const __plinthLazyBuiltin = (id, names) => {
  let real;
  const load = () => (real ??= process.getBuiltinModule(id));
  const own = new Set(names);
  return new Proxy({}, {
    get: (_, k) => load()[k],
    set: (_, k, v) => ((load()[k] = v), true),
    has: (_, k) => k in load(),
    ownKeys: () => names,
    getOwnPropertyDescriptor: (_, k) => (own.has(k) ? { configurable: true, enumerable: true, writable: true, value: undefined } : undefined),
    getPrototypeOf: () => Object.prototype,
  });
};`;

/**
 * The CLI's build options for any entry point: the bench bundles its in-process engine runs
 * (bench/previews.mjs) with them, so their memory and start-up are the CLI's, not those of the
 * unbundled tree (which loads client-node's 14 MB of generated APIs).
 */
export function bundleOptions(entryPoints, outdir) {
  return {
    // What a bundle knows of itself: src/config/validated-cache.ts reuses a validation only within
    // the same build.
    define: { __PLINTH_BUILD__: JSON.stringify(buildId()) },
    entryPoints,
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node22",
    // Whitespace and syntax only (names stay, so stack traces and `.name` read as in the source):
    // V8 parses less at each lazy compile, and without comments the output is ASCII, which V8
    // holds as a one-byte string (one em dash in a comment made the main chunk two-byte, and
    // Node's compile cache then re-encoded all 0.7 MB as UTF-8 on every start to checksum it).
    // 35 M fewer instructions for a cold `plan --offline` (523 M to 487 M).
    minifyWhitespace: true,
    minifySyntax: true,
    // esbuild ships a native binary and ssh2 optional native add-ons: both load from node_modules.
    external: ["esbuild", "ssh2"],
    // CommonJS dependencies inside an ES module bundle still call require(), and ssh2's crypto
    // (emscripten) code reads __dirname when it loads.
    banner: {
      js: `import { createRequire as __plinthCreateRequire } from 'node:module'; import { fileURLToPath as __plinthFileURLToPath } from 'node:url'; const require = __plinthCreateRequire(import.meta.url); const __filename = __plinthFileURLToPath(import.meta.url); const __dirname = __plinthFileURLToPath(new URL('.', import.meta.url));\n${LAZY_BUILTIN_HELPER}`,
    },
    alias: {
      "node-fetch": join(ROOT, "scripts/shims/node-fetch.mjs"),
      undici: join(ROOT, "scripts/shims/undici.mjs"),
    },
    plugins: [lazyBuiltins(LAZY_BUILTINS), treeShakeKubernetesClient],
    logLevel: "warning",
  };
}

/**
 * A hash of what the bundle is built from: the compiled tree (dist/, tsc's output, which holds
 * plinth's own code) and the exact dependencies (package-lock.json).
 */
let built;
function buildId() {
  // Once per build: the CLI's bundle and both scripts share it.
  if (built) return built;
  const hash = createHash("sha256");
  const compiled = readdirSync(join(ROOT, "dist"), { recursive: true })
    .filter((f) => f.endsWith(".js") && !f.startsWith("bundle"))
    .sort();
  for (const f of compiled) hash.update(`${f}\0`).update(readFileSync(join(ROOT, "dist", f)));
  hash.update(readFileSync(join(ROOT, "package-lock.json")));
  built = hash.digest("hex").slice(0, 32);
  return built;
}

/**
 * The commands bin/plinth runs from a script (src/cli/scripted.ts) as one classic script each:
 * `offline.cjs` (validate, plan --offline, render, graph, domains) and `plan.cjs` (a live plan
 * too). bin/plinth runs it with `vm.Script` and a V8 code cache it writes *after* the command.
 * Node's compile cache is made right after a module is compiled, so it holds the top-level code
 * only and every function a command calls was parsed and compiled again on every start (a fifth
 * of a cold `plan --offline`); a cache made after the run holds those too. V8 cannot make one for
 * an ES module without an experimental flag, hence CommonJS, wrapped in a function whose
 * parameters are what a CommonJS module gets plus the launcher's import() (`__plinthImport`, for
 * the config's modules: a vm.Script has no loader for import()). The offline script leaves the
 * live plan out: the Kubernetes client, Vault and DNS would make it eight times the size, and a
 * cold offline command two thirds slower.
 */
export function scriptOptions(outfile, { live }) {
  const esm = bundleOptions({}, "");
  delete esm.outdir;
  return {
    ...esm,
    entryPoints: ["dist/cli/scripted.js"],
    outfile,
    splitting: false,
    format: "cjs",
    // import() of a package or built-in becomes require(): import() itself has no loader here.
    supported: { "dynamic-import": false },
    // The wrapper's first statement: esbuild's own "use strict" would follow the banner, a no-op.
    banner: {
      js: `(function (exports, require, module, __filename, __dirname, __plinthImport) {"use strict";\nconst __plinthImportMetaUrl = require("node:url").pathToFileURL(__filename).href;\n${LAZY_BUILTIN_HELPER}`,
    },
    footer: { js: "})" },
    define: { ...esm.define, "import.meta.url": "__plinthImportMetaUrl" },
    plugins: [scriptSubstitutes(live), lazyBuiltins(LAZY_IN_SCRIPTS), treeShakeKubernetesClient],
  };
}

/**
 * What a script holds instead of plinth's own modules: import() through the launcher, and, in the
 * offline script, no live plan, which an offline run never reaches.
 */
const scriptSubstitutes = (live) => ({
  name: "script-substitutes",
  setup(b) {
    b.onResolve({ filter: /[\\/]import-url\.js$/ }, () => ({
      path: join(ROOT, "scripts/shims/import-url.cjs"),
    }));
    if (live) return;
    b.onResolve({ filter: /[\\/]plan-live\.js$/ }, () => ({ path: "plan-live", namespace: "offline-stub" }));
    b.onLoad({ filter: /.*/, namespace: "offline-stub" }, () => ({
      contents:
        'export async function livePlan() { throw new Error("the offline script reached the live plan: bin/plinth runs plan without --offline from plan.cjs"); }',
      loader: "js",
    }));
  },
});

// Built beside and swapped in by two renames: bin/plinth runs while others build (tests, the
// bench), and an emptied dist/bundle/ during the build failed every run that started meanwhile.
async function buildCli() {
  const next = `dist/bundle.next-${process.pid}`;
  const previous = `dist/bundle.previous-${process.pid}`;
  rmSync(next, { recursive: true, force: true });
  // The GitHub Action's entry (action.yml's runs.main: dist/bundle/action.js) shares the CLI's chunks.
  await build(bundleOptions({ main: "dist/cli/main.js", action: "dist/cli/action-entry.js" }, next));
  await build(scriptOptions(join(next, "offline.cjs"), { live: false }));
  await build(scriptOptions(join(next, "plan.cjs"), { live: true }));
  try {
    renameSync("dist/bundle", previous);
  } catch {
    // first build
  }
  renameSync(next, "dist/bundle");
  rmSync(previous, { recursive: true, force: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildCli();
