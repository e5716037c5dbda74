import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { assertPortFree, isRunning, portFromEnv, spawnDaemon, stopDaemon, waitFor } from "../lib/proc.js";
import type { Service, TestbedContext } from "../lib/service.js";

const run = promisify(execFile);
const portEnv = "TESTBED_SSH_PORT";
const port = () => portFromEnv(portEnv, 12222);
const sshd = "/usr/sbin/sshd";
/** The VPS's login user (passwordless sudo), and one without sudo for "sudo needed" tests. */
const sudoUser = "plinth";
const plainUser = "plinth-nosudo";
const sudoersFile = "/etc/sudoers.d/plinth-testbed";

const isRoot = () => process.getuid?.() === 0;
const dir = (ctx: TestbedContext) => join(ctx.stateDir, "ssh");
const files = (ctx: TestbedContext) => ({
  config: join(dir(ctx), "sshd_config"),
  hostKey: join(dir(ctx), "ssh_host_ed25519_key"),
  userKey: join(dir(ctx), "id_ed25519"),
  authorizedKeys: join(dir(ctx), "authorized_keys"),
  knownHosts: join(dir(ctx), "known_hosts"),
  pidFile: join(dir(ctx), "sshd.pid"),
});

function userExists(name: string): boolean {
  try {
    execFileSync("id", ["-u", name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates the two login users once. `usermod -p '*'` leaves them without a password yet not
 * "locked" (useradd's `!`), which sshd without PAM would refuse even for key logins.
 */
function ensureUsers(ctx: TestbedContext): void {
  for (const name of [sudoUser, plainUser]) {
    if (userExists(name)) continue;
    ctx.log(`ssh: creating user ${name}`);
    execFileSync("useradd", ["--create-home", "--shell", "/bin/bash", name]);
    execFileSync("usermod", ["-p", "*", name]);
  }
  const rule = `${sudoUser} ALL=(ALL) NOPASSWD:ALL\n`;
  if (!existsSync(sudoersFile) || readFileSync(sudoersFile, "utf8") !== rule) {
    writeFileSync(sudoersFile, rule, { mode: 0o440 });
  }
}

/** Login user: `plinth` when we may create users (root), else whoever runs the test bed. */
function loginUser(): string {
  return isRoot() ? sudoUser : userInfo().username;
}

async function keygen(path: string, comment: string): Promise<void> {
  if (existsSync(path)) return;
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]).catch(
    (error: Error) => {
      throw new Error(`ssh: ssh-keygen failed (install Debian's openssh-client): ${error.message}`);
    },
  );
}

async function fingerprint(publicKey: string): Promise<string> {
  const { stdout } = await run("ssh-keygen", ["-l", "-E", "sha256", "-f", publicKey]);
  const found = /SHA256:\S+/.exec(stdout)?.[0];
  if (!found) throw new Error(`ssh: cannot read the host key fingerprint from: ${stdout}`);
  return found;
}

async function env(ctx: TestbedContext): Promise<Record<string, string>> {
  const f = files(ctx);
  const result: Record<string, string> = {
    SSH_HOST: "127.0.0.1",
    SSH_PORT: String(port()),
    SSH_USER: loginUser(),
    SSH_KEY: f.userKey,
    SSH_HOST_KEY_FINGERPRINT: await fingerprint(`${f.hostKey}.pub`),
    SSH_KNOWN_HOSTS: f.knownHosts,
  };
  if (isRoot()) result.SSH_NOSUDO_USER = plainUser;
  return result;
}

/** A real login: the readiness check and the proof that keys, users and config fit together. */
async function login(ctx: TestbedContext): Promise<boolean> {
  const f = files(ctx);
  const { stdout } = await run(
    "ssh",
    [
      ["-i", f.userKey, "-p", String(port())],
      ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=3"],
      ["-o", `UserKnownHostsFile=${f.knownHosts}`, "-o", "StrictHostKeyChecking=yes"],
      [`${loginUser()}@127.0.0.1`, "echo ok"],
    ].flat(),
    { timeout: 10_000 },
  );
  return stdout.trim() === "ok";
}

/**
 * Debian's OpenSSH server standing in for the VPS: a foreground sshd on a loopback port with its
 * own host key, config, authorized keys and pid file under .testbed/ssh, so the machine's own
 * sshd (if any) is untouched.
 */
const ssh: Service = {
  name: "ssh",
  async build() {
    if (!existsSync(sshd)) throw new Error(`ssh: ${sshd} missing; install Debian's openssh-server`);
  },
  async running(ctx) {
    return isRunning(ctx, "ssh") && (await login(ctx).catch(() => false));
  },
  async start(ctx) {
    await assertPortFree(port(), "ssh", portEnv);
    const f = files(ctx);
    // Readable by all: sshd opens authorized_keys as the logging-in user. Private keys stay 0600.
    mkdirSync(dir(ctx), { recursive: true });
    chmodSync(dir(ctx), 0o755);
    if (isRoot()) ensureUsers(ctx);
    await keygen(f.hostKey, "plinth-testbed-host");
    await keygen(f.userKey, "plinth-testbed-user");
    writeFileSync(f.authorizedKeys, readFileSync(`${f.userKey}.pub`), { mode: 0o644 });
    const hostPub = readFileSync(`${f.hostKey}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
    writeFileSync(f.knownHosts, `[127.0.0.1]:${port()} ${hostPub}\n`);
    writeFileSync(
      f.config,
      [
        `Port ${port()}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${f.hostKey}`,
        `PidFile ${f.pidFile}`,
        `AuthorizedKeysFile ${f.authorizedKeys}`,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        // Our key files live in the work tree, whose owner and modes sshd's checks don't expect.
        "StrictModes no",
        "Subsystem sftp internal-sftp",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    // sshd's privilege-separation directory; Debian creates it only when its own service starts.
    if (isRoot()) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    else if (!existsSync("/run/sshd")) {
      throw new Error("ssh: sshd needs /run/sshd, which only root can create: sudo mkdir -p /run/sshd");
    }
    rmSync(f.pidFile, { force: true });
    await spawnDaemon(ctx, { name: "ssh", command: sshd, args: ["-D", "-e", "-f", f.config] });
    await waitFor("ssh (login)", () => login(ctx), { timeoutMs: 20_000, logName: "ssh", ctx });
    return env(ctx);
  },
  async env(ctx) {
    return env(ctx);
  },
  async stop(ctx) {
    await stopDaemon(ctx, "ssh");
  },
};

export default ssh;
