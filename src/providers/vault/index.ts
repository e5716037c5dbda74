export {
  DEFAULT_LAYOUT,
  databaseMount,
  MANAGED_BY,
  type SecretEntry,
  secretEntries,
  usesVault,
  type VaultLayout,
} from "../../catalog/vault-layout.js";
export { VaultApiError, VaultClient, VaultUnreachableError } from "./client.js";
export {
  type ConvergeOptions,
  type ConvergeResult,
  convergeVault,
  type Inspection,
  inspectVault,
} from "./converge.js";
export { CONNECTION, DATABASE_ROLES, type DatabaseTarget, databaseResources } from "./database.js";
export { ensureVaultReady, type LifecycleOptions, type LifecycleResult, vaultHealth } from "./lifecycle.js";
export {
  getSecretValue,
  listSecrets,
  locateSecret,
  type RotationResult,
  rotateSecret,
  type SecretListing,
} from "./operations.js";
export { auditDeviceHcl, type KubeSecretReader, VaultProvider } from "./provider.js";
export { desiredVault, IN_CLUSTER, type KubernetesAuthTarget } from "./resources.js";
export type { VaultChange, VaultSpec } from "./spec.js";
export { authenticate, MANAGER_POLICY, managerPolicy } from "./token.js";
export { type UnsealMaterial, unsealFilePath } from "./unseal-file.js";
