/**
 * plinth's own recovery material in the backup bucket, beside the databases it restores: the
 * cluster's Vault unseal file (already encrypted with PLINTH_VAULT_PASSPHRASE: its bytes are
 * copied as they are) and, where OpenBao unseals itself from a static key, that key, encrypted
 * the same way before it leaves this machine. Never plaintext in the bucket, and never the
 * passphrase: the team keeps it in its password manager. Copied after every apply, written only
 * when it changed.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { clusterBackups } from "../catalog/backups.js";
import { UNSEAL_KEY_SECRET, vaultService } from "../catalog/components/vault.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { readSecretValues } from "../providers/kubernetes/secrets.js";
import type { VaultAccess } from "../providers/vault/access.js";
import { unsealSealer } from "../providers/vault/unseal-file.js";
import { BackupStore, backupStoreOptions } from "../state/backup-catalog.js";
import type { CommandContext } from "./command.js";
import type { Session } from "./session.js";

/** Where a cluster's material goes under its backup folder (the primary environment's). */
export const unsealCopyKey = (cluster: string): string => `vault/${cluster}.unseal.enc`;

/**
 * The static key's copy is named by a fingerprint of the key (sha256 over a fixed label and the
 * key, 16 hex digits): a changed key gets a new object, an unchanged one is found without
 * decrypting anything. It tells nothing about a 256-bit random key.
 */
export function staticKeyCopyKey(cluster: string, key: string): string {
  const id = createHash("sha256").update(`plinth static seal key\n${key}`).digest("hex").slice(0, 16);
  return `vault/${cluster}.static-seal-key.${id}.enc`;
}

export interface RecoveryCopyOptions {
  env: ResolvedEnvironment;
  /** The cluster's unseal file (`.plinth/vault/<cluster>.unseal.enc`). */
  unsealFile: string;
  /** The variables the backup token is read from (the process environment). */
  variables: Readonly<Record<string, string | undefined>>;
  /** OpenBao `static`: reads the key Secret's value from the cluster (absent: no static key). */
  readStaticKey?: () => Promise<string | undefined>;
  passphrase?: string;
  /** Vault's address, recorded (authenticated) in the encrypted copy's header. */
  address: string;
}

/** One line per object: what was done, or why nothing was. Never a key or token. */
export async function copyRecoveryMaterial(o: RecoveryCopyOptions): Promise<string[]> {
  const b = clusterBackups(o.env);
  if (!b) return [];
  const options = backupStoreOptions(b, o.variables);
  if (options.missing) {
    return [
      `${options.missing.join(" and ")} not set: Vault's recovery material was not copied to the backup bucket`,
    ];
  }
  const cluster = o.env.cluster.name;
  const store = new BackupStore(options.options);
  const at = (key: string) => `s3://${b.bucket}/${b.prefix}/${key}`;
  const lines: string[] = [];
  try {
    if (existsSync(o.unsealFile)) {
      const done = await store.putIfChanged(unsealCopyKey(cluster), readFileSync(o.unsealFile));
      lines.push(`unseal file ${o.unsealFile} → ${at(unsealCopyKey(cluster))}: ${done}`);
    } else {
      lines.push(
        `no unseal file at ${o.unsealFile} on this machine: nothing of it copied (apply from where Vault was initialized)`,
      );
    }
    if (o.readStaticKey) {
      const key = await o.readStaticKey();
      if (!key) {
        lines.push("OpenBao's static seal key Secret is not in the cluster yet: not copied");
      } else if (!o.passphrase) {
        lines.push(
          "PLINTH_VAULT_PASSPHRASE is not set: OpenBao's static seal key was not copied (it is never stored unencrypted)",
        );
      } else {
        const name = staticKeyCopyKey(cluster, key);
        if (await store.exists(name)) {
          lines.push(`OpenBao's static seal key → ${at(name)}: unchanged`);
        } else {
          const seal = await unsealSealer({ passphrase: o.passphrase, cluster, address: o.address });
          await store.putIfChanged(
            name,
            Buffer.from(seal({ keys: [], threshold: 0, shares: 0, staticSealKey: key }), "utf8"),
          );
          lines.push(
            `OpenBao's static seal key, encrypted with PLINTH_VAULT_PASSPHRASE → ${at(name)}: created`,
          );
        }
      }
    }
  } finally {
    store.close();
  }
  return lines;
}

/**
 * After an apply (or a secrets sync) with Vault: its unseal file (and OpenBao's static key) into the backup bucket
 * where the cluster has backups. The apply itself has succeeded, so a failure here is a warning
 * saying what was not copied, not a failed apply.
 */
export async function copyVaultRecovery(
  session: Session,
  ctx: CommandContext,
  vault: VaultAccess,
): Promise<void> {
  const env = session.env;
  const isStatic = env.vaultEngine === "openbao" && env.vaultUnseal === "static";
  try {
    const lines = await copyRecoveryMaterial({
      env,
      unsealFile: vault.lifecycle.unsealFile,
      variables: ctx.env,
      address: vault.client.address,
      ...(vault.lifecycle.passphrase ? { passphrase: vault.lifecycle.passphrase } : {}),
      ...(isStatic ? { readStaticKey: () => readStaticSealKey(session) } : {}),
    });
    for (const line of lines) ctx.stderr(`backup: ${line}\n`);
  } catch (e) {
    ctx.stderr(
      `warning: Vault's recovery material was not copied to the backup bucket: ${e instanceof Error ? e.message : String(e)}\n`,
    );
  }
}

async function readStaticSealKey(session: Session): Promise<string | undefined> {
  const values = await readSecretValues(session.kube, vaultService(session.env).namespace, UNSEAL_KEY_SECRET);
  return values?.key || undefined;
}
