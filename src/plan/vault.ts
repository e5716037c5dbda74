import type { ResolvedEnvironment } from "../model/types.js";
import type { KubernetesProvider } from "../providers/kubernetes/provider.js";
import { readSecretValues } from "../providers/kubernetes/secrets.js";
import type { ProviderContext } from "../providers/types.js";
import { asVaultUserError, type VaultAccess } from "../providers/vault/access.js";
import {
  DEFAULT_LAYOUT,
  inspectVault,
  MANAGER_POLICY,
  usesVault,
  type VaultChange,
  VaultUnreachableError,
} from "../providers/vault/index.js";
import { planChange } from "./change.js";
import { changesMoved } from "./moved.js";
import { type Change, finishPlan, type Plan } from "./plan.js";

/** What Vault's planning needs of an environment: its resolved model, its cluster, ownership marks. */
export interface VaultTarget {
  env: ResolvedEnvironment;
  kube: KubernetesProvider;
  pctx: ProviderContext;
}

/**
 * Vault as a step of `plan` and `apply`: its configuration and secrets are changes of the `vault`
 * component, planned when Vault can be read and carried out once the component is ready (on a
 * first apply Vault does not exist at plan time, so the plan says what apply will do instead).
 */
export function vaultOptions(session: VaultTarget, access: VaultAccess) {
  return {
    client: access.client,
    env: session.env,
    ctx: session.pctx,
    lifecycle: access.lifecycle,
    layout: DEFAULT_LAYOUT,
    kubernetes: access.kubernetes,
    ...(access.reviewerJwt ? { reviewerJwt: access.reviewerJwt } : {}),
    kubeSecret: (namespace: string, name: string) => readSecretValues(session.kube, namespace, name),
  };
}

/** A Vault change as a plan holds it; an audit device OpenBao takes only from its config says so. */
function toChange(c: VaultChange): Change {
  return planChange(
    c,
    c.spec?.kind === "audit" && c.spec.declared
      ? { detail: "declared in the server config (OpenBao refuses audit devices through its API)" }
      : {},
  );
}

const server = (address: string, action: Change["action"], detail: string): Change => ({
  action,
  provider: "vault",
  kind: "VaultServer",
  name: address,
  detail,
});

/** What Vault holds against what the environment wants: started beside the cluster's plan. */
export function inspectForPlan(session: VaultTarget, access: VaultAccess): ReturnType<typeof inspectVault> {
  const inspection = inspectVault(vaultOptions(session, access));
  inspection.catch(() => {}); // awaited (and its error handled) by withVault
  return inspection;
}

/** The Vault changes of a live plan, under the `vault` component (nothing for other environments). */
export async function withVault(
  plan: Plan,
  session: VaultTarget,
  access: VaultAccess,
  inspection = inspectForPlan(session, access),
): Promise<Plan> {
  const component = plan.phases.flatMap((p) => p.components).find((c) => c.id === "vault");
  if (!component || !usesVault(session.env)) return plan;
  const firstRun = component.changes.some((c) => c.kind === "HelmChart" && c.action === "create");
  component.changes.push(...(await vaultChanges(access, inspection, firstRun)));
  return finishPlan({
    env: plan.env,
    cluster: plan.cluster,
    offline: plan.offline,
    phases: plan.phases,
    ...(plan.partial ? { partial: plan.partial } : {}),
  });
}

/** What Vault would change (or why it cannot be planned yet), as plan changes. */
async function vaultChanges(
  access: VaultAccess,
  inspection: ReturnType<typeof inspectVault>,
  firstRun: boolean,
): Promise<Change[]> {
  const address = access.client.address;
  try {
    const seen = await inspection;
    if (seen.ready) {
      return [
        ...(seen.tokenChange
          ? [
              {
                action: seen.tokenChange,
                provider: "vault" as const,
                kind: "VaultToken",
                name: MANAGER_POLICY,
                detail: "plinth's own token, made with the root token from the unseal file",
              },
            ]
          : []),
        ...seen.changes.map(toChange),
      ];
    }
    if (seen.health.health === "uninitialized") {
      return [
        server(address, "create", "not initialized: apply initializes it, unseals it and configures it"),
      ];
    }
    if (seen.health.health === "sealed") {
      return [server(address, "update", "sealed: apply unseals it from the unseal file, then configures it")];
    }
    return [server(address, "no-op", `answers ${seen.health.status}: not planned`)];
  } catch (e) {
    if (!(e instanceof VaultUnreachableError)) throw asVaultUserError(e);
    return [
      firstRun
        ? server(
            address,
            "create",
            "not reachable yet: apply initializes, unseals and configures it once the vault component is ready",
          )
        : server(address, "no-op", `not reachable (${e.message}): apply configures it once it is`),
    ];
  }
}

/**
 * A saved plan's Vault changes against what Vault (and the config) would change now: apply
 * carries out Vault's convergence as planned only if nothing moved. Returns what moved.
 */
export async function vaultMovedSince(
  plan: Plan,
  session: VaultTarget,
  access: VaultAccess,
): Promise<string[]> {
  const component = plan.phases.flatMap((p) => p.components).find((c) => c.id === "vault");
  const saved = component?.changes.filter((c) => c.provider === "vault") ?? [];
  if (!component || saved.length === 0 || !usesVault(session.env)) return [];
  const firstRun = component.changes.some((c) => c.kind === "HelmChart" && c.action === "create");
  return changesMoved(saved, await vaultChanges(access, inspectForPlan(session, access), firstRun));
}
