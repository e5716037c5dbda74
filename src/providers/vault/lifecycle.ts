import { existsSync } from "node:fs";
import { UserError } from "../../diagnostics/diagnostic.js";
import type { VaultClient } from "./client.js";
import {
  MIN_PASSPHRASE_LENGTH,
  passphraseError,
  proveWritable,
  readUnsealFile,
  unsealSealer,
  writeFileDurably,
} from "./unseal-file.js";

/** What `/v1/sys/health` says, by its status code (200 active, 429 standby, 501, 503). */
export type VaultHealth = "active" | "standby" | "uninitialized" | "sealed" | "other";

export interface HealthReport {
  health: VaultHealth;
  status: number;
  version?: string;
  sealed?: boolean;
  initialized?: boolean;
}

export async function vaultHealth(client: VaultClient): Promise<HealthReport> {
  // Default codes spelled out, so the answer does not depend on server defaults.
  const r = await client.request<{ initialized?: boolean; sealed?: boolean; version?: string }>(
    "GET",
    "sys/health?standbycode=429&sealedcode=503&uninitcode=501",
  );
  const health: VaultHealth =
    r.status === 200
      ? "active"
      : r.status === 429
        ? "standby"
        : r.status === 501
          ? "uninitialized"
          : r.status === 503
            ? "sealed"
            : "other";
  return {
    health,
    status: r.status,
    ...(r.body.version ? { version: r.body.version } : {}),
    ...(r.body.sealed === undefined ? {} : { sealed: r.body.sealed }),
    ...(r.body.initialized === undefined ? {} : { initialized: r.body.initialized }),
  };
}

export interface LifecycleOptions {
  cluster: string;
  /** The encrypted unseal file (`unsealFilePath(configDir, cluster)`). */
  unsealFile: string;
  /** Read by the CLI from PLINTH_VAULT_PASSPHRASE; only needed to initialize or unseal. */
  passphrase?: string;
  /** Key shares and how many unseal (defaults 5 and 3). */
  shares?: number;
  threshold?: number;
}

/** What `ensureVaultReady` did; never carries keys or tokens, safe to print and journal. */
export interface LifecycleResult {
  before: VaultHealth;
  after: VaultHealth;
  initialized: boolean;
  unsealed: boolean;
  /** Present only when plinth initialized Vault in this call: the root token, for bootstrap only. */
  rootToken?: string;
}

/**
 * Brings Vault to "initialized and unsealed": initializes an empty Vault (keys encrypted into the
 * unseal file before anything else), unseals a sealed one from that file. A standby is left alone
 * (it forwards to the active node). Every failure says what to do.
 */
export async function ensureVaultReady(client: VaultClient, o: LifecycleOptions): Promise<LifecycleResult> {
  const first = await vaultHealth(client);
  switch (first.health) {
    case "active":
    case "standby":
      return { before: first.health, after: first.health, initialized: false, unsealed: false };
    case "uninitialized": {
      const rootToken = await initialize(client, o);
      const after = await vaultHealth(client);
      if (after.health === "sealed") await unseal(client, o);
      const final = await vaultHealth(client);
      return { before: first.health, after: final.health, initialized: true, unsealed: true, rootToken };
    }
    case "sealed": {
      await unseal(client, o);
      const final = await vaultHealth(client);
      return { before: first.health, after: final.health, initialized: false, unsealed: true };
    }
    default:
      throw new UserError({
        severity: "error",
        path: `${client.address}/v1/sys/health`,
        message: `answered ${first.status}, which is not a state plinth can act on (200 active, 429 standby, 501 not initialized, 503 sealed)`,
        fix: "check that the address points at Vault or OpenBao, and its server log",
      });
  }
}

