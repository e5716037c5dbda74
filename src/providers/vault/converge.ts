import type { ResolvedEnvironment } from "../../model/types.js";
import type { ProviderContext } from "../types.js";
import type { VaultClient } from "./client.js";
import { DEFAULT_LAYOUT, type VaultLayout } from "./layout.js";
import {
  ensureVaultReady,
  type LifecycleOptions,
  type LifecycleResult,
  rootTokenFromFile,
} from "./lifecycle.js";
import { type VaultChange, VaultProvider } from "./provider.js";
import { desiredVault, IN_CLUSTER, type KubernetesAuthTarget } from "./resources.js";

export interface ConvergeOptions {
  client: VaultClient;
  env: ResolvedEnvironment;
  ctx: ProviderContext;
  lifecycle: LifecycleOptions;
  layout?: VaultLayout;
  kubernetes?: KubernetesAuthTarget;
  /** Vault's TokenReview credential when it runs outside the cluster. */
  reviewerJwt?: string;
  /** false: plan only (Vault is still initialized/unsealed: nothing can be read from a sealed one). */
  apply: boolean;
  /** Called after each change is carried out (for progress output and the journal). */
  onApplied?: (change: VaultChange) => void;
}

export interface ConvergeResult {
  /** Lifecycle without the root token: safe to print and journal. */
  lifecycle: Omit<LifecycleResult, "rootToken">;
  changes: VaultChange[];
}

/**
 * One run for one environment: Vault initialized and unsealed, then its configuration and this
 * environment's secrets planned and (with `apply`) converged, in order. The token is the client's
 * own (VAULT_TOKEN, scoped), else the root token plinth just received from init, else the one in
 * the unseal file (bootstrap only; needs the passphrase).
 */
export async function convergeVault(o: ConvergeOptions): Promise<ConvergeResult> {
  const { rootToken, ...lifecycle } = await ensureVaultReady(o.client, o.lifecycle);
  let client = o.client;
  if (!client.hasToken())
    client = client.withToken(rootToken ?? (await rootTokenFromFile(client, o.lifecycle)));
  const provider = new VaultProvider({
    client,
    env: o.env,
    layout: o.layout ?? DEFAULT_LAYOUT,
    ...(o.reviewerJwt ? { reviewerJwt: o.reviewerJwt } : {}),
  });
  const changes = await provider.plan(
    desiredVault(o.env, o.layout ?? DEFAULT_LAYOUT, o.kubernetes ?? IN_CLUSTER),
    o.ctx,
  );
  if (o.apply) {
    for (const change of changes) {
      if (change.action === "no-op") continue;
      await provider.apply(change, o.ctx);
      o.onApplied?.(change);
    }
  }
  return { lifecycle, changes };
}
