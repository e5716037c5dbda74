import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { makePrivateDir } from "../../config/plinth-dir.js";

/** A server's host key as the SSH protocol sends it (the public key blob). */
export interface HostKey {
  type: string;
  /** base64 of the key blob, as in known_hosts. */
  base64: string;
  /** OpenSSH's form, `SHA256:` + unpadded base64 of the blob's SHA-256. */
  fingerprint: string;
}

export function hostKeyOf(blob: Buffer): HostKey {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + length).toString("latin1") || "unknown";
  return { type, base64: blob.toString("base64"), fingerprint: fingerprintOf(blob) };
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Normalizes a pinned fingerprint (OpenSSH prints it unpadded; a copied one may carry `=`). */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/=+$/, "");
}

/** How known_hosts names a host: bare on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export interface KnownEntry {
  line: number;
  type: string;
  base64: string;
  fingerprint: string;
}

/**
 * The entries for `host:port` in a known_hosts file plinth keeps (plain host names, as it writes
 * them; hashed `|1|` entries and markers are not written by plinth and are ignored).
 */
export function knownEntries(file: string, host: string, port: number): KnownEntry[] {
  if (!existsSync(file)) return [];
  const name = knownHostsName(host, port);
  const out: KnownEntry[] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((raw, i) => {
      const text = raw.trim();
      if (!text || text.startsWith("#") || text.startsWith("@")) return;
      const [names, type, base64] = text.split(/\s+/);
      if (!names || !type || !base64) return;
      if (!names.split(",").includes(name)) return;
      out.push({ line: i + 1, type, base64, fingerprint: fingerprintOf(Buffer.from(base64, "base64")) });
    });
  return out;
}

/** Appends `host:port`'s key to the known_hosts file (atomic replace; the folder is created). */
export function recordHostKey(file: string, host: string, port: number, key: HostKey): void {
  makePrivateDir(dirname(file));
  const before = existsSync(file) ? readFileSync(file, "utf8") : "";
  const sep = before === "" || before.endsWith("\n") ? "" : "\n";
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${before}${sep}${knownHostsName(host, port)} ${key.type} ${key.base64}\n`, {
    mode: 0o600,
  });
  renameSync(tmp, file);
}

export type HostKeyVerdict =
  | { ok: true; record?: boolean }
  | { ok: false; reason: "mismatch"; expected: string; source: string; line?: number }
  | { ok: false; reason: "unknown" };

export interface HostKeyPolicy {
  /** `clusters.<name>.vps.hostKeyFingerprint`: when set, the only key accepted. */
  pinned?: string;
  knownHostsFile: string;
  host: string;
  port: number;
  /** First contact without a pin: trust the key offered and record it (`--accept-host-key`). */
  acceptNew: boolean;
}

/** Whether the key the server offered may be trusted: the pin first, else known_hosts, else `--accept-host-key`. */
export function judgeHostKey(key: HostKey, policy: HostKeyPolicy): HostKeyVerdict {
  if (policy.pinned) {
    const expected = normalizeFingerprint(policy.pinned);
    return key.fingerprint === expected
      ? { ok: true }
      : { ok: false, reason: "mismatch", expected, source: "hostKeyFingerprint" };
  }
  const known = knownEntries(policy.knownHostsFile, policy.host, policy.port);
  if (known.some((k) => k.type === key.type && k.base64 === key.base64)) return { ok: true };
  const first = known[0];
  if (first) {
    return {
      ok: false,
      reason: "mismatch",
      expected: first.fingerprint,
      source: "known_hosts",
      line: first.line,
    };
  }
  return policy.acceptNew ? { ok: true, record: true } : { ok: false, reason: "unknown" };
}
