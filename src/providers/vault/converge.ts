import { DEFAULT_LAYOUT, type VaultLayout } from "../../catalog/vault-layout.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import type { ProviderContext } from "../types.js";
import type { VaultClient } from "./client.js";
import {
  ensureVaultReady,
  type HealthReport,
  type LifecycleOptions,
  type LifecycleResult,
  vaultHealth,
} from "./lifecycle.js";
import { type KubeSecretReader, type VaultChange, VaultProvider } from "./provider.js";
import { type DatabaseTarget, desiredVault, IN_CLUSTER, type KubernetesAuthTarget } from "./resources.js";
import { authenticate } from "./token.js";

export interface ConvergeOptions {
  client: VaultClient;
  env: ResolvedEnvironment;
  ctx: ProviderContext;
  lifecycle: LifecycleOptions;
  layout?: VaultLayout;
  kubernetes?: KubernetesAuthTarget;
  /** Vault's TokenReview credential when it runs outside the cluster. */
  reviewerJwt?: string;
  /** Reads the phase-0 Kubernetes Secrets that are copied into KV once Vault is up. */
  kubeSecret?: KubeSecretReader;
  /** Where Vault reaches the business PostgreSQL (default: its in-cluster service). */
  database?: DatabaseTarget;
  /** Where browsers reach Vault, for `sso: { provider: "vault" }`'s issuer (default `https://<vault host>`). */
  oidcIssuer?: string;
  /** false: plan only (Vault is still initialized/unsealed: nothing can be read from a sealed one). */
  apply: boolean;
  /** Called after each change is carried out (for progress output and the journal). */
  onApplied?: (change: VaultChange) => void;
}

export interface ConvergeResult {
  /** Lifecycle without the root token: safe to print and journal. */
  lifecycle: Omit<LifecycleResult, "rootToken">;
  /** plinth's own token: made ("create") or replaced ("update") in this run. */
  tokenChange?: "create" | "update";
  changes: VaultChange[];
}

function provider(client: VaultClient, o: Omit<ConvergeOptions, "client" | "apply">): VaultProvider {
  return new VaultProvider({
    client,
    env: o.env,
    layout: o.layout ?? DEFAULT_LAYOUT,
    ...(o.reviewerJwt ? { reviewerJwt: o.reviewerJwt } : {}),
    ...(o.kubeSecret ? { kubeSecret: o.kubeSecret } : {}),
  });
}

function desired(o: Omit<ConvergeOptions, "client" | "apply">) {
  return desiredVault(
    o.env,
    o.layout ?? DEFAULT_LAYOUT,
    o.kubernetes ?? IN_CLUSTER,
    o.database,
    o.oidcIssuer,
  );
}

/**
 * One run for one environment: Vault initialized and unsealed, plinth's own token in hand, then
 * Vault's configuration and this environment's secrets planned and (with `apply`) converged.
 */
export async function convergeVault(o: ConvergeOptions): Promise<ConvergeResult> {
  const { rootToken, ...lifecycle } = await ensureVaultReady(o.client, o.lifecycle);
  const auth = await authenticate(o.client, {
    lifecycle: o.lifecycle,
    layout: o.layout ?? DEFAULT_LAYOUT,
    ...(rootToken ? { rootToken } : {}),
    write: o.apply,
  });
  const p = provider(auth.client, o);
  const changes = await p.plan(desired(o), o.ctx);
  if (o.apply) {
    for (const change of changes) {
      if (change.action === "no-op") continue;
      await p.apply(change, o.ctx);
      o.onApplied?.(change);
    }
  }
  return { lifecycle, ...(auth.tokenChange ? { tokenChange: auth.tokenChange } : {}), changes };
}

export type Inspection =
  | { ready: true; health: HealthReport; tokenChange?: "create" | "update"; changes: VaultChange[] }
  | { ready: false; health: HealthReport };

/** A plan that changes nothing: an uninitialized or sealed Vault is reported, not touched. */
export async function inspectVault(o: Omit<ConvergeOptions, "apply" | "onApplied">): Promise<Inspection> {
  const health = await vaultHealth(o.client);
  if (health.health !== "active" && health.health !== "standby") return { ready: false, health };
  const auth = await authenticate(o.client, {
    lifecycle: o.lifecycle,
    layout: o.layout ?? DEFAULT_LAYOUT,
    write: false,
  });
  const changes = await provider(auth.client, o).plan(desired(o), o.ctx);
  return { ready: true, health, ...(auth.tokenChange ? { tokenChange: auth.tokenChange } : {}), changes };
}
