// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/ for bin/plinth.
//
// Why: Node resolves, reads and compiles every module of an unbundled tree at start-up, and
// @kubernetes/client-node's index alone is 14 MB of generated API code. Bundled, with the client
// marked free of side effects, only what plinth calls (KubeConfig and its auth) is kept, and the
// commands' heavy SDKs (Cloudflare, S3, SSH) stay in chunks loaded on first use. `dist/index.js`
// (defineConfig for config files) is not bundled.
import { rmSync } from "node:fs";
import { build } from "esbuild";

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

rmSync("dist/bundle", { recursive: true, force: true });
await build({
  entryPoints: ["dist/cli/main.js"],
  outdir: "dist/bundle",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  // esbuild ships a native binary and ssh2 optional native add-ons: both load from node_modules.
  external: ["esbuild", "ssh2"],
  // CommonJS dependencies inside an ES module bundle still call require(), and ssh2's crypto
  // (emscripten) code reads __dirname when it loads.
  banner: {
    js: "import { createRequire as __plinthCreateRequire } from 'node:module'; import { fileURLToPath as __plinthFileURLToPath } from 'node:url'; const require = __plinthCreateRequire(import.meta.url); const __filename = __plinthFileURLToPath(import.meta.url); const __dirname = __plinthFileURLToPath(new URL('.', import.meta.url));",
  },
  alias: { "node-fetch": "./scripts/shims/node-fetch.mjs", undici: "./scripts/shims/undici.mjs" },
  plugins: [treeShakeKubernetesClient],
  logLevel: "warning",
});
