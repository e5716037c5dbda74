import { UserError } from "../../diagnostics/diagnostic.js";
import { VaultApiError, type VaultClient, VaultUnreachableError } from "./client.js";
import type { LifecycleOptions } from "./lifecycle.js";
import type { KubernetesAuthTarget } from "./resources.js";

/**
 * Where plinth reaches an environment's Vault and with which credentials, built by the caller (the CLI
 * reads it from flags and environment variables) and shared by `plinth secrets`, `plan` and `apply`.
 */
export interface VaultAccess {
  client: VaultClient;
  lifecycle: LifecycleOptions;
  kubernetes: KubernetesAuthTarget;
  reviewerJwt?: string;
}

/**
 * Vault's refusals as user errors naming what to correct (the address, the token, the settings of
 * a Vault outside the cluster); anything else is returned unchanged.
 */
export function asVaultUserError(e: unknown): unknown {
  if (e instanceof VaultUnreachableError) {
    return new UserError({
      severity: "error",
      path: "VAULT_ADDR",
      message: e.message,
      fix: "check the address (VAULT_ADDR or --vault-addr) and that Vault is running",
    });
  }
  if (e instanceof VaultApiError && e.status === 403) {
    return new UserError({
      severity: "error",
      path: "VAULT_TOKEN",
      message: `Vault refused: ${e.message}`,
      fix: "use a token whose policy covers this environment's paths, or unset VAULT_TOKEN to use plinth's own token from the unseal file",
    });
  }
  if (e instanceof VaultApiError && e.status >= 400 && e.status < 500) {
    return new UserError({
      severity: "error",
      path: e.message.split(":")[0] ?? "vault",
      message: `Vault refused the request: ${e.errors.join("; ") || e.status}`,
      fix: "correct what Vault names (for a Vault outside the cluster: PLINTH_VAULT_KUBE_HOST, PLINTH_VAULT_KUBE_CA_FILE, PLINTH_VAULT_REVIEWER_JWT) and run again",
    });
  }
  return e;
}
