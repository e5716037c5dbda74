import { createCipheriv, createDecipheriv, randomBytes, type ScryptOptions, scrypt } from "node:crypto";
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
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
  /**
   * OpenBao's static seal key (hex), in the encrypted copy plinth puts in the backup bucket
   * (no `keys`: that file only restores the key Secret, see cli/recovery-copy.ts).
   */
  staticSealKey?: string;
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
 * Encrypts and writes the material durably (see `writeFileDurably`). Refuses to replace an
 * existing file unless `replace` (plinth updating its own token in the file it wrote).
 */
export async function writeUnsealFile(
  file: string,
  material: UnsealMaterial,
  o: { passphrase: string; cluster: string; address: string; now?: Date; replace?: boolean },
): Promise<void> {
  const seal = await unsealSealer(o);
  writeFileDurably(file, seal(material), { replace: o.replace ?? false });
}

/** Turns material into the unseal file's text; never fails, and needs no I/O. */
export type Sealer = (material: UnsealMaterial) => string;

/**
 * Derives the key (the slow, memory-hungry scrypt step) ahead of time, so that when Vault hands
 * out its keys nothing that can fail stands between them and their encrypted form.
 */
export async function unsealSealer(o: {
  passphrase: string;
  cluster: string;
  address: string;
  now?: Date;
}): Promise<Sealer> {
  if (o.passphrase.length < MIN_PASSPHRASE_LENGTH) throw passphraseError("PLINTH_VAULT_PASSPHRASE", "short");
  const salt = randomBytes(16);
  const header = {
    format: FORMAT as typeof FORMAT,
    cluster: o.cluster,
    address: o.address,
    createdAt: (o.now ?? new Date()).toISOString(),
    kdf: { name: "scrypt" as const, ...KDF, salt: salt.toString("base64") },
    cipher: "aes-256-gcm" as const,
  };
  const key = await deriveKey(o.passphrase, salt, KDF);
  return (material) => {
    // A fresh nonce per call: the same key may seal twice without ever reusing one.
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(aad(header));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(material), "utf8"), cipher.final()]);
    const envelope: Envelope = {
      ...header,
      iv: iv.toString("base64"),
      tag: cipher.getAuthTag().toString("base64"),
      ciphertext: ciphertext.toString("base64"),
    };
    return `${JSON.stringify(envelope, null, 2)}\n`;
  };
}

/** The error code and text of a failed file operation, without a stack. */
const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Proves, before Vault is initialized, that the unseal file can be written where it goes: the
 * folder is made (0700) and a probe file beside the target is written, fsynced and removed. A
 * refusal here costs nothing; the same failure after `sys/init` would lose the only copy of the keys.
 */
export function proveWritable(file: string): void {
  const dir = dirname(file);
  const probe = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.probe`);
  try {
    makeFolder(dir);
    const fd = openSync(probe, "wx", 0o600);
    try {
      writeSync(fd, "plinth: probe before Vault init\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
    fsyncDir(dir);
  } catch (e) {
    removeQuietly(probe);
    throw new UserError({
      severity: "error",
      path: file,
      message: `cannot be written (${reason(e)}), so Vault was not initialized: its unseal keys would have had nowhere to go`,
      fix: `make ${dir} a folder plinth can create and write (no file in its way, a disk that is neither full nor read-only), then run again`,
    });
  }
}

/**
 * Writes a file so that a crash or power loss leaves either the old file or the whole new one:
 * a temporary file in the same folder (mode 0600) is written and fsynced, renamed over the
 * target, and the folder fsynced so the rename itself is on disk.
 */
export function writeFileDurably(file: string, text: string, o: { replace: boolean }): void {
  if (existsSync(file) && !o.replace) throw new Error(`refusing to replace the existing unseal file ${file}`);
  const dir = dirname(file);
  makeFolder(dir);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    const fd = openSync(tmp, "wx", 0o600);
    try {
      fchmodSync(fd, 0o600);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    throw e;
  }
  fsyncDir(dir);
}

/**
 * `mkdir -p` with mode 0700, one level at a time. Not `mkdirSync(dir, { recursive: true })`: on
 * a path under /proc (mkdir answers ENOENT although the parent exists) Node's recursive mkdir
 * retries forever.
 */
function makeFolder(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if (statSync(dir).isDirectory()) return;
      throw Object.assign(new Error(`ENOTDIR: a file, not a folder, is at '${dir}'`), { code: "ENOTDIR" });
    }
    if (code !== "ENOENT" || dirname(dir) === dir) throw e;
    makeFolder(dirname(dir));
    mkdirSync(dir, { mode: 0o700 });
  }
}

/** Clean-up after a failure: the failure itself is what gets reported. */
function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // The folder may be the very thing that broke.
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
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
