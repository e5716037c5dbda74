import { randomBytes, randomInt } from "node:crypto";
import type { SecretKeySpec, SecretSpec } from "./spec.js";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** One value to the consumer's rules, from the CSPRNG (`crypto.randomInt` is uniform, no modulo bias). */
export function generateValue(spec: SecretKeySpec): string {
  if (spec.fixed !== undefined) return spec.fixed;
  // A random stand-in for an operator's credential would break its consumer silently.
  if (spec.fromEnv) throw new Error(`${spec.fromEnv.variable} is read from the environment, never generated`);
  if (spec.fromVault) throw new Error(`${spec.fromVault.path} is issued by Vault, never generated`);
  switch (spec.alphabet) {
    case "alphanumeric":
      return Array.from({ length: spec.length }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join("");
    case "hex":
      return randomBytes(Math.ceil(spec.length / 2))
        .toString("hex")
        .slice(0, spec.length);
    case "base64url":
      return randomBytes(Math.ceil((spec.length * 3) / 4))
        .toString("base64url")
        .slice(0, spec.length);
  }
}

/** `{secret-name.key}` placeholders in templates. */
const PLACEHOLDER = /\{([a-z0-9-]+)\.([A-Za-z0-9_.-]+)\}/g;

export function templateSources(template: string): { secret: string; key: string }[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => ({ secret: m[1] as string, key: m[2] as string }));
}

/**
 * Values for a secret's keys: those already present are kept (a secret never changes unless
 * rotated), missing ones are generated, and templates are filled from `lookup`.
 */
export function fillSecret(
  spec: SecretSpec,
  existing: Record<string, string>,
  lookup: (secret: string, key: string) => string | undefined,
): Record<string, string> {
  const out: Record<string, string> = { ...existing };
  const own = (secret: string, key: string) => (secret === spec.name ? out[key] : lookup(secret, key));
  // Plain keys first, so a template may use a sibling key of the same secret.
  for (const [key, rule] of Object.entries(spec.keys)) {
    if (out[key] === undefined && rule.template === undefined) out[key] = generateValue(rule);
  }
  for (const [key, rule] of Object.entries(spec.keys)) {
    if (out[key] !== undefined || rule.template === undefined) continue;
    out[key] = rule.template.replace(PLACEHOLDER, (_, secret: string, k: string) => {
      const value = own(secret, k);
      if (value === undefined)
        throw new Error(`secret ${spec.name}.${key} needs ${secret}.${k}, which does not exist yet`);
      return value;
    });
  }
  return out;
}
