import { readFileSync } from "node:fs";
import { usesVault } from "../../catalog/vault-layout.js";
import { UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { VaultApiError, VaultClient, VaultUnreachableError } from "./client.js";
import type { LifecycleOptions } from "./lifecycle.js";
import { IN_CLUSTER, type KubernetesAuthTarget } from "./resources.js";
import { unsealFilePath } from "./unseal-file.js";

/**
 * Where plinth reaches an environment's Vault and with which credentials, built by
 * {@link vaultAccess} from what the caller passes (the CLI: its flag and variables; `plinth
 * github`: its job's variables) and shared by `plinth secrets`, `plan` and `apply`.
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

/** An empty variable counts as unset, so a caller can switch an inherited one off. */
const set = (v: string | undefined): string | undefined => (v ? v : undefined);

/**
 * Where an environment's Vault access comes from, as plain values: the CLI passes its flag and the
 * process's variables, `plinth github` the variables its job was given.
 */
export interface VaultAccessSource {
  /**
   * VAULT_ADDR, VAULT_TOKEN, PLINTH_VAULT_PASSPHRASE, and for a Vault outside the cluster
   * PLINTH_VAULT_KUBE_HOST, PLINTH_VAULT_KUBE_CA_FILE, PLINTH_VAULT_REVIEWER_JWT.
   */
  variables: Readonly<Record<string, string | undefined>>;
  /** An address given on the command line (`--vault-addr`): it comes before VAULT_ADDR. */
  addressFlag?: string;
  /** The config file's folder: the unseal file is `.plinth/vault/<cluster>.unseal.enc` under it. */
  configDir: string;
}

/**
 * `--vault-addr`, else VAULT_ADDR, else the environment's own Vault host; a given address must
 * pass {@link checkVaultAddress}.
 */
export function vaultAddress(
  env: ResolvedEnvironment,
  source: Pick<VaultAccessSource, "variables" | "addressFlag">,
): string | undefined {
  const flag = set(source.addressFlag);
  if (flag) return checkVaultAddress(flag, "--vault-addr");
  const variable = set(source.variables.VAULT_ADDR);
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

/** The environment's Vault, reached at {@link vaultAddress} with the credentials the variables hold. */
export function vaultAccess(
  env: ResolvedEnvironment,
  source: VaultAccessSource,
  extra: Pick<LifecycleOptions, "shares" | "threshold"> = {},
): VaultAccess {
  const address = vaultAddress(env, source);
  if (!address) {
    throw new UserError({
      severity: "error",
      path: "VAULT_ADDR",
      message: `no Vault address for ${env.name}`,
      fix: "set VAULT_ADDR or pass --vault-addr https://…",
    });
  }
  const { variables } = source;
  const token = set(variables.VAULT_TOKEN);
  const passphrase = set(variables.PLINTH_VAULT_PASSPHRASE);
  const reviewerJwt = set(variables.PLINTH_VAULT_REVIEWER_JWT);
  return {
    client: new VaultClient({ address, ...(token ? { token } : {}) }),
    lifecycle: {
      cluster: env.cluster.name,
      unsealFile: unsealFilePath(source.configDir, env.cluster.name),
      ...(passphrase ? { passphrase } : {}),
      ...extra,
    },
    kubernetes: kubernetesTarget(variables),
    ...(reviewerJwt ? { reviewerJwt } : {}),
  };
}

/** For `plan` and `apply`: the environment's Vault access, or undefined when it has no Vault. */
export function environmentVaultAccess(
  env: ResolvedEnvironment,
  source: VaultAccessSource,
): VaultAccess | undefined {
  return usesVault(env) ? vaultAccess(env, source) : undefined;
}

function kubernetesTarget(variables: VaultAccessSource["variables"]): KubernetesAuthTarget {
  // A Vault outside the cluster (a test bed, a Vault on another host) reaches the API server itself.
  const host = set(variables.PLINTH_VAULT_KUBE_HOST);
  if (!host) return IN_CLUSTER;
  const caFile = set(variables.PLINTH_VAULT_KUBE_CA_FILE);
  return { host, useLocalToken: false, ...(caFile ? { caCert: readFileSync(caFile, "utf8") } : {}) };
}
