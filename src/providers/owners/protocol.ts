/**
 * The sign-up and sign-in calls of SigNoz and OpenPanel as plain data, and what their answers
 * mean: no I/O here (owner.ts sends them through the API server's service proxy).
 *
 * SigNoz v0.130.1 (the chart 0.130.1's appVersion), pkg/query-service/app/http_handler.go:
 * `POST /api/v1/register` {name, email, password, orgDisplayName, orgName} creates the first
 * organisation and its admin, then answers every later call "self-registration is disabled";
 * `GET /api/v1/version` says `setupCompleted` (true once an organisation has a user, or a root user
 * is configured). After setup, users join only by an admin's invite. Whether an existing account
 * is plinth's: `GET /api/v2/sessions/context` (its organisations), then `POST
 * /api/v2/sessions/email_password` (pkg/modules/session/implsession/handler.go).
 *
 * OpenPanel 2.0.0 (commit 3158ebfb, "prep v2 self-hosting"), packages/trpc/src/routers/auth.ts:
 * tRPC v11 with superjson, served by the api under /trpc. `auth.signUpEmail` {firstName, lastName,
 * email, password, confirmPassword} registers anyone while ALLOW_REGISTRATION is unset; with
 * ALLOW_REGISTRATION=false only the very first user (or an invite) may, later ones get UNAUTHORIZED
 * "Registrations are not allowed". `auth.signInEmail` {email, password} tells whether an account is
 * ours (UNAUTHORIZED "Incorrect email or password" otherwise).
 */
import type { OwnerAccount } from "../../catalog/owners.js";

export interface OwnerRequest {
  method: "GET" | "POST";
  /** Path on the component's Service, below the service proxy. */
  path: string;
  /** JSON body. */
  body?: string;
}

export interface OwnerAnswer {
  code: number;
  body: string;
}

/** What a sign-up answer says. */
export type SignUp =
  | { outcome: "created" }
  /** Sign-up is closed: someone owns the component already (us or another). */
  | { outcome: "closed" }
  /** Not the component's answer (a proxy error, the service not answering yet): said as is. */
  | { outcome: "unexpected"; detail: string };

