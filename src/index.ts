export { defineConfig, type UserConfigExport } from "./config/define.js";
export type { Config, UserConfig } from "./config/schema.js";
export { type SecretRef, secret } from "./config/secret-ref.js";
