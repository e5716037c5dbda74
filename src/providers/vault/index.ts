export { VaultApiError, VaultClient, VaultUnreachableError } from "./client.js";
export {
  type ConvergeOptions,
  type ConvergeResult,
  convergeVault,
  type Inspection,
  inspectVault,
} from "./converge.js";
export { CONNECTION, DATABASE_ROLES, type DatabaseTarget, databaseResources } from "./database.js";
export {
  DEFAULT_LAYOUT,
  databaseMount,
  MANAGED_BY,
  type SecretEntry,
  secretEntries,
  usesVault,
  type VaultLayout,
} from "./layout.js";
export { ensureVaultReady, type LifecycleOptions, type LifecycleResult, vaultHealth } from "./lifecycle.js";
export {
  getSecretValue,
  listSecrets,
  type RotationResult,
  rotateSecret,
  type SecretListing,
} from "./operations.js";
export { auditDeviceHcl, type KubeSecretReader, type VaultChange, VaultProvider } from "./provider.js";
export { desiredVault, IN_CLUSTER, type KubernetesAuthTarget, type VaultSpec } from "./resources.js";
export { authenticate, MANAGER_POLICY, managerPolicy } from "./token.js";
export { type UnsealMaterial, unsealFilePath } from "./unseal-file.js";
