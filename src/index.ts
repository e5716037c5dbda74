import type { ApplyOptions, EnvironmentOptions } from "./api/engine.js";
import type { Plan } from "./plan/plan.js";

export type { ApplyOptions, EnvironmentOptions } from "./api/engine.js";
export type { EngineEvent, EventSink } from "./apply/events.js";
export { defineConfig, type UserConfigExport } from "./config/define.js";
export type { Config, UserConfig } from "./config/schema.js";
export { type SecretRef, secret } from "./config/secret-ref.js";
export type { Change, Plan } from "./plan/plan.js";
export type { VaultAccess } from "./providers/vault/access.js";

/*
 * The engine loads on first call: every config imports this module for defineConfig, and must
 * not pull in the Kubernetes client, the SDKs and the executor to do so (start-up time).
 */

/** The environment's live plan (cluster, Vault and DNS as the options give access); reads only. */
export async function planEnvironment(o: EnvironmentOptions): Promise<Plan> {
  return (await import("./api/engine.js")).planEnvironment(o);
}

/** Applies a plan exactly, once it has checked it against the config and the live systems. */
export async function applyPlan(plan: Plan, o: ApplyOptions = {}): Promise<{ changes: number }> {
  return (await import("./api/engine.js")).applyPlan(plan, o);
}

/** Removes what plinth owns in the environment (data kept unless `deleteData`), under its lock. */
export async function destroyEnvironment(
  o: Omit<ApplyOptions, "noWait"> & { env: string; deleteData?: boolean },
): Promise<{ plan: Plan; changes: number }> {
  return (await import("./api/engine.js")).destroyEnvironment(o);
}
