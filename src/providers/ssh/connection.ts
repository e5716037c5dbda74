import ssh2, { type Client } from "ssh2";
import { type Diagnostic, error, UserError } from "../../diagnostics/diagnostic.js";
import { type HostKey, type HostKeyVerdict, hostKeyOf, judgeHostKey, recordHostKey } from "./host-key.js";

// ssh2 is CommonJS: Node's ESM loader gives its exports only as the default export.
const { Client: SshClient, utils } = ssh2;

/** Where and how to reach a VPS. The key is read from its SecretRef by the CLI and passed in. */
export interface SshTarget {
  /** Cluster name: messages point at `clusters.<name>.vps`. */
  cluster: string;
  host: string;
  port: number;
  user: string;
  /** The private key itself (OpenSSH or PEM), never logged or put in a message. */
  privateKey: string;
  /** Where the key came from (`env STAGING_SSH_KEY`), for messages. */
  keySource: string;
  /** `SHA256:…`: when set, the only host key accepted. */
  hostKeyFingerprint?: string;
  /** plinth's own known_hosts (`.plinth/known_hosts` beside the config). */
  knownHostsFile: string;
  /** How to show it in messages (relative path). */
  knownHostsDisplay?: string;
  /** Trust and record the host key on first contact. */
  acceptHostKey?: boolean;
  /** The command to suggest for first contact, e.g. `plinth bootstrap staging --accept-host-key`. */
  acceptCommand?: string;
  /** Connection and handshake timeout (ms), default 20 s. */
  timeoutMs?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the command's standard input, then closed. */
  stdin?: string | Buffer;
  /** Kills the channel after this long (ms); default 10 minutes. */
  timeoutMs?: number;
}

/** One authenticated SSH connection to the VPS. */
export class SshConnection {
  constructor(
    private readonly client: Client,
    readonly target: SshTarget,
    /** The host key the server proved it holds. */
    readonly hostKey: HostKey,
  ) {}

  /** Runs one command line (already built from quoted, validated words) and collects its output. */
  exec(commandLine: string, o: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(commandLine, (err, stream) => {
        if (err) return reject(new Error(`ssh: cannot start a command on ${this.where()}: ${err.message}`));
        const out: Buffer[] = [];
        const errOut: Buffer[] = [];
        const timer = setTimeout(() => {
          stream.close();
          reject(
            new Error(`ssh: a command on ${this.where()} did not finish in ${o.timeoutMs ?? 600_000} ms`),
          );
        }, o.timeoutMs ?? 600_000);
        stream.on("data", (d: Buffer) => out.push(d));
        stream.stderr.on("data", (d: Buffer) => errOut.push(d));
        stream.on("close", (code: number | null, signal?: string) => {
          clearTimeout(timer);
          resolve({
            code: code ?? (signal ? 128 : 255),
            stdout: Buffer.concat(out).toString("utf8"),
            stderr: Buffer.concat(errOut).toString("utf8"),
          });
        });
        if (o.stdin !== undefined) stream.end(o.stdin);
        else stream.end();
      });
    });
  }

  where(): string {
    return `${this.target.user}@${this.target.host}:${this.target.port}`;
  }

  close(): void {
    this.client.end();
  }
}

const vpsPath = (t: SshTarget, field?: string) => `clusters.${t.cluster}.vps${field ? `.${field}` : ""}`;

/** Checks the key parses before any network traffic, so a bad key is named as such. */
function checkKey(t: SshTarget): void {
  const parsed = utils.parseKey(t.privateKey);
  if (!(parsed instanceof Error) && parsed.isPrivateKey()) return;
  const reason = parsed instanceof Error ? parsed.message : "it is a public key";
  const encrypted = /encrypted|passphrase/i.test(reason);
  throw new UserError(
    error(
      encrypted
        ? `the SSH key from ${t.keySource} is passphrase-protected`
        : `the SSH key from ${t.keySource} is not a private key plinth can read (${reason})`,
      {
        path: vpsPath(t, "sshKey"),
        fix: encrypted
          ? "give plinth an unencrypted deploy key kept in a secret store (e.g. ssh-keygen -t ed25519 -N '')"
          : "point sshKey at an OpenSSH or PEM private key (the file without .pub)",
      },
    ),
  );
}

