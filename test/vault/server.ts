import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../testbed/lib/ports.js";
import { testbedEnv } from "../testbed/env.js";

/**
 * A real, non-dev OpenBao server (the test bed's `bao` binary) with file storage on a loopback
 * port: it starts uninitialized and sealed, as a fresh Vault in a cluster does. Its audit device
 * is declared in its config file, as OpenBao 2.x requires.
 */
export interface BaoServer {
  address: string;
  dir: string;
  auditLog: string;
  serverLog: string;
  /** Stops the server and starts it again on the same storage (a pod restart, a reboot). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface BaoOptions {
  /** Replaces the default audit stanza: e.g. the audit and seal stanzas of the chart's server config. */
  stanzas?: string;
  /** Extra environment of the server process (e.g. a static seal key). */
  env?: Record<string, string>;
  /** Replaces the file storage stanza: e.g. plinth's `storage "postgresql"` (restore drill test). */
  storage?: string;
}

export async function startBao(o: BaoOptions = {}): Promise<BaoServer> {
  const dir = mkdtempSync(join(tmpdir(), "plinth-vault-"));
  const port = await freePort();
  const clusterPort = await freePort();
  const address = `http://127.0.0.1:${port}`;
  const auditLog = join(dir, "audit.log");
  const serverLog = join(dir, "server.log");
  mkdirSync(join(dir, "data"));
  writeFileSync(
    join(dir, "config.hcl"),
    `${o.storage ?? `storage "file" { path = "${join(dir, "data")}" }`}
listener "tcp" {
  address = "127.0.0.1:${port}"
  tls_disable = true
}
api_addr = "${address}"
cluster_addr = "http://127.0.0.1:${clusterPort}"
${
  o.stanzas ??
  `audit "file" "plinth" {
  description = "managed-by=plinth: audit log"
  options {
    file_path = "${auditLog}"
  }
}`
}
`,
  );
  let child: ChildProcess;
  let exited: Promise<void>;
  const launch = async () => {
    const out = openSync(serverLog, "a");
    child = spawn(testbedEnv("OPENBAO_BIN"), ["server", `-config=${join(dir, "config.hcl")}`], {
      env: { PATH: process.env.PATH ?? "", HOME: dir, ...o.env },
      stdio: ["ignore", out, out],
    });
    exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    for (let i = 0; ; i++) {
      const status = await fetch(`${address}/v1/sys/health`).then(
        (r) => r.status,
        () => 0,
      );
      // Any answer: 501 when new, 200 once it unsealed itself, 503 sealed.
      if (status !== 0) break;
      if (i > 150 || child.exitCode !== null)
        throw new Error(`bao server did not start (last status ${status}); see ${serverLog}`);
      await sleep(100);
    }
  };
  const halt = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
  };
  await launch();
  return {
    address,
    dir,
    auditLog,
    serverLog,
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
