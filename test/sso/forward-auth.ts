/**
 * A stand-in for Traefik's ForwardAuth middleware (Traefik itself cannot be built here: the Go
 * module proxy refuses 13 of its DNS-provider dependencies, see testbed/README.md). It does what
 * Traefik v3's `pkg/middlewares/auth/forward.go` documents and does, driven by the Middleware
 * object plinth renders (`spec.forwardAuth`):
 * - every request is first sent to `address` as a GET with the client's headers (hop-by-hop ones
 *   dropped) and X-Forwarded-Method, -Proto, -Host, -Uri, -For set from the request;
 * - a 2xx answer lets the request through to the UI, with each of `authResponseHeaders` copied
 *   from the answer onto the request (replacing what the client sent, so it cannot forge them);
 * - any other answer (the sign-in redirect, 401, 403) goes back to the client as it came: status,
 *   headers (Location, Set-Cookie) and body.
 */
import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** RFC 7230 hop-by-hop headers, which a proxy never forwards (Traefik's list). */
const HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer"];
const HOP_MORE = ["transfer-encoding", "upgrade"];

export interface ForwardAuthSpec {
  address: string;
  authResponseHeaders?: string[];
  trustForwardHeader?: boolean;
}

/** What this stand-in implements; a Middleware using more must fail here, not pass unchecked. */
const IMPLEMENTED = new Set(["address", "authResponseHeaders", "trustForwardHeader"]);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function send(url: URL, method: string, headers: IncomingHttpHeaders, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function withoutHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP.includes(name) && !HOP_MORE.includes(name)) out[name] = value;
  }
  return out;
}

/**
 * Serves one gated host on loopback: ForwardAuth to `auth` (the Middleware's address, pointed at
 * the local OAuth2-Proxy), then `upstream`. Returns the server and its base URL for `host`.
 */
export async function forwardAuthProxy(o: {
  spec: ForwardAuthSpec;
  auth: URL;
  upstream: URL;
}): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const unknown = Object.keys(o.spec).filter((k) => !IMPLEMENTED.has(k));
  if (unknown.length) throw new Error(`the ForwardAuth stand-in does not implement ${unknown.join(", ")}`);
  if (o.spec.trustForwardHeader)
    throw new Error("the ForwardAuth stand-in does not trust X-Forwarded-* headers");
  const copy = (o.spec.authResponseHeaders ?? []).map((h) => h.toLowerCase());
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const headers = withoutHop(req.headers);
        const forwarded: IncomingHttpHeaders = {
          ...headers,
          host: o.auth.host,
          "x-forwarded-method": req.method ?? "GET",
          "x-forwarded-proto": "http",
          "x-forwarded-host": req.headers.host ?? "",
          "x-forwarded-uri": req.url ?? "/",
          "x-forwarded-for": req.socket.remoteAddress ?? "",
        };
        delete forwarded["content-length"];
        const verdict = await send(o.auth, "GET", forwarded);
        if (verdict.status < 200 || verdict.status >= 300) {
          res.writeHead(verdict.status, withoutHop(verdict.headers));
          res.end(verdict.body);
          return;
        }
        const upstreamHeaders = { ...headers };
        for (const name of copy) {
          delete upstreamHeaders[name];
          const value = verdict.headers[name];
          if (value !== undefined) upstreamHeaders[name] = value;
        }
        const answer = await send(
          new URL(req.url ?? "/", o.upstream),
          req.method ?? "GET",
          upstreamHeaders,
          Buffer.concat(chunks),
        );
        res.writeHead(answer.status, withoutHop(answer.headers));
        res.end(answer.body);
      })().catch((error: unknown) => {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`forward-auth stand-in: ${String(error)}`);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
