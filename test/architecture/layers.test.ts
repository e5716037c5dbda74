import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The walls of src/, lowest first. A file may import its own folder and any folder of a LOWER
 * tier; folders sharing a tier are siblings and never import each other. Providers and state sit
 * at the edge: they talk to the outside world and may use only what is below them, so plan,
 * apply, status and the CLI can all use them.
 */
const TIERS: readonly (readonly string[])[] = [
  ["diagnostics"], // UserError and Diagnostic: everything reports through them
  ["util"], // general helpers with no plinth knowledge (concurrency, canonical YAML, version)
  ["config"], // the user's file: schema, ids, loading
  ["model"], // config → resolved environment, pure
  ["secrets"], // the secret-spec language: generation, templates, values from the environment
  ["catalog"], // what each component is, renders and needs
  ["graph"], // phases and dependencies of the catalog's components
  ["validate"], // the whole config checked across environments (capacity, shared hosts)
  ["providers", "state"], // the edge: Kubernetes, Vault, Cloudflare, SSH; state and locks
  ["plan"], // desired vs live for every system, composed; saved plans
  ["apply", "status", "render"], // what runs or shows a plan
  ["api"], // plan and apply an environment as a library: plain data and events, nothing printed
  ["github"], // the pull-request workflow: GitHub events and comments → plans, applies, replies
  ["cli"], // a person at a terminal
  ["index"], // the package's public face
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = join(ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Every relative import of a file (static, type-only, re-export and dynamic), as src-relative paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => relative(SRC, resolve(dirname(file), name.replace(/\.js$/, ".ts"))));
}

/** The folder a src-relative path belongs to: its first segment, or the file's name for src/*.ts. */
const folderOf = (path: string) => path.split("/")[0]?.replace(/\.ts$/, "") ?? path;

const tierOf = (folder: string) => TIERS.findIndex((tier) => tier.includes(folder));

const files = sourceFiles(SRC).map((f) => relative(SRC, f));
const graph = new Map(files.map((f) => [f, importsOf(join(SRC, f))]));

/** Strongly connected components of more than one file (or a file importing itself), Tarjan's. */
function circles(edges: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || edges.get(v)?.includes(v)) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe("src/ layers", () => {
  it("reads the tree (the check below is not vacuous)", () => {
    expect(files.length).toBeGreaterThan(100);
    expect([...graph.values()].flat().length).toBeGreaterThan(300);
  });

  it("every folder of src/ has a place in the tiers", () => {
    const unplaced = [...new Set(files.map(folderOf))].filter((f) => tierOf(f) === -1);
    expect(unplaced, "add each to TIERS in test/architecture/layers.test.ts at its level").toEqual([]);
  });

  it("no import runs from a lower tier up, or across siblings", () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const from = folderOf(file);
      for (const target of imports) {
        const to = folderOf(target);
        if (to !== from && tierOf(to) >= tierOf(from)) upward.push(`src/${file} imports src/${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("no import circle between files", () => {
    expect(circles(graph).map((c) => c.map((f) => `src/${f}`).join(" → "))).toEqual([]);
  });

  it("the checks catch what they are for (an upward import and a circle, made up)", () => {
    const made = new Map([
      ["a/x.ts", ["b/y.ts"]],
      ["b/y.ts", ["a/x.ts"]],
      ["c/z.ts", []],
    ]);
    expect(circles(made)).toEqual([["a/x.ts", "b/y.ts"]]);
    expect(tierOf("model")).toBeLessThan(tierOf("plan"));
    expect(tierOf("providers")).toBe(tierOf("state"));
  });
});
