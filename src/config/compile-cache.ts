import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join, parse, resolve } from "node:path";
import type { Compiled } from "./compile.js";
import { PLINTH_DIR, readPrivateFile, writePrivateFile } from "./plinth-dir.js";

/**
 * A compiled config, kept under `.plinth/cache` beside the config file and used again while every
 * input of the compilation is unchanged: bundling starts esbuild's service process, a large share
 * of a no-op `plinth plan`. Only the compilation is cached; the config is evaluated on every run.
 *
 * The key covers what esbuild read (each bundled file), what it would read differently if it
 * appeared or changed (the names beside each import and bundled file: a new `lib.ts` shadows an
 * imported `lib.js`; every `package.json`, `tsconfig.json` and `jsconfig.json` from those folders
 * up), and which plinth the code imports. `seal` binds the code to that key, so a cache file whose
 * code was edited, truncated or mixed with another's is recompiled rather than run. The folder is
 * 0700 and the file 0600 and owned by the user, or it is not read: anyone else able to write it
 * could make plinth run their code.
 */
interface CacheEntry {
  version: typeof CACHE_VERSION;
  plinth: string;
  /** Files whose content (or absence) is part of the key. */
  files: string[];
  /** `[folder, prefix]`: the folder's entries starting with the prefix are part of the key. */
  listings: [string, string][];
  key: string;
  code: string;
  seal: string;
}

const CACHE_VERSION = 3;
const CONFIG_FILES_ON_THE_WAY_UP = ["package.json", "tsconfig.json", "jsconfig.json"];

const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const sealOf = (key: string, code: string): string => sha256(`${key}\0${code}`);

export function cacheFileOf(file: string, version = CACHE_VERSION): string {
  return join(dirname(file), PLINTH_DIR, "cache", `${basename(file)}.v${version}.json`);
}

/** The code compiled earlier for `file`, if the cache holds it for exactly the current inputs. */
export async function readCompiled(file: string, plinth: string): Promise<string | undefined> {
  const text = readPrivateFile(cacheFileOf(file));
  if (text === undefined) return undefined;
  let entry: CacheEntry;
  try {
    entry = JSON.parse(text) as CacheEntry;
  } catch {
    return undefined;
  }
  if (entry?.version !== CACHE_VERSION || entry.plinth !== plinth || typeof entry.code !== "string") {
    return undefined;
  }
  if (!Array.isArray(entry.files) || !entry.files.includes(file) || !Array.isArray(entry.listings)) {
    return undefined;
  }
  const key = keyOf(plinth, entry.files, entry.listings);
  return key === entry.key && sealOf(key, entry.code) === entry.seal ? entry.code : undefined;
}

/** Saves a compilation; a read-only checkout simply runs without the cache. */
export async function saveCompiled(file: string, plinth: string, compiled: Compiled): Promise<void> {
  const bundled = Object.keys(compiled.inputs);
  const folders = new Set(bundled.map((p) => dirname(p)));
  const files = [...bundled, ...[...folders].flatMap(configFilesUpFrom)];
  const listings: [string, string][] = [
    ...bundled.map((p): [string, string] => [dirname(p), parse(p).name]),
    ...compiled.imports.map((p): [string, string] => [dirname(p), basename(p)]),
  ];
  const uniqueFiles = [...new Set(files)].sort();
  const uniqueListings = [...new Map(listings.map((l) => [l.join("\0"), l])).values()].sort();
  const key = keyOf(plinth, uniqueFiles, uniqueListings);
  // Compiled from other bytes than are on disk now (edited during the build): not worth keeping.
  const onDisk = bundled.map((p) => hashOrNull(p));
  if (bundled.some((p, i) => compiled.inputs[p] !== onDisk[i])) return;
  const entry: CacheEntry = {
    version: CACHE_VERSION,
    plinth,
    files: uniqueFiles,
    listings: uniqueListings,
    key,
    code: compiled.code,
    seal: sealOf(key, compiled.code),
  };
  if (writePrivateFile(cacheFileOf(file), JSON.stringify(entry))) {
    rmSync(cacheFileOf(file, CACHE_VERSION - 1), { force: true });
  }
}

/** `package.json`, `tsconfig.json`, `jsconfig.json` in `folder` and every folder above it. */
function configFilesUpFrom(folder: string): string[] {
  const out: string[] = [];
  for (let dir = folder; ; dir = dirname(dir)) {
    for (const name of CONFIG_FILES_ON_THE_WAY_UP) out.push(join(dir, name));
    if (dirname(dir) === dir) return out;
  }
}

function hashOrNull(path: string): string | null {
  try {
    return sha256(readFileSync(path));
  } catch {
    return null;
  }
}

/**
 * Read synchronously: a few small files at start-up, where nothing else waits, and loading
 * `node:fs/promises` alone cost more than the reads.
 *
 * The key: a hash of each file's content (absent counts), of each listing, and of the files a
 * tsconfig/jsconfig `extends` by relative path (followed here because esbuild reads them too).
 */
function keyOf(plinth: string, files: string[], listings: [string, string][]): string {
  const hashes: Record<string, string | null> = {};
  let pending = files;
  while (pending.length > 0) {
    const found = pending.map((p) => hashOrNull(p));
    const next: string[] = [];
    for (const [i, path] of pending.entries()) {
      hashes[path] = found[i] ?? null;
      if (found[i] && /[jt]sconfig[^/\\]*\.json$/.test(path)) {
        for (const extended of extendsOf(path)) if (!(extended in hashes)) next.push(extended);
      }
    }
    pending = [...new Set(next)];
  }
  const seen = listings.map(([dir, prefix]) =>
    listing(dir)
      .filter((n) => n.startsWith(prefix))
      .sort(),
  );
  return sha256(
    JSON.stringify({
      plinth,
      files: Object.entries(hashes).sort(([a], [b]) => (a < b ? -1 : 1)),
      listings: listings.map((l, i) => [...l, seen[i]]),
    }),
  );
}

function listing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Relative `extends` of a tsconfig (a string or a list); package names resolve from node_modules. */
function extendsOf(path: string): string[] {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    // no such tsconfig: nothing extended
  }
  const value = /"extends"\s*:\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\])/.exec(text)?.[1] ?? "";
  return [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)]
    .map((m) => m[1] ?? "")
    .filter((p) => p.startsWith("."))
    .flatMap((p) => [resolve(dirname(path), p), resolve(dirname(path), `${p}.json`)]);
}
