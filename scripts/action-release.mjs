// Assembles the GitHub Action's release tree: what a workflow's `uses: OWNER/plinth@<commit>`
// runs. A JavaScript action runs straight from the repository at that commit, with no `npm ci`,
// so the tree holds everything it loads: action.yml, the built bundle (dist/bundle, the CLI and
// the action entry), dist/index.js bundled on its own (what a config's `import "plinth"` gets),
// package.json (plinth's version), and from node_modules only the bundle's two externals with
// what they need: esbuild (a native binary, compiles the config) and ssh2 (optional native parts).
//
// Usage (after `npm run build`): node scripts/action-release.mjs OUT_DIR
// The release workflow (.github/workflows/release-action.yml) commits OUT_DIR as the release commit.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { bundleOptions } from "./bundle.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The bundle's externals (scripts/bundle.mjs): they load from node_modules at run time. */
const EXTERNALS = ["esbuild", "ssh2"];
const FILES = ["action.yml", "package.json", "README.md", "LICENSE"];

/** A package and everything it depends on (optional ones only where installed), as node_modules paths. */
function closure(names) {
  const found = new Set();
  const visit = (name, from) => {
    // Node's lookup: the package's own node_modules first, then the hoisted one.
    const candidates = [join(from, "node_modules", name), join(ROOT, "node_modules", name)];
    const dir = candidates.find((c) => existsSync(join(c, "package.json")));
    if (!dir || found.has(dir)) return;
    found.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep, dir);
  };
  for (const name of names) {
    if (!existsSync(join(ROOT, "node_modules", name, "package.json"))) {
      throw new Error(`node_modules/${name} is missing: run npm ci first`);
    }
    visit(name, ROOT);
  }
  return [...found].sort();
}

export async function assembleRelease(out) {
  if (!existsSync(join(ROOT, "dist/bundle/action.js"))) {
    throw new Error("dist/bundle/action.js is missing: run npm run build first");
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "dist"), { recursive: true });
  for (const f of FILES) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(out, f));
  // The scripts bin/plinth runs (offline.cjs, plan.cjs) are not the action's: 4 MB it never loads.
  cpSync(join(ROOT, "dist/bundle"), join(out, "dist/bundle"), {
    recursive: true,
    filter: (src) => !src.endsWith(".cjs"),
  });
  // The unbundled dist/index.js imports zod, the Kubernetes client...: bundled, it needs none of them.
  await build(bundleOptions({ index: join(ROOT, "dist/index.js") }, join(out, "dist")));
  for (const dir of closure(EXTERNALS)) {
    const rel = dir.slice(ROOT.length + 1);
    // Nested node_modules come along with their package (cpSync copies the whole folder).
    if (!existsSync(join(out, rel))) cpSync(dir, join(out, rel), { recursive: true, dereference: true });
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write("usage: node scripts/action-release.mjs OUT_DIR\n");
    process.exit(2);
  }
  await assembleRelease(out);
  process.stdout.write(`action release tree in ${out}\n`);
}
