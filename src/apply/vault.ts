import { AUTHENTICATION_CONFIG_PATH } from "../catalog/api-server-auth.js";
import { clusterBackups } from "../catalog/backups.js";
import { type VaultTarget, vaultOptions } from "../plan/vault.js";
import { waitUntil } from "../providers/kubernetes/readiness.js";
import { asVaultUserError, type VaultAccess } from "../providers/vault/access.js";
import {
  convergeVault,
  MANAGER_POLICY,
  VaultUnreachableError,
  vaultHealth,
} from "../providers/vault/index.js";
import { type ApiServerTrustWriter, issuedAuthentication } from "./api-server-trust.js";
import { drillCanaryHash } from "./drill-vault.js";
import type { AfterReady } from "./executor.js";

/**
 * Vault's lifecycle and convergence, run by the executor once the `vault` component is ready.
 * Where the platform database is backed up, also the restore drill's canary (`onCanary` gets its
 * hash, for state).
 */
export function vaultAfterReady(
  session: VaultTarget,
  access: VaultAccess,
  maxWaitMs?: number,
  onCanary?: (hash: string) => void,
  writeApiServerTrust?: ApiServerTrustWriter,
): AfterReady {
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
        ...vaultOptions(session, access),
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
      // provider "vault": the API server trusts the client id Vault has just issued (README "SSO").
      const authentication = writeApiServerTrust && (await issuedAuthentication(session.env, access.client));
      if (authentication && (await writeApiServerTrust(authentication))) {
        extra.push({ action: "update", kind: "K3sAuthentication", name: AUTHENTICATION_CONFIG_PATH });
      }
      for (const e of extra) report.applied(e);
      if (onCanary && clusterBackups(session.env)) {
        onCanary(await drillCanaryHash(access));
      }
      return applied + extra.length;
    },
  };
}
