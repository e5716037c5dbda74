/**
 * A small HTTP proxy of the test's own, between plinth and the real S3 server, that injects
 * faults: an error status, a reset connection, or a reset after the request reached the server
 * (the answer is lost, the write is not). Everything else is forwarded untouched.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { forward } from "../helpers/forward.js";

export type Fault =
  | { kind: "status"; status: number; code: string }
  | { kind: "reset" }
  /** Forward the request, then reset the client's connection instead of answering. */
  | { kind: "lose-answer" };

export interface FaultProxy {
  endpoint: string;
  /** Requests seen, as `METHOD /path`. */
  seen: string[];
  /** Faults for the next matching requests, consumed in order. */
  inject(fault: Fault, times: number, match?: (method: string, path: string) => boolean): void;
  /** Drops faults not yet used. */
  clear(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const queue: { fault: Fault; match: (method: string, path: string) => boolean }[] = [];
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    seen.push(`${method} ${path}`);
    const index = queue.findIndex((q) => q.match(method, path));
    const fault = index >= 0 ? queue.splice(index, 1)[0]?.fault : undefined;
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "status") {
      req.resume();
      res.writeHead(fault.status, { "content-type": "application/xml" });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected by the test's fault proxy</Message></Error>`,
      );
      return;
    }
    forward(req, res, upstream, { loseAnswer: fault?.kind === "lose-answer" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    inject(fault, times, match = () => true) {
      for (let i = 0; i < times; i++) queue.push({ fault, match });
    },
    clear() {
      queue.splice(0);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