async function initialize(client: VaultClient, o: LifecycleOptions): Promise<string> {
  const shares = o.shares ?? 5;
  const threshold = o.threshold ?? 3;
  if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 1 || threshold > shares) {
    throw new UserError({
      severity: "error",
      path: "vault.unseal",
      message: `threshold ${threshold} of ${shares} shares is not possible`,
      fix: "use 1 <= threshold <= shares, e.g. 3 of 5",
    });
  }
  // Checked before init: once Vault hands out the keys they exist only in this process.
  if (!o.passphrase) throw passphraseError("PLINTH_VAULT_PASSPHRASE", "missing");
  if (o.passphrase.length < MIN_PASSPHRASE_LENGTH) throw passphraseError("PLINTH_VAULT_PASSPHRASE", "short");
  if (existsSync(o.unsealFile)) {
    throw new UserError({
      severity: "error",
      path: o.unsealFile,
      message: `Vault at ${client.address} is not initialized, but an unseal file for cluster "${o.cluster}" already exists (from an earlier Vault?)`,
      fix: `if that Vault is gone for good, move ${o.unsealFile} aside (keep a copy) and run again; if not, point plinth at the Vault it belongs to`,
    });
  }
  // Everything that can fail is done before init: once Vault hands out the keys they exist only
  // in this process, so only in-memory encryption and one durable write may follow.
  const seal = await unsealSealer({ passphrase: o.passphrase, cluster: o.cluster, address: client.address });
  proveWritable(o.unsealFile);
  // An auto-unseal (OpenBao's static key) unseals itself: init hands out recovery keys instead,
  // which is what generate-root then takes.
  const autoUnseal = (await sealType(client)) !== "shamir";
  const init = await client.call<{
    keys_base64: string[];
    recovery_keys_base64?: string[];
    root_token: string;
  }>(
    "PUT",
    "sys/init",
    autoUnseal
      ? { recovery_shares: shares, recovery_threshold: threshold }
      : { secret_shares: shares, secret_threshold: threshold },
  );
  const envelope = seal({
    keys: autoUnseal ? (init.recovery_keys_base64 ?? []) : init.keys_base64,
    threshold,
    shares,
    rootToken: init.root_token,
    ...(autoUnseal ? { recovery: true } : {}),
  });
  try {
    writeFileDurably(o.unsealFile, envelope, { replace: false });
  } catch (e) {
    throw new UnsealFileNotWritten(o.unsealFile, client.address, envelope, e);
  }
  return init.root_token;
}

export const ENVELOPE_BEGIN = "-----BEGIN PLINTH UNSEAL FILE-----";
export const ENVELOPE_END = "-----END PLINTH UNSEAL FILE-----";

/**
 * Vault is initialized but its unseal file could not be written after all (the disk filled, the
 * folder went away between the probe and the write). The keys then exist only here, so the error
 * carries the already-encrypted file for the operator to save: the CLI renders user errors on
 * stderr (also under --json), and the envelope is safe to show without the passphrase.
 */
export class UnsealFileNotWritten extends UserError {
  constructor(
    readonly file: string,
    address: string,
    /** The unseal file's whole text: encrypted, never the plaintext keys. */
    readonly envelope: string,
    cause: unknown,
  ) {
    super({
      severity: "error",
      path: file,
      message: [
        `Vault at ${address} is now initialized, but its unseal file could not be written (${cause instanceof Error ? cause.message : String(cause)}).`,
        "Its unseal keys and root token exist nowhere else than in the encrypted file below: save it NOW.",
        ENVELOPE_BEGIN,
        envelope.trimEnd(),
        ENVELOPE_END,
      ].join("\n"),
      fix: `save the lines between ${ENVELOPE_BEGIN} and ${ENVELOPE_END} exactly as ${file} (mode 0600: chmod 600 ${file}) and a copy in your password manager or offline store; PLINTH_VAULT_PASSPHRASE decrypts it, and with it in place the next plinth run unseals Vault`,
    });
    this.name = "UnsealFileNotWritten";
  }
}

async function sealType(client: VaultClient): Promise<string> {
  return (await client.call<{ type?: string }>("GET", "sys/seal-status")).type ?? "shamir";
}

async function unseal(client: VaultClient, o: LifecycleOptions): Promise<void> {
  const type = await sealType(client);
  if (type !== "shamir") {
    throw new UserError({
      severity: "error",
      path: `${client.address} (seal "${type}")`,
      message:
        "Vault is sealed although it unseals itself: its seal key is missing or not the one it was initialized with",
      fix: "check the vault-unseal-key Secret in the platform namespace and the server log (recovery keys cannot unseal an auto-unseal Vault)",
    });
  }
  const material = await readUnsealFile(o.unsealFile, {
    passphrase: o.passphrase,
    cluster: o.cluster,
    address: client.address,
  });
  // Start from a clean slate: a half-entered unseal by someone else would mix nonces.
  await client.request("PUT", "sys/unseal", { reset: true });
  for (const key of material.keys) {
    const r = await client.request<{ sealed?: boolean; errors?: string[] }>("PUT", "sys/unseal", { key });
    if (r.status >= 400) {
      throw new UserError({
        severity: "error",
        path: o.unsealFile,
        message: `Vault at ${client.address} refused an unseal key from this file (${r.status}): the file belongs to another Vault`,
        fix: `restore cluster ${o.cluster}'s own unseal file, or unseal by hand with its key shares`,
      });
    }
    if (r.body.sealed === false) return;
  }
  throw new UserError({
    severity: "error",
    path: o.unsealFile,
    message: `Vault at ${client.address} is still sealed after every key in this file`,
    fix: `restore cluster ${o.cluster}'s own unseal file, or unseal by hand with its key shares`,
  });
}
