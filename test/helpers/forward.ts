/**
 * The forwarding half of the tests' fault proxies (in front of the API server, in front of S3):
 * one request sent upstream, its answer piped back, or read and dropped with the client's
 * connection (`loseAnswer`: the server did the work, the client never hears of it).
 */
import { type Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";

export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: URL,
  o: {
    loseAnswer: boolean;
    /** Send the upstream's host (TLS, virtual hosts); a signed request (S3) keeps the client's. */
    upstreamHost?: boolean;
    agent?: Agent;
    onAnswer?: (status: number | undefined) => void;
  },
): void {
  const send = upstream.protocol === "https:" ? httpsRequest : httpRequest;
  const up = send(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: o.upstreamHost ? { ...req.headers, host: upstream.host } : req.headers,
      ...(o.agent ? { agent: o.agent } : {}),
    },
    (answer) => {
      o.onAnswer?.(answer.statusCode);
      if (o.loseAnswer) {
        answer.resume();
        answer.on("end", () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  up.on("error", () => req.socket.destroy());
  req.pipe(up);
}
