/**
 * Vitest global setup: brings the test bed up when it is not running, so `npm test` is the whole
 * truth, and takes down afterwards only what it started. `TESTBED=off` skips it (the
 * test files that need it are then left out by vitest.config.ts), `TESTBED_KEEP=1` leaves what it started running, and
 * `TESTBED_ONLY=s3,ssh` brings up only those (tests of the others then fail, naming the variable).
 */
import type { TestProject } from "vitest/node";
import { down, type UpResult, up } from "../../testbed/lib/bed.js";
import { createContext } from "../../testbed/lib/context.js";

declare module "vitest" {
  export interface ProvidedContext {
    testbedEnv: Record<string, string>;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.TESTBED === "off") {
    project.provide("testbedEnv", {});
    return undefined;
  }
  const ctx = createContext();
  let result: UpResult;
  try {
    const only = process.env.TESTBED_ONLY?.split(",").filter(Boolean);
    result = await up(ctx, only);
  } catch (error) {
    // Leave no half-started test bed behind a failed run; what was running before stays.
    const started = (error as { started?: string[] }).started ?? [];
    if (started.length > 0 && process.env.TESTBED_KEEP !== "1") await down(ctx, started).catch(() => {});
    throw error;
  }
  // Workers inherit the environment; `inject("testbedEnv")` is the explicit route.
  Object.assign(process.env, result.env);
  project.provide("testbedEnv", result.env);
  if (result.started.length > 0) ctx.log(`started for this run: ${result.started.join(", ")}`);
  return async () => {
    if (result.started.length === 0 || process.env.TESTBED_KEEP === "1") return;
    await down(ctx, result.started);
  };
}
