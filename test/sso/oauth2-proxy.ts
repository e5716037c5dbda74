/**
 * Runs the test bed's OAuth2-Proxy binary (built from its Go module, OAUTH2_PROXY_BIN) with a
 * command line and environment, as the sso component's Deployment would, and stops it by its pid.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

export interface RunningProxy {
  child: ChildProcess;
  /** What it printed, for a failure's message (never holds a secret: secrets come by env). */
  output(): string;
  stop(): Promise<void>;
}

export async function startOAuth2Proxy(o: {
  bin: string;
  args: string[];
  env: Record<string, string>;
  /** Its `--http-address`, for the readiness probe on /ping. */
  base: string;
}): Promise<RunningProxy> {
  // Only PATH and HOME from our environment: OAuth2-Proxy also reads OAUTH2_PROXY_* variables,
  // and none may leak in from the shell running the tests.
  const child = spawn(o.bin, o.args, {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout?.on("data", (c: Buffer) => (log += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (log += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const running: RunningProxy = {
    child,
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`oauth2-proxy exited (${child.exitCode}) before it answered /ping:\n${log}`);
    }
    const ok = await fetch(`${o.base}/ping`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return running;
    if (Date.now() > deadline) {
      await running.stop();
      throw new Error(`oauth2-proxy did not answer ${o.base}/ping within 20s:\n${log}`);
    }
    await sleep(100);
  }
}
