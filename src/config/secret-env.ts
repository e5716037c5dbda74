/**
 * The environment variables that hold secrets plinth reads, in one place, so that the child
 * processes plinth starts (esbuild's service, kubeconfig exec plugins) get an environment without
 * them: a compromised or merely chatty plugin cannot leak what it was never given.
 */

/** Secrets only plinth itself uses: the unseal passphrase, the plan signing key, Vault and Cloudflare. */
export const PLINTH_SECRET_VARIABLES = [
  "PLINTH_VAULT_PASSPHRASE",
  "PLINTH_PLAN_KEY",
  "VAULT_TOKEN",
  "CLOUDFLARE_API_TOKEN",
] as const;

/** Cloud credentials: the S3 state backend's, and what an exec plugin such as `aws eks get-token` needs. */
export const AWS_CREDENTIAL_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
] as const;

/**
 * What esbuild's service process keeps: it compiles a file and needs no credentials at all, so an
 * allow-list (the binary's search path, temp and home folders, locale, its own and Go's runtime
 * settings, Windows' system folders) rather than the deny-list above.
 */
const ESBUILD_KEEPS =
  /^(PATH|HOME|USERPROFILE|TMPDIR|TMP|TEMP|LANG|LC_\w+|NODE_PATH|ESBUILD_\w+|GO\w+|SYSTEMROOT|WINDIR)$/i;

type Env = Record<string, string | undefined>;

/** Every `secret.env("NAME")` the config refers to (SSH keys and the like), wherever it sits. */
export function referencedVariables(config: unknown): string[] {
  const names = new Set<string>();
  const visit = (value: unknown, seen: Set<unknown>): void => {
    if (!value || typeof value !== "object" || seen.has(value)) return;
    seen.add(value);
    const from = (value as { fromEnv?: unknown }).fromEnv;
    if (typeof from === "string") names.add(from);
    for (const v of Object.values(value)) visit(v, seen);
  };
  visit(config, new Set());
  return [...names];
}

/** `env` without the named variables (a copy; `env` is not changed). */
export function withoutVariables(env: Env, names: Iterable<string>): Env {
  const out = { ...env };
  for (const name of names) delete out[name];
  return out;
}

/**
 * The environment for a kubeconfig exec plugin: everything but plinth's own secrets and the ones
 * the config refers to. AWS credentials stay: `aws eks get-token` and its kind sign with them.
 */
export function execPluginEnv(env: Env, configVariables: readonly string[]): Env {
  const aws: readonly string[] = AWS_CREDENTIAL_VARIABLES;
  return withoutVariables(env, [
    ...PLINTH_SECRET_VARIABLES,
    ...configVariables.filter((n) => !aws.includes(n)),
  ]);
}

/** The names esbuild's service process must not see. */
export function esbuildHides(env: Env): string[] {
  return Object.keys(env).filter((name) => !ESBUILD_KEEPS.test(name));
}
