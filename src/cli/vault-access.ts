import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { VaultAccess } from "../providers/vault/access.js";
import {
  IN_CLUSTER,
  type KubernetesAuthTarget,
  type LifecycleOptions,
  unsealFilePath,
  usesVault,
  VaultClient,
} from "../providers/vault/index.js";
import type { CommandContext, ParsedArgs } from "./command.js";

export { asVaultUserError, type VaultAccess } from "../providers/vault/access.js";

import type { Session } from "./session.js";

/** An empty variable counts as unset, so a caller can switch an inherited one off. */
const set = (v: string | undefined): string | undefined => (v ? v : undefined);

/**
 * `--vault-addr`, else VAULT_ADDR, else the environment's own Vault host; a given address must
 * pass {@link checkVaultAddress}.
 */
export function vaultAddress(
  args: ParsedArgs,
  ctx: CommandContext,
  env: ResolvedEnvironment,
): string | undefined {
  const flag = set(typeof args.values["vault-addr"] === "string" ? args.values["vault-addr"] : undefined);
  if (flag) return checkVaultAddress(flag, "--vault-addr");
  const variable = set(ctx.env.VAULT_ADDR);
  if (variable) return checkVaultAddress(variable, "VAULT_ADDR");
  const host = env.hosts.vault?.host;
  return host ? `https://${host}` : undefined;
}

/** 127.0.0.0/8, ::1 and localhost: traffic to them never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The address plinth sends Vault tokens, unseal keys and secret values to: https, or plain http
 * only to a loopback host (a port-forward, a local test server), where nothing crosses a network.
 * Returns the address unchanged.
 */
export function checkVaultAddress(address: string, source: "--vault-addr" | "VAULT_ADDR"): string {
  const refuse = (message: string) =>
    new UserError({
      severity: "error",
      path: source,
      message,
      fix: `use an https:// address, or reach Vault through a port-forward to localhost (kubectl port-forward … 8200, then ${source === "VAULT_ADDR" ? "VAULT_ADDR=" : "--vault-addr "}http://127.0.0.1:8200)`,
    });
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw refuse(`"${address}" is not a URL`);
  }
  if (url.protocol === "https:") return address;
  if (url.protocol !== "http:") throw refuse(`${url.protocol}// is not an address plinth can reach Vault at`);
  if (isLoopbackHost(url.hostname)) return address;
  throw refuse(
    `${address} is plain http to ${url.hostname}, not a loopback host: tokens, unseal keys and secret values would cross the network unencrypted`,
  );
}

export function vaultAccess(
  args: ParsedArgs,
  ctx: CommandContext,
  env: ResolvedEnvironment,
  configDir: string,
  extra: Pick<LifecycleOptions, "shares" | "threshold"> = {},
): VaultAccess {
  const address = vaultAddress(args, ctx, env);
  if (!address) {
    throw new UserError({
      severity: "error",
      path: "VAULT_ADDR",
      message: `no Vault address for ${env.name}`,
      fix: "set VAULT_ADDR or pass --vault-addr https://…",
    });
  }
  const token = set(ctx.env.VAULT_TOKEN);
  const passphrase = set(ctx.env.PLINTH_VAULT_PASSPHRASE);
  const reviewerJwt = set(ctx.env.PLINTH_VAULT_REVIEWER_JWT);
  return {
    client: new VaultClient({ address, ...(token ? { token } : {}) }),
    lifecycle: {
      cluster: env.cluster.name,
      unsealFile: unsealFilePath(configDir, env.cluster.name),
      ...(passphrase ? { passphrase } : {}),
      ...extra,
    },
    kubernetes: kubernetesTarget(ctx.env),
    ...(reviewerJwt ? { reviewerJwt } : {}),
  };
}

/** For `plan` and `apply`: the environment's Vault access, or undefined when it has no Vault. */
export function sessionVaultAccess(
  session: Session,
  args: ParsedArgs,
  ctx: CommandContext,
): VaultAccess | undefined {
  if (!usesVault(session.env)) return undefined;
  return vaultAccess(args, ctx, session.env, dirname(session.loaded.file));
}

function kubernetesTarget(env: Record<string, string | undefined>): KubernetesAuthTarget {
  // A Vault outside the cluster (a test bed, a Vault on another host) reaches the API server itself.
  const host = set(env.PLINTH_VAULT_KUBE_HOST);
  if (!host) return IN_CLUSTER;
  const caFile = set(env.PLINTH_VAULT_KUBE_CA_FILE);
  return { host, useLocalToken: false, ...(caFile ? { caCert: readFileSync(caFile, "utf8") } : {}) };
}
