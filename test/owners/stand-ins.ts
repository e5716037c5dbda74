/**
 * Local stand-ins for the sign-up APIs of SigNoz and OpenPanel: neither can run on this machine
 * (SigNoz needs its ClickHouse and 8 GB; OpenPanel's images come from Docker Hub, which is not
 * reachable here), and neither publishes a description of these endpoints (SigNoz's OpenAPI
 * definitions cover its newer v2 routes, not /api/v1/register; OpenPanel's tRPC router has types
 * only in TypeScript source). So each is built from the pinned version's handler source, cited
 * below, answering exactly as that code does for the calls plinth makes:
 *
 * - SigNoz v0.130.1 (github.com/SigNoz/signoz, tag v0.130.1): pkg/query-service/app/http_handler.go
 *   (`getVersion`, `registerUser`: "self-registration is disabled" once `SetupCompleted`),
 *   pkg/modules/session/implsession/{handler,module}.go and
 *   pkg/authn/passwordauthn/emailpasswordauthn/authn.go (session context, email/password login),
 *   pkg/types/user.go (`PostableRegisterOrgAndAdmin`), pkg/types/factor_password.go
 *   (`IsPasswordValid`), pkg/http/render/render.go (the `{status, data | error}` envelope).
 * - OpenPanel 2.0.0 (github.com/Openpanel-dev/openpanel, commit 3158ebfb "chore: prep v2
 *   self-hosting"): packages/trpc/src/routers/auth.ts (`getIsRegistrationAllowed`,
 *   `signUpEmail`, `signInEmail`), packages/trpc/src/errors.ts, packages/validation/src/index.ts
 *   (`zSignUpEmail`), served by tRPC v11's fastify adapter under /trpc with superjson.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Account {
  email: string;
  password: string;
}

/** Every call a stand-in answered, in order (method and path), for "called once / never" checks. */
export interface StandIn {
  server: Server;
  port: number;
  calls: string[];
  accounts: Account[];
  /** Starts over: no accounts (a fresh install), or the given ones (someone signed up first). */
  reset(accounts?: Account[]): void;
  /** The next request to this path gets this answer instead (a component failing mid-way). */
  failNext: Map<string, [number, string]>;
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, code: number, value: unknown): void {
  res.writeHead(code, { "Content-Type": "application/json" }).end(JSON.stringify(value));
}

async function listen(ip: string, handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { message: String(e) }));
  });
  await new Promise<void>((done) => server.listen(0, ip, done));
  return { server, port: (server.address() as AddressInfo).port };
}

// ---- SigNoz v0.130.1 ----

const SYMBOLS = '~!@#$%^&*()_+`-={}|[]\\:"<>?,./';

/** pkg/types/factor_password.go IsPasswordValid: 12+, upper, lower, digit, symbol, nothing else. */
function signozPasswordValid(p: string): boolean {
  if (p.length < 12) return false;
  for (const ch of p) if (!/[\p{L}\p{N}]/u.test(ch) && !SYMBOLS.includes(ch)) return false;
  return (
    /\p{Lu}/u.test(p) && /\p{Ll}/u.test(p) && /\p{N}/u.test(p) && [...p].some((c) => SYMBOLS.includes(c))
  );
}

const SIGNOZ_ORG = "0196a5a4-3c4e-7b6f-9a1d-2f3e4d5c6b7a";

const signozError = (code: string, message: string) => ({ status: "error", error: { code, message } });

