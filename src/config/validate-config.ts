import { error, UserError } from "../diagnostics/diagnostic.js";
import { issueToDiagnostic, literalSecretDiagnostic } from "./messages.js";
import { type Config, configSchema } from "./schema.js";
import { findLiteralSecrets } from "./secret-ref.js";

/**
 * Checks an evaluated config against plinth's schema: no loop, no secret written into it, every
 * field as the schema says. Its own module, with zod, loaded only when the config is not one the
 * same plinth has checked before (load.ts).
 */
export function validateConfig(raw: unknown, displayFile: string): Config {
  const cycle = findCycle(raw);
  if (cycle) {
    throw new UserError(
      error(`refers back to ${cycle.target || "the config itself"}, so the config never ends`, {
        file: displayFile,
        path: cycle.path,
        fix: "make it a copy ({ ...value }) or remove the reference",
      }),
    );
  }
  const secrets = findLiteralSecrets(raw);
  if (secrets.length > 0) throw new UserError(secrets.map((s) => literalSecretDiagnostic(s, displayFile)));
  // The input in each issue lets a message say what was written (`is the string "8"`).
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new UserError(parsed.error.issues.map((i) => issueToDiagnostic(i, displayFile)));
  return parsed.data;
}

/**
 * The first place where the config contains one of its own ancestors (`config.self = config`).
 * An object shared by two places is fine; only a loop would send every walk below round forever.
 */
function findCycle(
  value: unknown,
  path: string[] = [],
  ancestors = new Map<object, string>(),
): { path: string; target: string } | undefined {
  if (!value || typeof value !== "object") return undefined;
  const target = ancestors.get(value);
  if (target !== undefined) return { path: path.join("."), target };
  ancestors.set(value, path.join("."));
  for (const [key, child] of Object.entries(value)) {
    const found = findCycle(child, [...path, key], ancestors);
    if (found) return found;
  }
  ancestors.delete(value);
  return undefined;
}
