import { createCipheriv, createDecipheriv, randomBytes, type ScryptOptions, scrypt } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { UserError } from "../../diagnostics/diagnostic.js";

/**
 * The unseal keys and root token of one cluster's Vault, encrypted to the operator with a key
 * derived from a passphrase (scrypt, then AES-256-GCM). The file lives with the user
 * (`.plinth/vault/<cluster>.unseal.enc`, mode 0600), never in the cluster or in plinth's state.
 */
export interface UnsealMaterial {
  /** Unseal key shares, base64 as Vault returns them in `keys_base64`. */
  keys: string[];
  threshold: number;
  shares: number;
  /** `keys` are recovery keys (an auto-unseal Vault): they make root tokens, they do not unseal. */
  recovery?: boolean;
  /** For recovery and to (re)make plinth's own token only; never used on routine runs. */
  rootToken?: string;
  /** plinth's own periodic token, limited to what plinth manages (see token.ts). */
  token?: string;
  /** sha256 of the policy that token was made with: a newer plinth needing more re-creates it. */
  policyHash?: string;
}

const FORMAT = "plinth-vault-unseal/v1";
/** scrypt cost: N=2^17, r=8, p=1 (128 MiB, OWASP's recommendation for interactive use). */
const KDF = { N: 2 ** 17, r: 8, p: 1 } as const;
export const MIN_PASSPHRASE_LENGTH = 12;

interface Envelope {
  format: typeof FORMAT;
  cluster: string;
  address: string;
  createdAt: string;
  kdf: { name: "scrypt"; N: number; r: number; p: number; salt: string };
  cipher: "aes-256-gcm";
  iv: string;
  tag: string;
  ciphertext: string;
}

/** Where plinth keeps a cluster's unseal file, relative to the config's folder. */
export function unsealFilePath(configDir: string, cluster: string): string {
  return join(configDir, ".plinth", "vault", `${cluster}.unseal.enc`);
}

function deriveKey(
  passphrase: string,
  salt: Buffer,
  kdf: { N: number; r: number; p: number },
): Promise<Buffer> {
  const options: ScryptOptions = { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize("NFC"), salt, 32, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** What the GCM tag also authenticates: every header field, so none can be swapped. */
function aad(e: Omit<Envelope, "iv" | "tag" | "ciphertext">): Buffer {
  return Buffer.from(JSON.stringify([e.format, e.cluster, e.address, e.createdAt, e.kdf, e.cipher]));
}

export function passphraseError(variable: string, why: "missing" | "short"): UserError {
  return new UserError({
    severity: "error",
    path: variable,
    message:
      why === "missing"
        ? "is not set: plinth needs the passphrase that encrypts this Vault's unseal keys"
        : `is shorter than ${MIN_PASSPHRASE_LENGTH} characters`,
    fix: `export ${variable}='<a long passphrase you keep in your password manager>' and run again`,
  });
}

/**
 * Encrypts and writes the material: to a temporary file in the same folder (mode 0600), then
 * renamed over the target, so a crash never leaves half a file. Refuses to replace an existing one
 * unless `replace` (plinth updating its own token in the file it wrote).
 */
export async function writeUnsealFile(
  file: string,
  material: UnsealMaterial,
  o: { passphrase: string; cluster: string; address: string; now?: Date; replace?: boolean },
): Promise<void> {
  if (o.passphrase.length < MIN_PASSPHRASE_LENGTH) throw passphraseError("PLINTH_VAULT_PASSPHRASE", "short");
  if (existsSync(file) && !o.replace) throw new Error(`refusing to replace the existing unseal file ${file}`);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const header = {
    format: FORMAT as typeof FORMAT,
    cluster: o.cluster,
    address: o.address,
    createdAt: (o.now ?? new Date()).toISOString(),
    kdf: { name: "scrypt" as const, ...KDF, salt: salt.toString("base64") },
    cipher: "aes-256-gcm" as const,
  };
  const key = await deriveKey(o.passphrase, salt, KDF);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad(header));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(material), "utf8"), cipher.final()]);
  const envelope: Envelope = {
    ...header,
    iv: iv.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
    ciphertext: ciphertext.toString("base64"),
  };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(envelope, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Decrypts the file; every failure is the user's to fix, and the message says how. */
export async function readUnsealFile(
  file: string,
  o: { passphrase: string | undefined; cluster: string; address: string; why?: string },
): Promise<UnsealMaterial> {
  if (!existsSync(file)) {
    throw new UserError({
      severity: "error",
      path: file,
      message: `Vault at ${o.address} ${o.why ?? "is sealed"}, and the unseal keys file for cluster "${o.cluster}" does not exist`,
      fix: `restore ${file} from your backup (plinth wrote it when it initialized this Vault); or unseal by hand with a quorum of the key shares (bao operator unseal / vault operator unseal), then run again`,
    });
  }
  if (!o.passphrase) throw passphraseError("PLINTH_VAULT_PASSPHRASE", "missing");
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new UserError({
      severity: "error",
      path: file,
      message: `is readable by other users (mode ${mode.toString(8)}): it holds this Vault's unseal keys`,
      fix: `chmod 600 ${file}`,
    });
  }
  let envelope: Envelope;
  try {
    envelope = JSON.parse(readFileSync(file, "utf8")) as Envelope;
    if (envelope.format !== FORMAT) throw new Error("format");
  } catch {
    throw new UserError({
      severity: "error",
      path: file,
      message: `is not a plinth unseal file (${FORMAT})`,
      fix: "restore the file from your backup",
    });
  }
  if (envelope.cluster !== o.cluster) {
    throw new UserError({
      severity: "error",
      path: file,
      message: `holds the unseal keys of cluster "${envelope.cluster}", not "${o.cluster}"`,
      fix: `put cluster ${o.cluster}'s unseal file at ${file}`,
    });
  }
  const { iv, tag, ciphertext, ...header } = envelope;
  try {
    const key = await deriveKey(o.passphrase, Buffer.from(envelope.kdf.salt, "base64"), envelope.kdf);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64"));
    decipher.setAAD(aad(header));
    decipher.setAuthTag(Buffer.from(tag, "base64"));
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64")), decipher.final()]);
    return JSON.parse(plain.toString("utf8")) as UnsealMaterial;
  } catch {
    throw new UserError({
      severity: "error",
      path: "PLINTH_VAULT_PASSPHRASE",
      message: `does not decrypt ${file}: the passphrase is wrong or the file was altered`,
      fix: "set PLINTH_VAULT_PASSPHRASE to the passphrase used when plinth initialized this Vault, or restore the file from your backup",
    });
  }
}