export async function signozStandIn(ip: string): Promise<StandIn> {
  const s = {
    calls: [] as string[],
    accounts: [] as Account[],
    failNext: new Map<string, [number, string]>(),
  };
  const { server, port } = await listen(ip, async (req, res) => {
    s.calls.push(`${req.method} ${req.url}`);
    const fail = s.failNext.get(req.url ?? "");
    if (fail) {
      s.failNext.delete(req.url ?? "");
      res.writeHead(fail[0], { "Content-Type": "text/plain" }).end(fail[1]);
      return;
    }
    // A user exists: http_handler.go sets SetupCompleted at start (count > 0) or on register.
    const setupCompleted = s.accounts.length > 0;
    if (req.method === "GET" && req.url === "/api/v1/health") return send(res, 200, { status: "ok" });
    if (req.method === "GET" && req.url === "/api/v1/version") {
      return send(res, 200, { version: "v0.130.1", ee: "Y", setupCompleted });
    }
    if (req.method === "POST" && req.url === "/api/v1/register") {
      if (setupCompleted) {
        return send(res, 400, signozError("invalid_input", "self-registration is disabled"));
      }
      const r = (await body(req)) as Partial<Record<string, string>> | undefined;
      if (!r || !signozPasswordValid(r.password ?? "")) {
        return send(
          res,
          400,
          signozError("invalid_password", "password must be at least 12 characters long..."),
        );
      }
      if (!r.email) return send(res, 400, signozError("invalid_input", "email is required"));
      s.accounts.push({ email: r.email, password: r.password ?? "" });
      return send(res, 200, { status: "success", data: { email: r.email, displayName: r.name } });
    }
    // pkg/modules/session/implsession: the organisations an email may sign in to, then the login.
    const url = new URL(req.url ?? "/", "http://stand-in");
    if (req.method === "GET" && url.pathname === "/api/v2/sessions/context") {
      const exists = s.accounts.some((a) => a.email === url.searchParams.get("email"));
      const orgs = setupCompleted ? [{ id: SIGNOZ_ORG, name: "acme" }] : [];
      return send(res, 200, { status: "success", data: { exists, orgs } });
    }
    if (req.method === "POST" && url.pathname === "/api/v2/sessions/email_password") {
      const r = (await body(req)) as Partial<Record<string, string>> | undefined;
      const user = s.accounts.find((a) => a.email === r?.email);
      // emailpasswordauthn/authn.go: TypeUnauthenticated, "invalid email or password".
      if (!user || user.password !== r?.password || r?.orgId !== SIGNOZ_ORG) {
        return send(res, 401, signozError("incorrect_password", "invalid email or password"));
      }
      return send(res, 200, { status: "success", data: { accessToken: "token", refreshToken: "token" } });
    }
    send(res, 404, signozError("not_found", "not found"));
  });
  return {
    server,
    port,
    ...s,
    reset(accounts = []) {
      s.calls.length = 0;
      s.accounts.splice(0, s.accounts.length, ...accounts);
    },
  };
}

// ---- OpenPanel 2.0.0 (ALLOW_REGISTRATION=false, as plinth renders it) ----

const TRPC_CODES = {
  UNAUTHORIZED: [-32001, 401],
  NOT_FOUND: [-32004, 404],
  BAD_REQUEST: [-32600, 400],
} as const;

function trpcError(res: ServerResponse, path: string, code: keyof typeof TRPC_CODES, message: string): void {
  const [rpc, http] = TRPC_CODES[code];
  send(res, http, { error: { json: { message, code: rpc, data: { code, httpStatus: http, path } } } });
}

const trpcResult = (res: ServerResponse, value: unknown) =>
  send(res, 200, { result: { data: { json: value } } });

export async function openpanelStandIn(ip: string): Promise<StandIn> {
  const s = {
    calls: [] as string[],
    accounts: [] as Account[],
    failNext: new Map<string, [number, string]>(),
  };
  const { server, port } = await listen(ip, async (req, res) => {
    s.calls.push(`${req.method} ${req.url}`);
    const fail = s.failNext.get(req.url ?? "");
    if (fail) {
      s.failNext.delete(req.url ?? "");
      res.writeHead(fail[0], { "Content-Type": "text/plain" }).end(fail[1]);
      return;
    }
    if (req.method === "GET" && req.url === "/healthcheck") return send(res, 200, { ready: true });
    const input = ((await body(req)) as { json?: Partial<Record<string, string>> } | undefined)?.json;
    if (req.method === "POST" && req.url === "/trpc/auth.signUpEmail") {
      const path = "auth.signUpEmail";
      // zSignUpEmail
      if (
        !input?.firstName ||
        !input.lastName ||
        !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(input.email ?? "") ||
        (input.password ?? "").length < 8 ||
        input.password !== input.confirmPassword
      ) {
        return trpcError(res, path, "BAD_REQUEST", "invalid input");
      }
      // getIsRegistrationAllowed with ALLOW_REGISTRATION=false: the first user only.
      if (s.accounts.length > 0) return trpcError(res, path, "UNAUTHORIZED", "Registrations are not allowed");
      s.accounts.push({ email: input.email ?? "", password: input.password ?? "" });
      return trpcResult(res, { id: "session", userId: "user" });
    }
    if (req.method === "POST" && req.url === "/trpc/auth.signInEmail") {
      const path = "auth.signInEmail";
      const user = s.accounts.find((a) => a.email === input?.email);
      if (!user) return trpcError(res, path, "NOT_FOUND", "User does not exists");
      if (user.password !== input?.password) {
        return trpcError(res, path, "UNAUTHORIZED", "Incorrect email or password");
      }
      return trpcResult(res, { type: "email" });
    }
    send(res, 404, { message: "Route not found" });
  });
  return {
    server,
    port,
    ...s,
    reset(accounts = []) {
      s.calls.length = 0;
      s.accounts.splice(0, s.accounts.length, ...accounts);
    },
  };
}
