/**
 * A small TLS-terminating HTTP proxy of the test's own, on loopback, between plinth and the test
 * bed's API server. It serves a certificate signed by the test bed's CA (made with openssl, so
 * plinth verifies it as it would the real server), forwards each request upstream with the
 * admin client certificate, and injects faults: an error status (429 with Retry-After, 500), a
 * connection reset before the request reaches the server or after (the answer is lost, the
 * write is not), and latency. Every fault is bounded: queued for a number of matching requests,
 * or drawn at a rate from a seeded generator until a budget is spent.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Agent, createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { forward } from "../helpers/forward.js";
import { seeded } from "../helpers/seeded.js";

const run = promisify(execFile);

export type Fault =
  /** Answer with this status and a Kubernetes `Status` body; `retryAfter` in seconds. */
  | { kind: "status"; status: number; retryAfter?: number }
  /** Reset the client's connection before forwarding anything. */
  | { kind: "reset" }
  /** Forward the request, then reset the client's connection instead of answering. */
  | { kind: "lose-answer" }
  /** Hold the request this long, then forward it. */
  | { kind: "latency"; ms: number };

export type Match = (method: string, path: string) => boolean;

export interface Seen {
  at: number;
  method: string;
  path: string;
  fault?: string;
  status?: number;
}

export interface Chaos {
  /** Probability that a matching request gets a fault. */
  rate: number;
  faults: Fault[];
  /** Faults to inject at most; the proxy is a plain pass-through afterwards. */
  budget: number;
  seed?: number;
  match?: Match;
}

export interface KubeFaultProxy {
  /** A kubeconfig (the test bed's admin credentials) whose server is the proxy. */
  kubeconfig: string;
  server: string;
  seen: Seen[];
  /** Faults injected so far, by label (`429`, `500`, `reset`, `lose-answer`, `latency`). */
  injected: Record<string, number>;
  /** Faults for the next `times` matching requests, consumed in order. */
  inject(fault: Fault, times: number, match?: Match): void;
  /** Random faults at a rate until the budget is spent. */
  chaos(c: Chaos): void;
  /** Drops faults not yet used (queued and random). */
  clear(): void;
  close(): Promise<void>;
}

function label(f: Fault): string {
  return f.kind === "status" ? String(f.status) : f.kind;
}

/** A serving certificate for 127.0.0.1, signed by the test bed's CA. */
async function serverCertificate(pki: string, dir: string): Promise<{ key: string; cert: string }> {
  const key = join(dir, "proxy.key");
  const csr = join(dir, "proxy.csr");
  const cert = join(dir, "proxy.crt");
  const ext = join(dir, "proxy.ext");
  writeFileSync(
    ext,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
  );
  await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  await run("openssl", ["req", "-new", "-key", key, "-subj", "/CN=plinth-test-fault-proxy", "-out", csr]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    join(pki, "ca.crt"),
    "-CAkey",
    join(pki, "ca.key"),
    "-set_serial",
    String(Date.now()),
    "-days",
    "1",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
}

function statusBody(status: number): string {
  const reason = status === 429 ? "TooManyRequests" : status >= 500 ? "InternalError" : "BadRequest";
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `injected by the test's fault proxy (${status})`,
    reason,
    code: status,
  });
}

/**
 * Starts the proxy in front of the API server of `kubeconfig` (the test bed's admin kubeconfig,
 * whose `pki/` folder beside it holds the CA and the admin client certificate).
 */
export async function startKubeFaultProxy(o: { kubeconfig: string; dir: string }): Promise<KubeFaultProxy> {
  const pki = join(dirname(o.kubeconfig), "pki");
  const config = parse(readFileSync(o.kubeconfig, "utf8")) as {
    clusters: { cluster: { server: string } }[];
  };
  const upstream = new URL(config.clusters[0]?.cluster.server ?? "");
  const agent = new Agent({
    ca: readFileSync(join(pki, "ca.crt")),
    cert: readFileSync(join(pki, "admin.crt")),
    key: readFileSync(join(pki, "admin.key")),
    keepAlive: true,
    maxSockets: 64,
  });
  const queue: { fault: Fault; match: Match }[] = [];
  let chaos: (Chaos & { next: () => number }) | undefined;
  const seen: Seen[] = [];
  const injected: Record<string, number> = {};

  const pick = (method: string, path: string): Fault | undefined => {
    const i = queue.findIndex((q) => q.match(method, path));
    if (i >= 0) return queue.splice(i, 1)[0]?.fault;
    if (!chaos || chaos.budget <= 0 || !(chaos.match ?? (() => true))(method, path)) return undefined;
    if (chaos.next() >= chaos.rate) return undefined;
    chaos.budget--;
    return chaos.faults[Math.floor(chaos.next() * chaos.faults.length)];
  };

  const { key, cert } = await serverCertificate(pki, o.dir);
  const server: Server = createServer({ key, cert }, (req, res) => {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const entry: Seen = { at: Date.now(), method, path };
    seen.push(entry);
    const fault = pick(method, path);
    if (fault) {
      entry.fault = label(fault);
      injected[entry.fault] = (injected[entry.fault] ?? 0) + 1;
    }
    if (fault?.kind === "reset") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "status") {
      req.resume();
      entry.status = fault.status;
      res.writeHead(fault.status, {
        "content-type": "application/json",
        ...(fault.retryAfter !== undefined ? { "retry-after": String(fault.retryAfter) } : {}),
      });
      res.end(statusBody(fault.status));
      return;
    }
    const send = () =>
      forward(req, res, upstream, {
        loseAnswer: fault?.kind === "lose-answer",
        upstreamHost: true,
        agent,
        onAnswer: (status) => {
          entry.status = status;
        },
      });
    if (fault?.kind === "latency") {
      req.pause();
      setTimeout(send, fault.ms);
    } else {
      send();
    }
  });
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;

  const proxied = parse(readFileSync(o.kubeconfig, "utf8")) as {
    clusters: { cluster: { server: string } }[];
  };
  for (const c of proxied.clusters) c.cluster.server = url;
  const kubeconfig = join(o.dir, "kubeconfig-via-fault-proxy.yaml");
  writeFileSync(kubeconfig, stringify(proxied));

  return {
    kubeconfig,
    server: url,
    seen,
    injected,
    inject(fault, times, match = () => true) {
      for (let i = 0; i < times; i++) queue.push({ fault, match });
    },
    chaos(c) {
      chaos = { ...c, next: seeded(c.seed ?? 1) };
    },
    clear() {
      queue.splice(0);
      chaos = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
