/**
 * STAND-IN for Cloudflare's hosted API v4 (api.cloudflare.com cannot be reached from here): a small
 * node:http server implementing only the subset plinth's DNS provider calls through the official
 * `cloudflare` SDK, with Cloudflare's envelope (`success`, `errors`, `messages`, `result`,
 * `result_info`) and error shapes:
 *
 *   GET    /zones?name=&page=&per_page=              (zone `permissions` per token, like the real API)
 *   GET    /accounts
 *   GET    /zones/:zone/dns_records?name=|name.exact=&type=&page=&per_page=
 *   GET    /zones/:zone/dns_records/:id
 *   POST   /zones/:zone/dns_records
 *   PATCH  /zones/:zone/dns_records/:id
 *   PUT    /zones/:zone/dns_records/:id
 *   DELETE /zones/:zone/dns_records/:id
 *
 * Tokens: `edit` tokens may write, `read` tokens get 403 code 10000 on writes, unknown tokens 403
 * code 9109 "Invalid access token", a missing or malformed header 400 code 6003/6111. Faults: the
 * next N requests answered 429 with `retry-after`, or 5xx. Every request is logged, so tests can
 * assert that nothing was written.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StandinRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: string;
  content: string;
  proxied: boolean;
  proxiable: boolean;
  ttl: number;
  comment: string | null;
  tags: string[];
  settings: Record<string, never>;
  meta: Record<string, never>;
  created_on: string;
  modified_on: string;
}

export interface StandinZone {
  id: string;
  name: string;
  account: { id: string; name: string };
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface StandinOptions {
  /** Largest `per_page` honoured for DNS records (Cloudflare's default page is 100). */
  maxPerPage?: number;
  /** Report each zone's `permissions` for the token (the real API does; off to test the fallback). */
  reportPermissions?: boolean;
}

type Access = "edit" | "read";

const MUTATING = new Set(["POST", "PATCH", "PUT", "DELETE"]);

export class CloudflareStandin {
  readonly zones: StandinZone[] = [];
  readonly records = new Map<string, StandinRecord>();
  readonly requests: LoggedRequest[] = [];
  readonly #tokens = new Map<string, Access>();
  readonly #server: Server;
  readonly #options: Required<StandinOptions>;
  #faults: { status: number; retryAfter?: string }[] = [];
  #clock = Date.parse("2026-01-01T00:00:00Z");
  url = "";

