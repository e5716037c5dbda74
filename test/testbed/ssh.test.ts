/**
 * Smoke tests of the test bed's SSH host (Debian's sshd on loopback, standing in for the VPS):
 * key login with a pinned host key, a command, a file copy, and sudo present or missing.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { testbedEnv } from "./env.js";

const run = promisify(execFile);

/** Options of every ssh/scp call: our key only, the test bed's host key only, never a prompt. */
const common = () => [
  ["-i", testbedEnv("SSH_KEY"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"],
  ["-o", `UserKnownHostsFile=${testbedEnv("SSH_KNOWN_HOSTS")}`, "-o", "StrictHostKeyChecking=yes"],
  ["-o", "ConnectTimeout=5"],
];

const ssh = (command: string, user = testbedEnv("SSH_USER")) =>
  run("ssh", [
    ...common().flat(),
    "-p",
    testbedEnv("SSH_PORT"),
    `${user}@${testbedEnv("SSH_HOST")}`,
    command,
  ]);

describe("ssh (Debian's openssh-server standing in for the VPS)", () => {
  it("serves the host key whose fingerprint the env file pins", async () => {
    const { stdout } = await run("ssh-keyscan", [
      "-t",
      "ed25519",
      "-p",
      testbedEnv("SSH_PORT"),
      testbedEnv("SSH_HOST"),
    ]);
    const dir = mkdtempSync(join(tmpdir(), "plinth-ssh-"));
    writeFileSync(join(dir, "scanned"), stdout);
    const listed = await run("ssh-keygen", ["-l", "-E", "sha256", "-f", join(dir, "scanned")]);
    expect(listed.stdout).toContain(testbedEnv("SSH_HOST_KEY_FINGERPRINT"));
  });

  it("runs a command as the login user", async () => {
    const { stdout } = await ssh("id -un && uname -s");
    expect(stdout.trim().split("\n")).toEqual([testbedEnv("SSH_USER"), "Linux"]);
  });

  it("copies a file there and back with scp", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-scp-"));
    const local = join(dir, "payload.txt");
    const content = `plinth smoke ${process.pid} ${Date.now()}\n`;
    writeFileSync(local, content);
    const remote = `/tmp/plinth-smoke-${process.pid}.txt`;
    const target = `${testbedEnv("SSH_USER")}@${testbedEnv("SSH_HOST")}`;
    await run("scp", [...common().flat(), "-P", testbedEnv("SSH_PORT"), local, `${target}:${remote}`]);
    expect((await ssh(`cat ${remote}`)).stdout).toBe(content);
    await run("scp", [
      ...common().flat(),
      "-P",
      testbedEnv("SSH_PORT"),
      `${target}:${remote}`,
      join(dir, "back.txt"),
    ]);
    expect(readFileSync(join(dir, "back.txt"), "utf8")).toBe(content);
    await ssh(`rm -f ${remote}`);
  });

  it("refuses a key it does not know", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-ssh-"));
    const stranger = join(dir, "id_ed25519");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger]);
    const options = common().flat();
    options[1] = stranger;
    const attempt = run("ssh", [
      ...options,
      "-p",
      testbedEnv("SSH_PORT"),
      `${testbedEnv("SSH_USER")}@${testbedEnv("SSH_HOST")}`,
      "true",
    ]);
    await expect(attempt).rejects.toThrow(/Permission denied/);
  });

  // Two users exist only where the test bed may create users (as root, as in CI).
  it("has passwordless sudo for the login user and none for the other", async () => {
    expect((await ssh("sudo -n id -u")).stdout.trim()).toBe("0");
    await expect(ssh("sudo -n true", testbedEnv("SSH_NOSUDO_USER"))).rejects.toThrow(/password is required/);
  });
});
