import { resolve } from "node:path";
import { inject } from "vitest";

export const root = resolve(import.meta.dirname, "../..");

/** A variable the test bed's global setup exported, if any. */
export const optionalTestbedEnv = (key: string): string | undefined =>
  inject("testbedEnv")?.[key] ?? process.env[key];

/** A variable the test bed's global setup exported; a clear failure when the service is not up. */
export function testbedEnv(key: string): string {
  const value = optionalTestbedEnv(key);
  if (!value)
    throw new Error(`${key} is not set: the test bed is not up (npm run testbed -- up, or run npm test)`);
  return value;
}
