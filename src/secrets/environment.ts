import { type Diagnostic, error, UserError } from "../diagnostics/diagnostic.js";
import type { SecretSpec } from "./spec.js";

/** The operator's environment variables (the CLI's `ctx.env`). */
export type Variables = Readonly<Record<string, string | undefined>>;

/**
 * On a Secret written from the environment: names the variable, so an operator finding it knows
 * where its value comes from, and marks it as a copy that prune may delete (it holds no data).
 */
export const FROM_ENVIRONMENT = "plinth.dev/from-environment";

/** Whether any key comes from the environment: such a Secret is a copy, not plinth's to generate or put in Vault. */
export function fromEnvironment(spec: SecretSpec): boolean {
  return Object.values(spec.keys).some((k) => k.fromEnv);
}

export function variablesOf(spec: SecretSpec): string[] {
  return [
    ...new Set(Object.values(spec.keys).flatMap((k) => (k.fromEnv ? [k.fromEnv.variable] : []))),
  ].sort();
}

/** For plan output: key names by where their values come from (never the values). */
export function describeKeys(spec: SecretSpec): string {
  const generated = Object.entries(spec.keys)
    .filter(([, k]) => !k.fromEnv)
    .map(([name]) => name)
    .sort();
  const parts = generated.length ? [`generated: ${generated.join(", ")}`] : [];
  for (const variable of variablesOf(spec)) {
    const keys = Object.entries(spec.keys)
      .filter(([, k]) => k.fromEnv?.variable === variable)
      .map(([name]) => name)
      .sort();
    parts.push(`from ${variable}: ${keys.join(", ")}`);
  }
  return parts.join("; ");
}

/** One error per missing variable, naming the Secret it fills and what to export. */
export function missingVariables(specs: readonly SecretSpec[], vars: Variables): Diagnostic[] {
  const out = new Map<string, Diagnostic>();
  for (const spec of specs) {
    for (const key of Object.values(spec.keys)) {
      const v = key.fromEnv;
      if (!v || vars[v.variable]?.trim() || out.has(v.variable)) continue;
      out.set(
        v.variable,
        error(
          `environment variable ${v.variable} is not set; plinth writes the Secret ${spec.namespace}/${spec.name} (read by ${spec.consumers.join(", ")}) from it`,
          {
            path: v.variable,
            fix: `export ${v.variable} (${v.what}) and run again; nothing was changed`,
          },
        ),
      );
    }
  }
  return [...out.values()];
}

/** The environment-sourced keys' values, read now; a missing variable is a UserError. */
export function environmentValues(spec: SecretSpec, vars: Variables): Record<string, string> {
  const missing = missingVariables([spec], vars);
  if (missing.length) throw new UserError(missing);
  return Object.fromEntries(
    Object.entries(spec.keys).flatMap(([name, k]) =>
      k.fromEnv ? [[name, vars[k.fromEnv.variable] as string]] : [],
    ),
  );
}
