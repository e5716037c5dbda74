import { basename, dirname, join } from "node:path";
import { PLINTH_DIR, readPrivateFile, writePrivateFile } from "./plinth-dir.js";
import type { Config } from "./schema.js";

/**
 * The last config this plinth found valid, kept under `.plinth/cache` beside the config file with
 * what it was checked from. A config that evaluates to exactly the same data, checked by exactly
 * the same plinth, is valid as it was and validates to the same value, so zod (its schemas built
 * and its check: about 50 M instructions, a fifth of a cold offline plan) is not loaded. The data
 * is compared as JSON text, whole: no hash to collide. Only plain data is kept (what JSON gives
 * back unchanged), and only by a bundled plinth, which knows its build: run from source (tests,
 * the library's `dist/`), every config is checked.
 */
interface Entry {
  version: 1;
  build: string;
  /** The evaluated config as JSON text. */
  input: string;
  config: Config;
}

declare const __PLINTH_BUILD__: string | undefined;
/** Set by scripts/bundle.mjs: a hash of everything the bundle was built from. */
const BUILD = typeof __PLINTH_BUILD__ === "string" ? __PLINTH_BUILD__ : undefined;

export function validatedCacheOf(file: string): string {
  return join(dirname(file), PLINTH_DIR, "cache", `${basename(file)}.validated.json`);
}

/**
 * What the cache compares an evaluated config by: its JSON text, when there is a build to key it
 * by and the config is plain data (undefined otherwise: it is checked every time).
 */
export function cacheInput(raw: unknown): string | undefined {
  return BUILD === undefined ? undefined : plainJson(raw);
}

/** The config validated earlier from exactly `input` by this build, if the cache holds it. */
export function readValidated(file: string, input: string): Config | undefined {
  if (BUILD === undefined) return undefined;
  const text = readPrivateFile(validatedCacheOf(file));
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as Entry;
    if (entry.version === 1 && entry.build === BUILD && entry.input === input) return entry.config;
  } catch {
    // a damaged entry: checked again and replaced
  }
  return undefined;
}

/** Keeps a validation; a read-only checkout runs without. */
export function saveValidated(file: string, input: string, config: Config): void {
  if (BUILD === undefined || !isPlain(config, new Set())) return;
  const entry: Entry = { version: 1, build: BUILD, input, config };
  writePrivateFile(validatedCacheOf(file), JSON.stringify(entry));
}

/**
 * `value` as JSON text when JSON.parse would give it back exactly: objects whose prototype is
 * Object's (or none) with only enumerable string keys, dense arrays, strings, booleans, null and
 * finite numbers (not -0). Undefined otherwise: a function, a Date, a getter's object, a loop,
 * `undefined` as a value (JSON drops the key, zod keeps it).
 */
export function plainJson(value: unknown): string | undefined {
  return isPlain(value, new Set()) ? JSON.stringify(value) : undefined;
}

function isPlain(v: unknown, ancestors: Set<object>): boolean {
  switch (typeof v) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(v) && !Object.is(v, -0);
    case "object":
      break;
    default:
      return false;
  }
  if (v === null) return true;
  if (ancestors.has(v)) return false;
  ancestors.add(v);
  const plain = Array.isArray(v) ? isPlainArray(v, ancestors) : isPlainObject(v, ancestors);
  ancestors.delete(v);
  return plain;
}

function isPlainArray(a: unknown[], ancestors: Set<object>): boolean {
  if (Object.getPrototypeOf(a) !== Array.prototype || Reflect.ownKeys(a).length !== a.length + 1)
    return false;
  for (let i = 0; i < a.length; i++) if (!(i in a) || !isPlain(a[i], ancestors)) return false;
  return true;
}

function isPlainObject(o: object, ancestors: Set<object>): boolean {
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of Reflect.ownKeys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (typeof key !== "string" || !d || !d.enumerable || !("value" in d)) return false;
    if (!isPlain(d.value, ancestors)) return false;
  }
  return true;
}
