import Cloudflare, { APIConnectionError, APIError } from "cloudflare";
import { TOKEN_PERMISSIONS } from "../../catalog/cloudflare.js";
import { type Diagnostic, error, UserError } from "../../diagnostics/diagnostic.js";

export interface CloudflareClientOptions {
  /** From `CLOUDFLARE_API_TOKEN`, read at the CLI edge only; never logged or put in a message. */
  apiToken: string;
  /** Defaults to Cloudflare's API (`https://api.cloudflare.com/client/v4`); tests point it at a stand-in. */
  baseURL?: string;
  fetch?: typeof fetch;
  /** Retries of a request answered 429, 408/409 or 5xx, or not answered (SDK default 2; ours 5). */
  maxRetries?: number;
  /**
   * The longest `retry-after` plinth waits for (seconds). Cloudflare's limit is 1200 requests per
   * 5 minutes; a longer wait than this fails the run, naming the wait, instead of hanging.
   */
  maxRetryAfterSeconds?: number;
  /** Per request (ms). */
  timeout?: number;
}

const TOKEN_FIX_TAIL = "and export it as CLOUDFLARE_API_TOKEN";

/**
 * The official SDK, configured for plinth: bounded retries with backoff (it honours `retry-after`,
 * capped here), no logging (requests carry the token), nothing read from the environment.
 */
export function createClient(o: CloudflareClientOptions): Cloudflare {
  const maxWait = (o.maxRetryAfterSeconds ?? 60) * 1000;
  const inner = o.fetch ?? globalThis.fetch;
  return new Cloudflare({
    apiToken: o.apiToken,
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: o.baseURL ?? "https://api.cloudflare.com/client/v4",
    maxRetries: o.maxRetries ?? 5,
    timeout: o.timeout ?? 30_000,
    logLevel: "off",
    fetch: (async (input: string | URL | Request, init?: RequestInit) =>
      capRetryAfter(await inner(input, init), maxWait)) as typeof fetch,
  });
}

/**
 * The SDK waits as long as `retry-after` says. A wait longer than `maxWaitMs` is not retried
 * (`x-should-retry: false`), so the run fails with the wait named rather than hanging for an hour.
 */
async function capRetryAfter(response: Response, maxWaitMs: number): Promise<Response> {
  if (response.ok) return response;
  const waitMs = retryAfterMs(response.headers);
  if (waitMs === undefined || waitMs <= maxWaitMs) return response;
  const headers = new Headers(response.headers);
  headers.set("x-should-retry", "false");
  return new Response(await response.arrayBuffer(), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (!Number.isNaN(seconds)) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at - Date.now();
}

/** What was being done when a call failed, to say it in the error. */
export interface CallContext {
  /** e.g. `list DNS records of zone example.com`. */
  action: string;
  zone?: string;
  /** A write needs Zone.DNS:Edit; a read of records Zone.DNS:Read. */
  write?: boolean;
  /** Every zone the run needs, for the fix. */
  zones: readonly string[];
  /** Removed from any text that reaches a message. */
  token: string;
  /** Config path to blame (e.g. the host's source). */
  path?: string;
}

/** Codes Cloudflare answers a malformed, unknown, expired or revoked token with. */
const INVALID_TOKEN_CODES = new Set([1000, 1001, 6003, 6100, 6101, 6102, 6103, 6111, 9103, 9106]);

/**
 * An SDK failure as a UserError that says what to do (token, permission, rate limit, outage), or
 * the error itself when it is not Cloudflare's answer (a bug in plinth).
 */
export function translate(err: unknown, c: CallContext): unknown {
  if (err instanceof UserError) return err;
  const zones = c.zones.length > 0 ? c.zones.join(", ") : "your zones";
  const tokenFix = `create an API token with ${TOKEN_PERMISSIONS} for ${zones} ${TOKEN_FIX_TAIL}`;
  const where = c.path ? { path: c.path } : {};
  if (err instanceof APIConnectionError) {
    return userError(`cannot reach the Cloudflare API to ${c.action}: ${redact(err.message, c.token)}`, c, {
      fix: "check the network (and the Cloudflare status page), then run again",
    });
  }
  if (!(err instanceof APIError)) return err;
  const codes = (err.errors ?? []).map((e) => e.code ?? 0);
  const first = err.errors?.[0];
  const said = first ? `code ${first.code}: ${first.message}` : `HTTP ${err.status}`;
  const status = err.status ?? 0;
  const invalid =
    status === 401 ||
    codes.some((code) => INVALID_TOKEN_CODES.has(code)) ||
    (codes.includes(9109) && /invalid|expired|revoked/i.test(first?.message ?? ""));
  if (invalid) {
    return userError(`Cloudflare rejected the API token as invalid (${redact(said, c.token)})`, c, {
      fix: `${tokenFix} (check it was copied whole and has not expired or been revoked)`,
    });
  }
  if (status === 403) {
    if (c.write) {
      return userError(
        `the API token may not edit DNS records in zone ${c.zone} (HTTP 403, ${redact(said, c.token)})`,
        c,
        { fix: `give the token the Zone.DNS:Edit permission for zone ${c.zone}`, ...where },
      );
    }
    const permission = c.zone ? "Zone.DNS:Read (Zone.DNS:Edit includes it)" : "Zone.Zone:Read";
    return userError(`the API token may not ${c.action} (HTTP 403, ${redact(said, c.token)})`, c, {
      fix: `give the token ${permission}${c.zone ? ` for zone ${c.zone}` : ""}; plinth needs ${TOKEN_PERMISSIONS}`,
    });
  }
  if (status === 429) {
    const wait = err.headers?.get("retry-after");
    return userError(
      `Cloudflare's rate limit stopped "${c.action}"${wait ? ` (it asked to wait ${wait} s)` : ""}`,
      c,
      {
        fix: "wait a few minutes and run again (apply is idempotent); other tools using the same account share the limit",
      },
    );
  }
  if (status >= 500 || status === 408) {
    return userError(`the Cloudflare API failed to ${c.action} (HTTP ${status}) after retries`, c, {
      fix: "run again later (apply is idempotent)",
    });
  }
  return userError(`Cloudflare refused to ${c.action} (HTTP ${status}, ${redact(said, c.token)})`, c, {
    fix: "check the host in the config; if it looks right this is a bug in plinth: report it",
    ...where,
  });
}

function userError(message: string, c: CallContext, where: { fix: string; path?: string }): UserError {
  const d: Diagnostic = error(redact(message, c.token), {
    ...(where.path ? { path: where.path } : {}),
    fix: redact(where.fix, c.token),
  });
  return new UserError(d);
}

/** The token never reaches a message, whatever Cloudflare or the network echoed back. */
export function redact(text: string, token: string): string {
  return token.length >= 4 ? text.split(token).join("(redacted)") : text;
}
