import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TestbedContext } from "./service.js";

/**
 * A generated secret kept in `.testbed/secrets/<service>.json` (mode 0600): made once, so `env`
 * of a running instance returns what `start` used, and never a literal in the repository.
 */
export function secret(ctx: Pick<TestbedContext, "stateDir">, service: string, key: string): string {
  const file = join(ctx.stateDir, "secrets", `${service}.json`);
  const values: Record<string, string> = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  const existing = values[key];
  if (existing) return existing;
  // URL-safe and shell-safe: these end up in connection URLs and the env file.
  const value = randomBytes(18).toString("base64url").replace(/[-_]/g, "x");
  values[key] = value;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
  return value;
}
