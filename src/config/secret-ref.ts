// No zod here: config files import this module (through `plinth`) on every run; its schema is in
// schema.ts.

/**
 * A reference to a secret held outside the config: plinth never accepts secret values in config,
 * only where to find them at run time.
 */
export type SecretRef = { readonly fromEnv: string } | { readonly fromFile: string };

export const secret = {
  /** Read from an environment variable when needed (never at config load). */
  env: (name: string): SecretRef => ({ fromEnv: name }),
  /** Read from a file (e.g. an SSH private key); `~` expands to the home directory. */
  file: (path: string): SecretRef => ({ fromFile: path }),
} as const;

export function describeSecretRef(ref: SecretRef): string {
  return "fromEnv" in ref ? `env ${ref.fromEnv}` : `file ${ref.fromFile}`;
}

const SECRET_KEY = /(pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential)s?$/i;
const PLACEHOLDER = /^(change[-_ ]?me|changeit|password|secret|todo|fixme|x{3,}|\*{3,}|<.*>)$/i;

export interface LiteralSecret {
  path: string;
  kind: "literal" | "placeholder";
}

/**
 * Finds secret values written into config: a string under a secret-looking key, or a well-known
 * placeholder anywhere. Runs before schema validation so the message is about the secret, not
 * about an unknown key.
 */
export function findLiteralSecrets(value: unknown, path: string[] = []): LiteralSecret[] {
  if (typeof value === "string") {
    if (PLACEHOLDER.test(value.trim())) return [{ path: path.join("."), kind: "placeholder" }];
    const key = path[path.length - 1] ?? "";
    // A SecretRef's own fields hold names and paths, not values.
    if (key !== "fromEnv" && key !== "fromFile" && SECRET_KEY.test(key)) {
      return [{ path: path.join("."), kind: "literal" }];
    }
    return [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findLiteralSecrets(v, [...path, String(i)]));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => findLiteralSecrets(v, [...path, k]));
  }
  return [];
}
