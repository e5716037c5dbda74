import type { AfterReady } from "../apply/executor.js";
import { type Change, changesMoved, finishPlan, type Plan } from "../plan/plan.js";
import { waitUntil } from "../providers/kubernetes/readiness.js";
import { readSecretValues } from "../providers/kubernetes/secrets.js";
import {
  convergeVault,
  DEFAULT_LAYOUT,
  inspectVault,
  MANAGER_POLICY,
  usesVault,
  type VaultChange,
  VaultUnreachableError,
  vaultHealth,
} from "../providers/vault/index.js";
import type { Session } from "./session.js";
import { asVaultUserError, type VaultAccess } from "./vault-access.js";

/**
 * Vault as a step of `plan` and `apply`: its configuration and secrets are changes of the `vault`
 * component, planned when Vault can be read and carried out once the component is ready (on a
 * first apply Vault does not exist at plan time, so the plan says what apply will do instead).
 */
function options(session: Session, access: VaultAccess) {
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

function toChange(c: VaultChange): Change {
  return {
    action: c.action,
    provider: "vault",
    id: c.id,
    kind: c.kind,
    name: c.name,
    ...(c.diff.length ? { diff: c.diff } : {}),
    ...(c.spec ? { spec: c.spec } : {}),
    ...(c.spec?.kind === "audit" && c.spec.declared
      ? { detail: "declared in the server config (OpenBao refuses audit devices through its API)" }
      : {}),
    ...(c.liveVersion ? { liveVersion: c.liveVersion } : {}),
  };
}

const server = (address: string, action: Change["action"], detail: string): Change => ({
  action,
  provider: "vault",
  kind: "VaultServer",
  name: address,
  detail,
});

/** What Vault holds against what the environment wants: started beside the cluster's plan. */
export function inspectForPlan(session: Session, access: VaultAccess): ReturnType<typeof inspectVault> {
  const inspection = inspectVault(options(session, access));
  inspection.catch(() => {}); // awaited (and its error handled) by withVault
  return inspection;
}

/** The Vault changes of a live plan, under the `vault` component (nothing for other environments). */
export async function withVault(
  plan: Plan,
  session: Session,
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
export async function vaultMovedSince(plan: Plan, session: Session, access: VaultAccess): Promise<string[]> {
  const component = plan.phases.flatMap((p) => p.components).find((c) => c.id === "vault");
  const saved = component?.changes.filter((c) => c.provider === "vault") ?? [];
  if (!component || saved.length === 0 || !usesVault(session.env)) return [];
  const firstRun = component.changes.some((c) => c.kind === "HelmChart" && c.action === "create");
  return changesMoved(saved, await vaultChanges(access, inspectForPlan(session, access), firstRun));
}

/** Vault's lifecycle and convergence, run by the executor once the `vault` component is ready. */
export function vaultAfterReady(session: Session, access: VaultAccess, maxWaitMs?: number): AfterReady {
  return {
    skippedWithoutWait: `Vault not configured (--no-wait): run plinth apply ${session.env.name} without --no-wait`,
    async run(report) {
      const address = access.client.address;
      await waitUntil(
        {
          object: { apiVersion: "v1", kind: "Vault", name: address },
          condition: "reachable",
          timeoutMs: Math.min(5 * 60_000, maxWaitMs ?? Infinity),
          probe: async () => {
            try {
              const h = await vaultHealth(access.client);
              return { ready: true, status: h.health };
            } catch (e) {
              if (!(e instanceof VaultUnreachableError)) throw e;
              return { ready: false, status: e.message };
            }
          },
        },
        { onStatus: (s) => report.waiting(`Vault at ${address}: ${s}`) },
      );
      let applied = 0;
      const result = await convergeVault({
        ...options(session, access),
        apply: true,
        onApplied: (c) => {
          applied++;
          report.applied({ action: c.action, kind: c.kind, name: c.name });
        },
      }).catch((e: unknown) => {
        throw asVaultUserError(e);
      });
      const l = result.lifecycle;
      const extra = [
        ...(l.initialized
          ? [{ action: "create" as const, kind: "VaultServer", name: `${address} (initialized)` }]
          : []),
        ...(l.unsealed
          ? [{ action: "update" as const, kind: "VaultServer", name: `${address} (unsealed)` }]
          : []),
        ...(result.tokenChange
          ? [{ action: result.tokenChange, kind: "VaultToken", name: MANAGER_POLICY }]
          : []),
      ];
      for (const e of extra) report.applied(e);
      return applied + extra.length;
    },
  };
}
