import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Port of a service: fixed by default so `status`, logs and a developer's shell agree across runs,
 * overridable through `TESTBED_<NAME>_PORT` when something else already owns it.
 */
export function portFromEnv(envVar: string, fallback: number): number {
  const raw = process.env[envVar];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${envVar}=${raw} is not a TCP port (1-65535)`);
  }
  return port;
}

/** A port the kernel considers free right now on loopback (for throwaway listeners). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canListen(port: number, host: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Throws `port N in use (by pid P comm), set ENV or stop it` when a service's port is taken, so a
 * clash shows up before the daemon starts and dies with a less obvious bind error in its log.
 */
export async function assertPortFree(port: number, serviceName: string, envVar?: string): Promise<void> {
  const error = await canListen(port, "127.0.0.1");
  if (error === undefined) return;
  if (error.code !== "EADDRINUSE" && error.code !== "EACCES") throw error;
  const owner = describePortOwner(port);
  const override = envVar ? `set ${envVar} to another port` : "choose another port";
  throw new Error(
    `${serviceName}: port ${port} in use (by ${owner}); ${override} or stop it (npm run testbed -- status)`,
  );
}

/** Best effort: who listens on a TCP port, from /proc (Linux). Never throws. */
export function describePortOwner(port: number): string {
  try {
    const inodes = new Set<string>();
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      let text = "";
      try {
        text = readFileSync(table, "utf8");
      } catch {
        continue;
      }
      for (const line of text.split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        const local = cols[1];
        // State 0A is LISTEN; the local address is HEXIP:HEXPORT.
        if (!local || cols[3] !== "0A") continue;
        if (Number.parseInt(local.split(":")[1] ?? "", 16) === port && cols[9]) inodes.add(cols[9]);
      }
    }
    if (inodes.size === 0) return "an unknown process";
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
          const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
          if (inode && inodes.has(inode)) {
            const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
            return `pid ${pid} ${comm}`;
          }
        } catch {
          // The process or fd went away while we looked; keep scanning.
        }
      }
    }
    return "a process of another user";
  } catch {
    return "an unknown process";
  }
}