  constructor(options: StandinOptions = {}) {
    this.#options = { maxPerPage: 5000, reportPermissions: true, ...options };
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        send(res, 500, envelope(null, [{ code: 10001, message: `stand-in error: ${String(err)}` }]));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/client/v4`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.#server.close((e) => (e ? reject(e) : resolve())));
  }

  token(access: Access): string {
    const token = `${access}-${randomBytes(16).toString("hex")}`;
    this.#tokens.set(token, access);
    return token;
  }

  addZone(name: string, account = { id: "acc0000000000000000000000000001", name: "Acme Corp" }): StandinZone {
    const zone = { id: randomBytes(16).toString("hex"), name, account };
    this.zones.push(zone);
    return zone;
  }

  /** A record created outside plinth (by hand, by another tool). */
  addRecord(zoneName: string, r: { name: string; type: string; content: string } & Partial<StandinRecord>) {
    const zone = this.#zoneByName(zoneName);
    return this.#store(zone, { proxied: false, ttl: 1, comment: null, ...r });
  }

  /** The next `count` requests are answered `status` (429 with `retry-after`, or a 5xx). */
  inject(count: number, status: number, retryAfter?: string): void {
    for (let i = 0; i < count; i++) this.#faults.push({ status, ...(retryAfter ? { retryAfter } : {}) });
  }

  mutations(): LoggedRequest[] {
    return this.requests.filter((r) => MUTATING.has(r.method));
  }

  recordsOf(zoneName: string): StandinRecord[] {
    const zone = this.#zoneByName(zoneName);
    return [...this.records.values()]
      .filter((r) => r.zone_id === zone.id)
      .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
  }

  find(name: string, type?: string): StandinRecord | undefined {
    return [...this.records.values()].find((r) => r.name === name && (!type || r.type === type));
  }

  clearLog(): void {
    this.requests.length = 0;
  }

  #zoneByName(name: string): StandinZone {
    const zone = this.zones.find((z) => z.name === name);
    if (!zone) throw new Error(`stand-in: no zone ${name}`);
    return zone;
  }

  #now(): string {
    this.#clock += 1000;
    return new Date(this.#clock).toISOString();
  }

  #store(zone: StandinZone, r: Partial<StandinRecord>): StandinRecord {
    const now = this.#now();
    const record: StandinRecord = {
      id: randomBytes(16).toString("hex"),
      zone_id: zone.id,
      zone_name: zone.name,
      name: String(r.name).toLowerCase(),
      type: String(r.type),
      content: String(r.content),
      proxied: r.proxied ?? false,
      proxiable: ["A", "AAAA", "CNAME"].includes(String(r.type)),
      ttl: r.proxied ? 1 : (r.ttl ?? 1),
      comment: r.comment ?? null,
      tags: r.tags ?? [],
      settings: {},
      meta: {},
      created_on: now,
      modified_on: now,
    };
    this.records.set(record.id, record);
    return record;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://standin");
    const method = req.method ?? "GET";
    const query = Object.fromEntries(url.searchParams);
    const log: LoggedRequest = { method, path: url.pathname, query, status: 0 };
    this.requests.push(log);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      log.status = status;
      send(res, status, body, headers);
    };
    const body = MUTATING.has(method) ? await readJson(req) : undefined;

    const fault = this.#faults.shift();
    if (fault) {
      const headers: Record<string, string> = fault.retryAfter ? { "retry-after": fault.retryAfter } : {};
      const err =
        fault.status === 429
          ? { code: 971, message: "Please wait and consider throttling your request speed" }
          : { code: 10000 + fault.status, message: "Internal Server Error" };
      return reply(fault.status, envelope(null, [err]), headers);
    }

    const auth = req.headers.authorization ?? "";
    const bearer = /^Bearer ([A-Za-z0-9_-]+)$/.exec(auth);
    if (!bearer) {
      return reply(
        400,
        envelope(null, [
          {
            code: 6003,
            message: "Invalid request headers",
            error_chain: [{ code: 6111, message: "Invalid format for Authorization header" }],
          },
        ]),
      );
    }
    const access = this.#tokens.get(bearer[1] as string);
    if (!access) return reply(403, envelope(null, [{ code: 9109, message: "Invalid access token" }]));

    const path = url.pathname.replace(/^\/client\/v4/, "");
    const parts = path.split("/").filter(Boolean);

    if (method === "GET" && path === "/zones") {
      const zones = this.zones
        .filter((z) => !query.name || z.name === query.name)
        .map((z) => ({
          ...z,
          status: "active",
          ...(this.#options.reportPermissions
            ? {
                permissions:
                  access === "edit"
                    ? ["#zone:read", "#dns_records:read", "#dns_records:edit"]
                    : ["#zone:read", "#dns_records:read"],
              }
            : {}),
        }));
      return reply(200, paged(zones, query, 50));
    }
    if (method === "GET" && path === "/accounts") {
      const accounts = [...new Map(this.zones.map((z) => [z.account.id, z.account])).values()];
      return reply(200, paged(accounts, query, 50));
    }
    if (parts[0] !== "zones" || parts[2] !== "dns_records" || parts.length > 4) {
      return reply(404, envelope(null, [{ code: 7000, message: "No route for that URI" }]));
    }
    const zone = this.zones.find((z) => z.id === parts[1]);
    if (!zone) {
      return reply(
        404,
        envelope(null, [
          { code: 7003, message: `Could not route to ${path}, perhaps your object identifier is invalid?` },
        ]),
      );
    }
    if (MUTATING.has(method) && access !== "edit") {
      return reply(403, envelope(null, [{ code: 10000, message: "Authentication error" }]));
    }
    const recordIdParam = parts[3];

    if (!recordIdParam) {
      if (method === "GET") {
        const name = query["name.exact"] ?? query.name;
        const records = [...this.records.values()]
          .filter((r) => r.zone_id === zone.id)
          .filter((r) => !name || r.name === name.toLowerCase())
          .filter((r) => !query.type || r.type === query.type)
          .filter(
            (r) => !query["comment.startswith"] || (r.comment ?? "").startsWith(query["comment.startswith"]),
          )
          .sort(
            (a, b) =>
              a.name.localeCompare(b.name) || a.type.localeCompare(b.type) || a.id.localeCompare(b.id),
          );
        return reply(200, paged(records, query, 100, this.#options.maxPerPage));
      }
      if (method === "POST") {
        const problem = this.#validate(zone, body);
        if (problem) return reply(400, envelope(null, [problem]));
        return reply(200, envelope(this.#store(zone, body as Partial<StandinRecord>)));
      }
      return reply(405, envelope(null, [{ code: 10405, message: "Method not allowed" }]));
    }

    const record = this.records.get(recordIdParam);
    if (!record || record.zone_id !== zone.id) {
      return reply(404, envelope(null, [{ code: 81044, message: "Record does not exist." }]));
    }
    if (method === "GET") return reply(200, envelope(record));
    if (method === "DELETE") {
      this.records.delete(record.id);
      return reply(200, envelope({ id: record.id }));
    }
    if (method === "PATCH" || method === "PUT") {
      const next = method === "PATCH" ? { ...record, ...(body as object) } : { ...(body as object) };
      const problem = this.#validate(zone, next, record.id);
      if (problem) return reply(400, envelope(null, [problem]));
      const n = next as Partial<StandinRecord>;
      const updated: StandinRecord = {
        ...record,
        name: String(n.name).toLowerCase(),
        type: String(n.type),
        content: String(n.content),
        proxied: n.proxied ?? false,
        ttl: n.proxied ? 1 : (n.ttl ?? 1),
        comment: n.comment ?? null,
        tags: n.tags ?? [],
        modified_on: this.#now(),
      };
      this.records.set(record.id, updated);
      return reply(200, envelope(updated));
    }
    return reply(405, envelope(null, [{ code: 10405, message: "Method not allowed" }]));
  }

  /** Cloudflare's checks that matter here: in the zone, comment length, CNAME exclusivity, duplicates. */
  #validate(zone: StandinZone, body: unknown, self?: string): { code: number; message: string } | undefined {
    const r = (body ?? {}) as Partial<StandinRecord>;
    const name = String(r.name ?? "").toLowerCase();
    if (!r.type || !r.content || !name) return { code: 9005, message: "Content for record is invalid." };
    if (name !== zone.name && !name.endsWith(`.${zone.name}`)) {
      return { code: 9007, message: "Record name is not in the zone." };
    }
    if ((r.comment ?? "").length > 100) {
      return { code: 9104, message: "Comment is too long; the limit is 100 characters on this plan." };
    }
    const same = [...this.records.values()].filter(
      (o) => o.zone_id === zone.id && o.name === name && o.id !== self,
    );
    if (same.some((o) => o.type === "CNAME") || (r.type === "CNAME" && same.length > 0)) {
      return { code: 81053, message: "An A, AAAA, or CNAME record with that host already exists." };
    }
    if (same.some((o) => o.type === r.type && o.content === r.content)) {
      return { code: 81058, message: "An identical record already exists." };
    }
    return undefined;
  }
}

function envelope(result: unknown, errors: unknown[] = []) {
  return { success: errors.length === 0, errors, messages: [], result };
}

function paged<T>(items: T[], query: Record<string, string>, perPageDefault: number, max = 5000) {
  const perPage = Math.min(Number(query.per_page ?? perPageDefault), max);
  const page = Math.max(1, Number(query.page ?? 1));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    ...envelope(slice),
    result_info: {
      page,
      per_page: perPage,
      count: slice.length,
      total_count: items.length,
      total_pages: Math.max(1, Math.ceil(items.length / perPage)),
    },
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}
