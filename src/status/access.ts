/**
 * `plinth status`'s access checks: per published host, an anonymous request from outside, as a
 * stranger would make it. A human UI must send it to the login (or refuse it); an exception must
 * answer it. A UI that serves an anonymous request is a failed check, whatever else is healthy.
 */
import { EXPOSURE, hostAccess } from "../catalog/gate.js";
import type { ServiceId } from "../config/ids.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { HealthResult } from "../providers/kubernetes/health.js";

export interface AccessAnswer {
  code: number;
  /** The Location header of a redirect. */
  location?: string;
}

/** One anonymous GET without following redirects; rejects when nothing answers. */
export type AccessProbe = (url: URL) => Promise<AccessAnswer>;

export interface AccessCheck {
  service: ServiceId;
  url: URL;
  expect: "gated" | "open";
  /** The login host a gated UI redirects to, when the environment has one. */
  login?: string;
  /** Why an open path is open, or why a UI has no login. */
  reason: string;
}

/** Hosts reached through Traefik that status can judge: not the apps' own, not the k3s API. */
const NOT_CHECKED: ReadonlySet<ServiceId> = new Set(["frontend", "backend", "k3s-api"]);

/** What to ask, per host of a public environment: every human UI at `/`, every exception at its path. */
export function accessChecks(env: ResolvedEnvironment): AccessCheck[] {
  if (!env.publicHosts) return [];
  const out: AccessCheck[] = [];
  for (const a of hostAccess(env)) {
    if (NOT_CHECKED.has(a.service)) continue;
    const base = `https://${a.host}`;
    if (EXPOSURE[a.service].kind === "gated") {
      out.push({
        service: a.service,
        url: new URL(`${base}/`),
        expect: "gated",
        ...(a.login ? { login: a.login } : {}),
        reason: a.reason,
      });
      for (const p of a.open)
        out.push({ service: a.service, url: new URL(`${base}${p.path}`), expect: "open", reason: p.reason });
    } else {
      out.push({ service: a.service, url: new URL(`${base}/`), expect: "open", reason: a.reason });
    }
  }
  return out;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Whether a redirect goes to the login: another host (the login or the provider) or `/oauth2/`. */
function toLogin(url: URL, location: string | undefined, login: string | undefined): string | undefined {
  if (!location) return undefined;
  let target: URL;
  try {
    target = new URL(location, url);
  } catch {
    return undefined;
  }
  if (target.host === url.host && !target.pathname.startsWith("/oauth2/")) return undefined;
  return login && target.host === login ? login : target.host;
}

/** The verdict on one anonymous answer (or the error instead of one). Pure. */
export function judgeAccess(check: AccessCheck, answer: AccessAnswer | Error): HealthResult {
  const name = `anonymous ${check.url.href} (${check.expect === "gated" ? "must be refused" : "must answer"})`;
  if (answer instanceof Error) return { check: name, ok: false, detail: `unreachable (${answer.message})` };
  const { code } = answer;
  const login = REDIRECTS.has(code) ? toLogin(check.url, answer.location, check.login) : undefined;
  if (check.expect === "gated") {
    if (login) return { check: name, ok: true, detail: `HTTP ${code}: sent to the login at ${login}` };
    if (code === 401 || code === 403) return { check: name, ok: true, detail: `HTTP ${code}: refused` };
    if (code >= 500) return { check: name, ok: false, detail: `HTTP ${code}: the gate or the UI is down` };
    if (code === 404)
      return { check: name, ok: false, detail: "HTTP 404: no route (its Ingress or Middleware missing?)" };
    return {
      check: name,
      ok: false,
      detail: `OPEN: HTTP ${code} to an anonymous request${REDIRECTS.has(code) ? ` (redirect to ${answer.location})` : ""}; ${check.reason}`,
    };
  }
  if (login)
    return {
      check: name,
      ok: false,
      detail: `HTTP ${code}: behind the login, but must stay open (${check.reason})`,
    };
  if (code >= 500) return { check: name, ok: false, detail: `HTTP ${code}` };
  return { check: name, ok: true, detail: `HTTP ${code}: answers without a login` };
}

/** Runs the checks of the given services (a component's hosts), at most one request per check. */
export async function checkAccess(
  env: ResolvedEnvironment,
  services: ReadonlySet<ServiceId>,
  probe: AccessProbe,
): Promise<HealthResult[]> {
  const checks = accessChecks(env).filter((c) => services.has(c.service));
  return Promise.all(
    checks.map(async (c) =>
      judgeAccess(
        c,
        await probe(c.url).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
      ),
    ),
  );
}

/** The real probe: HTTPS from here, no redirect followed, any certificate (its trust is reported apart). */
export const httpsProbe: AccessProbe = async (url) => {
  // Loaded on first use: an offline command never loads the network stack.
  const { requestText } = await import("../providers/http.js");
  const answer = await requestText(url, { method: "GET", rejectUnauthorized: false }, undefined, 10_000);
  const location = answer.headers.location;
  return { code: answer.code, ...(location ? { location } : {}) };
};
