import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from "node:https";

export interface HttpAnswer {
  code: number;
  headers: Record<string, string>;
  body: string;
}

/** Keep-alive pools for callers without their own agent (idle sockets do not hold the process open). */
// Made on the first request: an offline command never loads the network stack (see scripts/bundle.mjs).
let agents: { http: HttpAgent; https: HttpsAgent } | undefined;
const agentsOf = () =>
  (agents ??= { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) });

/**
 * One HTTP/1.1 request with Node's own client, its answer read whole; resolves for every status
 * (callers decide what is an error) and rejects on a network error or when no answer comes within
 * `timeoutMs`. Not `fetch`: Node 20 compiles its bundled undici on the first call, a noticeable
 * share of a short command's run.
 */
export function requestText(
  url: URL,
  options: RequestOptions,
  body?: string,
  timeoutMs = 60_000,
): Promise<HttpAnswer> {
  const plain = url.protocol === "http:";
  return new Promise((resolve, reject) => {
    const req = (plain ? httpRequest : httpsRequest)(
      url,
      { agent: plain ? agentsOf().http : agentsOf().https, ...options },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            code: res.statusCode ?? 0,
            headers: res.headers as Record<string, string>,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    // An answer that never comes (a dropped connection) must end as an error, not a hang.
    req.setTimeout(timeoutMs, () =>
      req.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" })),
    );
    req.on("error", reject);
    req.end(body);
  });
}
