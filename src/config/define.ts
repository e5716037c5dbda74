import type { UserConfig } from "./schema.js";

export type UserConfigExport = UserConfig | Promise<UserConfig> | (() => UserConfig | Promise<UserConfig>);

/**
 * Identity function that gives `plinth.config.ts` full type checking and completion.
 * Overloaded like Vite's so each form keeps its exact type.
 */
export function defineConfig<const T extends UserConfig>(config: T): T;
export function defineConfig<const T extends UserConfig>(config: Promise<T>): Promise<T>;
export function defineConfig<const T extends UserConfig>(config: () => T | Promise<T>): () => T | Promise<T>;
export function defineConfig(config: UserConfigExport): UserConfigExport {
  return config;
}