function hostKeyError(t: SshTarget, key: HostKey, verdict: Exclude<HostKeyVerdict, { ok: true }>): UserError {
  const at = `${t.host}:${t.port}`;
  const known = t.knownHostsDisplay ?? t.knownHostsFile;
  if (verdict.reason === "unknown") {
    return new UserError(
      error(`the host key of ${at} is not known yet: ${key.fingerprint} (${key.type})`, {
        path: vpsPath(t),
        fix: `check that fingerprint on the VPS (ssh-keygen -lf /etc/ssh/ssh_host_${key.type.replace(/^ssh-/, "")}_key.pub), then pin it as hostKeyFingerprint, or run ${t.acceptCommand ?? "plinth bootstrap <env> --accept-host-key"} to trust it and record it in ${known}`,
      }),
    );
  }
  const where =
    verdict.source === "known_hosts" ? `${known} line ${verdict.line}` : vpsPath(t, "hostKeyFingerprint");
  return new UserError(
    error(
      `HOST KEY MISMATCH for ${at}: the server offered ${key.fingerprint} (${key.type}), but ${where} expects ${verdict.expected}; nothing was done (someone may be intercepting the connection, or the server was reinstalled)`,
      {
        path: verdict.source === "known_hosts" ? known : vpsPath(t, "hostKeyFingerprint"),
        fix:
          verdict.source === "known_hosts"
            ? `if the VPS was rebuilt, confirm the new fingerprint on its console, delete line ${verdict.line} of ${known} and run ${t.acceptCommand ?? "plinth bootstrap <env> --accept-host-key"}, or pin hostKeyFingerprint`
            : "if the VPS was rebuilt, confirm the new fingerprint on its console (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) and update hostKeyFingerprint",
      },
    ),
  );
}

function connectError(t: SshTarget, e: Error & { code?: string; level?: string }): UserError {
  const at = `${t.host}:${t.port}`;
  const reach = `check ${vpsPath(t, "host")} and ${vpsPath(t, "sshPort")}, that sshd runs there and that the firewall allows the port`;
  const d = (message: string, fix: string, field?: string): Diagnostic =>
    error(message, { path: vpsPath(t, field), fix });
  if (e.level === "client-authentication") {
    return new UserError(
      d(
        `${at} refused the SSH key from ${t.keySource} for user "${t.user}"`,
        `add that key's public half to ~${t.user}/.ssh/authorized_keys on the VPS, or point ${vpsPath(t, "sshKey")} at the key it accepts (and ${vpsPath(t, "user")} at its user)`,
        "sshKey",
      ),
    );
  }
  if (e.level === "client-timeout" || e.code === "ETIMEDOUT") {
    return new UserError(
      d(`no SSH answer from ${at} within ${(t.timeoutMs ?? 20_000) / 1000} s`, reach, "host"),
    );
  }
  if (e.code === "ECONNREFUSED") {
    return new UserError(d(`cannot reach ${at}: connection refused`, reach, "host"));
  }
  if (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN") {
    return new UserError(
      d(`host ${t.host} does not resolve (${e.code})`, `check ${vpsPath(t, "host")}`, "host"),
    );
  }
  if (e.code === "EHOSTUNREACH" || e.code === "ENETUNREACH" || e.code === "ECONNRESET") {
    return new UserError(d(`cannot reach ${at}: ${e.code}`, reach, "host"));
  }
  return new UserError(d(`SSH to ${at} failed: ${e.message}`, reach, "host"));
}

/**
 * Connects and authenticates. The host key is checked against the pin, else plinth's known_hosts;
 * an unknown key is trusted only with `acceptHostKey`, and then recorded once the login succeeded.
 * Every failure is a UserError naming the config field and the fix; nothing is changed on the host.
 */
export async function openSsh(t: SshTarget): Promise<SshConnection> {
  checkKey(t);
  return new Promise((resolve, reject) => {
    const client = new SshClient();
    let offered: HostKey | undefined;
    let verdict: HostKeyVerdict | undefined;
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(e);
    };
    client.on("ready", () => {
      if (settled || !offered) return;
      settled = true;
      if (verdict?.ok && verdict.record) recordHostKey(t.knownHostsFile, t.host, t.port, offered);
      resolve(new SshConnection(client, t, offered));
    });
    client.on("error", (e: Error & { code?: string; level?: string }) => {
      if (offered && verdict && !verdict.ok) return fail(hostKeyError(t, offered, verdict));
      fail(connectError(t, e));
    });
    client.on("close", () => fail(connectError(t, new Error("the connection closed during the handshake"))));
    try {
      client.connect({
        host: t.host,
        port: t.port,
        username: t.user,
        privateKey: t.privateKey,
        readyTimeout: t.timeoutMs ?? 20_000,
        // Never fall back to an agent or keyboard-interactive: only the configured key.
        tryKeyboard: false,
        hostVerifier: (blob: Buffer) => {
          offered = hostKeyOf(blob);
          verdict = judgeHostKey(offered, {
            ...(t.hostKeyFingerprint ? { pinned: t.hostKeyFingerprint } : {}),
            knownHostsFile: t.knownHostsFile,
            host: t.host,
            port: t.port,
            acceptNew: Boolean(t.acceptHostKey),
          });
          return verdict.ok;
        },
      });
    } catch (e) {
      fail(connectError(t, e as Error));
    }
  });
}
