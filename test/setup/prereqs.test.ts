/**
 * The test bed's prerequisites (testbed/lib/prereqs.ts): which are missing, the one install line,
 * and `testbed.ts setup` run as a user who cannot install, on a PATH without the tools.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { createContext } from "../../testbed/lib/context.js";
import { executable, installCommand, missing, type Prerequisite } from "../../testbed/lib/prereqs.js";

const ROOT = resolve(import.meta.dirname, "../..");

const fake = (debian: string, neededBy: string[], present: boolean): Prerequisite => ({
  neededBy,
  what: `${debian}'s binary`,
  debian,
  present: () => present,
});

describe("prerequisites", () => {
  const list = [
    fake("openssh-server", ["ssh"], false),
    fake("redis-server", ["redis"], false),
    fake("postgresql", ["postgres"], true),
    fake("kubectl", ["tests"], false),
  ];

  it("lists the missing ones of the services asked for, or of everything and the tests", () => {
    expect(missing(list, ["ssh", "postgres"]).map((p) => p.debian)).toEqual(["openssh-server"]);
    expect(missing(list).map((p) => p.debian)).toEqual(["openssh-server", "redis-server", "kubectl"]);
    expect(missing(list, ["s3"])).toEqual([]);
  });

  it("names one apt-get line, with sudo unless root, each package once", () => {
    expect(installCommand(["redis-server", "openssh-server", "redis-server"], false)).toBe(
      "sudo apt-get install -y --no-install-recommends openssh-server redis-server",
    );
    expect(installCommand(["sudo"], true)).toBe("apt-get install -y --no-install-recommends sudo");
  });

  it("finds executables by path or on PATH, and not plain files", () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-prereqs-"));
    writeFileSync(join(dir, "tool"), "#!/bin/sh\n");
    chmodSync(join(dir, "tool"), 0o755);
    writeFileSync(join(dir, "data"), "");
    expect(executable("tool", dir)).toBe(true);
    expect(executable(join(dir, "tool"), "")).toBe(true);
    expect(executable("data", dir)).toBe(false);
    expect(executable("tool", "/nonexistent")).toBe(false);
  });

  it("setup as a user who cannot install names the sudo line and stops before anything else", () => {
    // A PATH holding only node: ssh, psql, openssl, kubectl, sudo, python3 and go are all absent.
    const bin = mkdtempSync(join(tmpdir(), "plinth-prereqs-path-"));
    symlinkSync(process.execPath, join(bin, "node"));
    chmodSync(bin, 0o755);
    // .testbed/ exists on a fresh clone only once something made it; nobody may not create it.
    createContext(ROOT);
    const asRoot = process.getuid?.() === 0;
    const r = spawnSync(process.execPath, ["--import", "tsx", "testbed/testbed.ts", "setup"], {
      cwd: ROOT,
      encoding: "utf8",
      // Root would install them: run as nobody, as a developer without root does.
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      env: { PATH: bin, HOME: tmpdir(), TMPDIR: tmpdir() },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain("the test bed needs Debian packages that are not installed");
    expect(r.stderr).toMatch(
      /sudo apt-get install -y --no-install-recommends (\S+ )*kubectl (\S+ )*openssh-client (\S+ )*openssl (\S+ )*postgresql-client (\S+ )*python3-pip (\S+ )*sudo\n/,
    );
    // Nothing after the package check ran: no Go, no modules, no build.
    expect(r.stderr).not.toContain("go version");
    expect(r.stderr).not.toContain("Go modules");
  });
});
