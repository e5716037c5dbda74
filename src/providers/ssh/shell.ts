/**
 * Remote commands are built from validated values only: every value is checked against a strict
 * pattern first and then single-quoted, so nothing from config can reach the remote shell as code.
 */

/** A pinned k3s release (`v1.33.5+k3s1`). */
export const K3S_VERSION = /^v1\.[0-9]+\.[0-9]+\+k3s[0-9]+$/;
export const K3S_CHANNEL = /^(stable|latest|testing)$/;
/** A DNS name or an IPv4 address (letters, digits, dots, hyphens), or an IPv6 address. */
export const HOST = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^[0-9A-Fa-f:]{2,39}$/;
/** An absolute path of plain characters, without `..` segments. */
export const ABSOLUTE_PATH = /^(\/[A-Za-z0-9._+-]+)+\/?$|^\/$/;
export const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
export const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** Thrown when a value would reach a remote shell unvalidated: a plinth bug, or input the schema let by. */
export class UnsafeValueError extends Error {
  constructor(what: string, value: string) {
    super(`refusing to use ${what} ${JSON.stringify(value)} in a remote command: it is not a plain value`);
    this.name = "UnsafeValueError";
  }
}

/** Returns `value` if it matches `pattern`; otherwise throws (never quietly passes it on). */
export function checked(what: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new UnsafeValueError(what, value);
  if (what.includes("path") && value.split("/").some((s) => s === ".."))
    throw new UnsafeValueError(what, value);
  return value;
}

/** POSIX single-quoting: the value is one literal word whatever it contains. */
export function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A command line of quoted words. */
export function command(...words: string[]): string {
  return words.map(quote).join(" ");
}

/** `env NAME='value' …` prefix words for a command (names validated, values quoted). */
export function envWords(vars: Readonly<Record<string, string>>): string[] {
  return [
    "env",
    ...Object.entries(vars)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${checked("variable name", k, ENV_NAME)}=${v}`),
  ];
}
