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
/** Placeholders that stand for a secret: only under a secret's key is `password` or `secret` one. */
const SECRET_PLACEHOLDER = /^(change[-_ ]?me|changeit|password|secret|todo|fixme|x{3,}|\*{3,}|<.*>)$/i;
/** Placeholders that are never a real value of any field (`todo` can be a name, so is not one). */
const PLACEHOLDER = /^(change[-_ ]?me|changeit|x{3,}|\*{3,}|<.*>)$/i;

/**
 * Shapes that are a credential wherever they appear, never a name or a setting: the config and
 * the state refuse them on sight.
 */
export const ALWAYS_SECRET: readonly [string, RegExp][] = [
  ["a PEM private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  // The body alone too: base64 of "openssh-key-v1", how every OpenSSH private key starts.
  ["an OpenSSH private key", /-----BEGIN OPENSSH PRIVATE KEY-----|\bb3BlbnNzaC1rZXktdjE/],
  ["a JSON Web Token", /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/],
  ["a k3s join token", /\bK10[0-9a-f]{20,}::/],
  ["an authorization header", /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}/],
  ["a URL with a password", /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:[^\s/@]+@/i],
];

export interface LiteralSecret {
  path: string;
  /**
   * `shape`: a credential by its look (`looksLike` says which), wherever it is; `literal`: a value
   * under a secret's key; `placeholder`: `change-me` and the like under a secret's key;
   * `ref-placeholder`: one where a secret reference goes (`sshKey`); `value-placeholder`: one in
   * any other field.
   */
  kind: "shape" | "literal" | "placeholder" | "ref-placeholder" | "value-placeholder";
  looksLike?: string;
}

/** Fields whose value is a SecretRef (schema.ts): a string there is a secret or stands for one. */
function holdsSecretRef(path: readonly string[]): boolean {
  const key = path[path.length - 1];
  return key === "sshKey" || (key === "url" && path[path.length - 2] === "external");
}

/**
 * Finds secret values written into config: a credential by its shape or a placeholder anywhere,
 * and any string under a secret-looking key. Runs before schema validation so the message is
 * about the secret, not about an unknown key or a wrong type (and never quotes it).
 */
export function findLiteralSecrets(value: unknown, path: string[] = []): LiteralSecret[] {
  if (typeof value === "string") {
    const at = path.join(".");
    const shape = ALWAYS_SECRET.find(([, re]) => re.test(value));
    if (shape) return [{ path: at, kind: "shape", looksLike: shape[0] }];
    const key = path[path.length - 1] ?? "";
    // A SecretRef's own fields hold names and paths, not values.
    const secretKey = key !== "fromEnv" && key !== "fromFile" && SECRET_KEY.test(key);
    const trimmed = value.trim();
    if (secretKey && SECRET_PLACEHOLDER.test(trimmed)) return [{ path: at, kind: "placeholder" }];
    if (holdsSecretRef(path) && SECRET_PLACEHOLDER.test(trimmed))
      return [{ path: at, kind: "ref-placeholder" }];
    if (PLACEHOLDER.test(trimmed)) return [{ path: at, kind: "value-placeholder" }];
    if (secretKey) return [{ path: at, kind: "literal" }];
    return [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findLiteralSecrets(v, [...path, String(i)]));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => findLiteralSecrets(v, [...path, k]));
  }
  return [];
}
