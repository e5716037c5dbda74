import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { SshConnection } from "./connection.js";
import { command } from "./shell.js";

/** A connection plus how it gains root: nothing as root, `sudo -n` otherwise. */
export interface RemoteHost {
  conn: SshConnection;
  /** Words put before a command that needs root. */
  sudo: string[];
}

/**
 * Finds how to act as root before anything is changed: root needs nothing; any other user needs
 * passwordless sudo (`sudo -n true`), else a UserError naming the user and the fix.
 */
export async function privileged(conn: SshConnection): Promise<RemoteHost> {
  const id = await conn.exec(command("id", "-u"));
  if (id.code === 0 && id.stdout.trim() === "0") return { conn, sudo: [] };
  const probe = await conn.exec(command("sudo", "-n", "true"));
  if (probe.code === 0) return { conn, sudo: ["sudo", "-n"] };
  const { user, cluster } = conn.target;
  const said = probe.stderr.trim().split("\n")[0] || `exit code ${probe.code}`;
  const missing = probe.code === 127 || /not found/.test(said);
  throw new UserError(
    error(
      missing
        ? `user "${user}" on ${conn.target.host} is not root and sudo is not installed there; nothing was changed`
        : `user "${user}" on ${conn.target.host} cannot run sudo without a password (${said}); nothing was changed`,
      {
        path: `clusters.${cluster}.vps.user`,
        fix: missing
          ? `install sudo on the VPS and allow ${user} passwordless sudo, or set clusters.${cluster}.vps.user to "root"`
          : `allow it passwordless sudo on the VPS (echo '${user} ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/plinth; sudo chmod 0440 /etc/sudoers.d/plinth), or set clusters.${cluster}.vps.user to "root"`,
      },
    ),
  );
}
