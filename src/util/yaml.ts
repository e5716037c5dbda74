import { stringify } from "yaml";

const FIRST_KEYS = ["apiVersion", "kind", "metadata", "name", "namespace"];

/** Keys sorted (apiVersion, kind, metadata first) so equal objects always serialise to equal bytes. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    // Every plan is hashed through here (thousands of objects): keys, not entries, and one pass.
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort(compareKeys)) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      // An own "__proto__" key (JSON.parse makes one) stays a key, as Object.fromEntries kept it.
      if (key === "__proto__")
        Object.defineProperty(out, key, {
          value: sortKeys(v),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

function compareKeys(a: string, b: string): number {
  return rankKey(a) - rankKey(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function rankKey(key: string): number {
  const i = FIRST_KEYS.indexOf(key);
  return i === -1 ? FIRST_KEYS.length : i;
}

export function toYaml(value: unknown): string {
  const sorted = sortKeys(value);
  return plainYaml(sorted) ?? stringify(sorted, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * The yaml library's output (indent 2, sequences indented under their key, no folding) written
 * directly, for data whose every key and string is one line of printable ASCII: rendering the
 * Helm values of an environment with the library was a fifth of a cold `plan --offline`.
 * Anything else (a string of several lines, an unusual number, a class instance) returns
 * undefined and the library writes the whole document; test/render/yaml-plain.test.ts checks that
 * both give the same bytes.
 */
export function plainYaml(value: unknown): string | undefined {
  const lines: string[] = [];
  const one = scalar(value);
  if (one !== undefined) return `${one}\n`;
  const empty = emptyCollection(value);
  if (empty !== undefined) return `${empty}\n`;
  return collection(value, "", lines) ? `${lines.join("\n")}\n` : undefined;
}

/** One line of printable ASCII: yaml writes it plain or in double quotes, the same at any indent. */
const ONE_LINE = /^[\x20-\x7e]*$/;
/** When yaml cannot write a string plain (its own test, stringifyString.js): an indicator first, `: `, ` #`... */
const NEEDS_QUOTES = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** The core schema's other scalars (null, bool, int, float): such a string is quoted too. */
const NOT_A_STRING =
  /^(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)?$/;

/**
 * A string as yaml writes it, for one line of printable ASCII: plain, or in double quotes (it has
 * no `"` or `\\` to escape). Undefined for the rest (several lines, other characters, a document
 * marker, a long key), which the library writes.
 */
function oneLineString(s: string): string | undefined {
  if (s.length > 1000 || !ONE_LINE.test(s) || /^(?:%|---|\.\.\.)/.test(s)) return undefined;
  if (!NEEDS_QUOTES.test(s) && !NOT_A_STRING.test(s)) return s;
  return s.includes('"') || s.includes("\\") ? undefined : `"${s}"`;
}

function scalar(v: unknown): string | undefined {
  if (v === null) return "null";
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0) ? JSON.stringify(v) : undefined;
  if (typeof v === "string") return oneLineString(v);
  return undefined;
}

function isMap(v: unknown): v is Record<string, unknown> {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function emptyCollection(v: unknown): string | undefined {
  if (Array.isArray(v) && v.length === 0) return "[]";
  if (isMap(v) && Object.keys(v).length === 0) return "{}";
  return undefined;
}

/** Appends a non-empty map's or sequence's lines at `indent`; false where the library must write it. */
function collection(v: unknown, indent: string, lines: string[]): boolean {
  if (Array.isArray(v)) {
    for (const item of v) if (!entry(`${indent}- `, item, `${indent}  `, lines, true)) return false;
    return true;
  }
  if (!isMap(v)) return false;
  for (const [k, item] of Object.entries(v)) {
    const key = oneLineString(k);
    if (key === undefined || !entry(`${indent}${key}:`, item, `${indent}  `, lines, false)) return false;
  }
  return true;
}

/**
 * One map pair (`key:`) or sequence item (`- `): a scalar or an empty collection on its line; a
 * collection below it, indented (a map's), or starting on the dash's line (an item's).
 */
function entry(head: string, item: unknown, inner: string, lines: string[], inSequence: boolean): boolean {
  const one = scalar(item) ?? emptyCollection(item);
  if (one !== undefined) {
    lines.push(inSequence ? `${head}${one}` : `${head} ${one}`);
    return true;
  }
  if (item === undefined) return false;
  const first = lines.length;
  if (!inSequence) lines.push(head);
  if (!collection(item, inner, lines)) return false;
  if (inSequence) lines[first] = head + (lines[first] as string).slice(inner.length);
  return true;
}
