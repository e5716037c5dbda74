/**
 * A real Traefik (the test bed's TRAEFIK_BIN) reading Ingresses and Middlewares from the test
 * bed's API server, and a CONNECT proxy that lets Chromium reach it as `https://<host>/` on port
 * 443 for every host under the config's domains, so the rendered callback URL and cookie domain
 * work unchanged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface RunningTraefik {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Static configuration in a file (mode 0600: it holds the ServiceAccount token), one TLS-capable
 * entry point on loopback, both Kubernetes providers restricted to the test's namespaces.
 */
export async function startTraefik(o: {
  bin: string;
  dir: string;
  port: number;
  server: string;
  caFile: string;
  token: string;
  namespaces: string[];
}): Promise<RunningTraefik> {
  const provider = {
    endpoint: o.server,
    token: o.token,
    certAuthFilePath: o.caFile,
    namespaces: o.namespaces,
  };
  const config = {
    // TLS on the entry point, as the Traefik chart k3s installs sets for `websecure`
    // (ports.websecure.tls.enabled): plinth's Ingresses name no certificate Secret, which Traefik
    // skips ("Skipping TLS sub-section"), and are served with the default (wildcard) certificate.
    entryPoints: { websecure: { address: `127.0.0.1:${o.port}`, http: { tls: {} } } },
    providers: { kubernetesIngress: provider, kubernetesCRD: provider },
    log: { level: "DEBUG" },
  };
  // JSON is YAML too; Traefik picks the parser by the file's suffix.
  const yaml = join(o.dir, "traefik.yml");
  writeFileSync(yaml, JSON.stringify(config), { mode: 0o600 });
  const child = spawn(o.bin, [`--configFile=${yaml}`], {
    env: { PATH: process.env.PATH ?? "", HOME: o.dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout?.on("data", (c: Buffer) => (log += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await sleep(200);
  if (child.exitCode !== null) throw new Error(`traefik exited (${child.exitCode}):\n${log}`);
  return {
    child,
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Polls until `check` is true (Traefik loads the objects a moment after it starts). */
export async function until(what: string, check: () => Promise<boolean>, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = "";
  for (;;) {
    const ok = await check().catch((error: unknown) => {
      last = String(error);
      return false;
    });
    if (ok) return;
    if (Date.now() > deadline) {
      // Its warnings and errors say why (a missing permission, an unknown middleware, no endpoints).
      const problems = log()
        .split("\n")
        .filter((l) => / (ERR|WRN) |error/i.test(l))
        .slice(-20);
      throw new Error(
        `${what}: not within 30s (${last || "no error"}); Traefik's warnings and errors:\n${problems.join("\n")}`,
      );
    }
    await sleep(250);
  }
}

/**
 * An HTTP CONNECT proxy for the browser: a tunnel to Traefik's entry point for `host:443` where
 * the host ends with one of `suffixes`, refused otherwise (Chromium reaches loopback directly).
 */
export async function connectProxy(
  traefikPort: number,
  suffixes: string[],
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(405);
    res.end();
  });
  server.on("connect", (req, socket, head) => {
    const [host, port] = (req.url ?? "").split(":");
    if (port !== "443" || !host || !suffixes.some((s) => host.endsWith(s))) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    const upstream = connect(traefikPort, "127.0.0.1", () => {
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    const drop = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on("error", drop);
    socket.on("error", drop);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
