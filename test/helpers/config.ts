import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import example from "../../examples/blueprint/plinth.config.js";
import { run } from "../../src/cli/main.js";
import type { Config, UserConfig } from "../../src/config/schema.js";
import { validateConfig } from "../../src/config/validate-config.js";

/** The bundled blueprint example, validated: the baseline most model tests vary. */
export function exampleConfig(): Config {
  return validateConfig(structuredClone(example), "plinth.config.ts");
}

/** The example with changes applied to its raw (user) form, then validated. */
export function exampleWith(change: (raw: UserConfig) => void): Config {
  const raw = structuredClone(example) as UserConfig;
  change(raw);
  return validateConfig(raw, "plinth.config.ts");
}

export function tempDir(prefix = "plinth-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A temp project whose plinth.config.ts is the given TypeScript source. */
export function projectWithConfig(source: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, "plinth.config.ts"), source);
  return dir;
}

export const EXAMPLE_PATH = new URL("../../examples/blueprint/plinth.config.ts", import.meta.url).pathname;

/** Runs the real CLI in-process in `cwd`, capturing output and the exit code. */
export async function cli(
  argv: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await run(argv, {
    cwd,
    env: process.env,
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  return { code, stdout, stderr };
}
