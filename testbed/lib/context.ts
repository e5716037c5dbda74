import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./proc.js";
import type { TestbedContext } from "./service.js";

/** The context every service gets; messages go to stderr so `testbed env` output stays clean. */
export function createContext(root: string = repoRoot, log?: (message: string) => void): TestbedContext {
  const stateDir = join(root, ".testbed");
  mkdirSync(join(stateDir, "run"), { recursive: true });
  mkdirSync(join(stateDir, "logs"), { recursive: true });
  return {
    root,
    stateDir,
    env: {},
    log: log ?? ((message) => process.stderr.write(`[testbed] ${message}\n`)),
  };
}