function json(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The answer in one short line: status and the component's own message where it has one. */
export function answerDetail(a: OwnerAnswer): string {
  const parsed = json(a.body) as Record<string, unknown> | undefined;
  const message =
    messageOf(parsed?.error) ?? (typeof parsed?.message === "string" ? parsed.message : undefined);
  return `HTTP ${a.code}${message ? `: ${message}` : a.body ? `: ${a.body.slice(0, 120)}` : ""}`;
}

function messageOf(error: unknown): string | undefined {
  if (typeof error === "string") return error;
  const e = error as { message?: unknown; json?: { message?: unknown } } | undefined;
  if (typeof e?.message === "string") return e.message;
  if (typeof e?.json?.message === "string") return e.json.message;
  return undefined;
}

// ---- SigNoz ----

export const signozRequests = {
  setup: (): OwnerRequest => ({ method: "GET", path: "/api/v1/version" }),
  register: (a: OwnerAccount, password: string): OwnerRequest => ({
    method: "POST",
    path: "/api/v1/register",
    body: JSON.stringify({
      name: "Owner",
      email: a.email,
      password,
      orgDisplayName: a.organisation,
      orgName: a.organisation,
    }),
  }),
};

/** Whether an account is the owner plinth made: its password signs in, another password, or no such email. */
export type Ours = "ours" | "other-password" | "no-account" | "unexpected";

/** SigNoz's login needs the organisation: the session context lists those the email belongs to. */
export const signozLogin = {
  context: (a: OwnerAccount): OwnerRequest => ({
    method: "GET",
    path: `/api/v2/sessions/context?${new URLSearchParams({ email: a.email, ref: a.host ? `https://${a.host}` : "" })}`,
  }),
  session: (a: OwnerAccount, password: string, orgId: string): OwnerRequest => ({
    method: "POST",
    path: "/api/v2/sessions/email_password",
    body: JSON.stringify({ email: a.email, password, orgId }),
  }),
};

/** pkg/modules/session/implsession: `{exists, orgs: [{id}]}` in the `{status, data}` envelope. */
export function signozContext(a: OwnerAnswer): { exists: boolean; orgs: string[] } | undefined {
  if (a.code !== 200) return undefined;
  const data = (json(a.body) as { data?: { exists?: unknown; orgs?: { id?: unknown }[] } } | undefined)?.data;
  if (typeof data?.exists !== "boolean") return undefined;
  return {
    exists: data.exists,
    orgs: (data.orgs ?? []).flatMap((o) => (typeof o.id === "string" ? [o.id] : [])),
  };
}

/** A login answer: 2xx signed in; a 4xx is a refusal (wrong password); anything else unexpected. */
export function signozSession(a: OwnerAnswer): boolean | "unexpected" {
  if (a.code >= 200 && a.code < 300) return true;
  if (a.code >= 400 && a.code < 500) return false;
  return "unexpected";
}

/** Whether SigNoz already has its first user; undefined when the answer is not SigNoz's version. */
export function signozSetupCompleted(a: OwnerAnswer): boolean | undefined {
  if (a.code !== 200) return undefined;
  const parsed = json(a.body) as
    | { setupCompleted?: unknown; data?: { setupCompleted?: unknown } }
    | undefined;
  const value = parsed?.setupCompleted ?? parsed?.data?.setupCompleted;
  return typeof value === "boolean" ? value : undefined;
}

export function signozSignUp(a: OwnerAnswer): SignUp {
  if (a.code >= 200 && a.code < 300) return { outcome: "created" };
  if (a.code === 400 && /self-registration is disabled/i.test(a.body)) return { outcome: "closed" };
  return { outcome: "unexpected", detail: answerDetail(a) };
}

// ---- OpenPanel ----

/** A tRPC v11 mutation over HTTP, without batching: the superjson-wrapped input as the body. */
function trpcMutation(procedure: string, input: Record<string, string>): OwnerRequest {
  return { method: "POST", path: `/trpc/${procedure}`, body: JSON.stringify({ json: input }) };
}

export const openpanelRequests = {
  signUp: (a: OwnerAccount, password: string): OwnerRequest =>
    trpcMutation("auth.signUpEmail", {
      firstName: "Owner",
      lastName: a.organisation,
      email: a.email,
      password,
      confirmPassword: password,
    }),
  signIn: (a: OwnerAccount, password: string): OwnerRequest =>
    trpcMutation("auth.signInEmail", { email: a.email, password }),
};

/** The tRPC error code (`UNAUTHORIZED`, `NOT_FOUND`...) of an answer, if it is a tRPC error. */
function trpcCode(a: OwnerAnswer): string | undefined {
  const parsed = json(a.body) as { error?: { json?: { data?: { code?: unknown } } } } | undefined;
  const code = parsed?.error?.json?.data?.code;
  return typeof code === "string" ? code : undefined;
}

export function openpanelSignUp(a: OwnerAnswer): SignUp {
  if (a.code === 200 && json(a.body) !== undefined) return { outcome: "created" };
  const code = trpcCode(a);
  // Registration closed (ALLOW_REGISTRATION=false and a user exists), or this email exists.
  if (code === "UNAUTHORIZED" || code === "NOT_FOUND") return { outcome: "closed" };
  return { outcome: "unexpected", detail: answerDetail(a) };
}

/** Whether the owner's email and password sign in (auth.signInEmail's NOT_FOUND: no such user). */
export function openpanelSignIn(a: OwnerAnswer): Ours {
  if (a.code === 200) return "ours";
  const code = trpcCode(a);
  if (code === "UNAUTHORIZED") return "other-password";
  if (code === "NOT_FOUND") return "no-account";
  return "unexpected";
}
