/**
 * The login gate for real: OAuth2-Proxy v7.15.6 built from its Go module (the test bed's
 * OAUTH2_PROXY_BIN) runs with the command line plinth's sso component renders, against the test
 * bed's OpenBao as the OpenID Connect provider (its identity/oidc/provider, userpass users, identity
 * groups in a `groups` claim), in front of a small local UI, and headless Chromium (Debian's, driven
 * by playwright-core) walks through it.
 *
 * Traefik is the one piece not real: its Go module cannot be built here (the module proxy refuses
 * 13 of its dependencies), so `forward-auth.ts` stands in for its ForwardAuth middleware, reading
 * the Middleware object plinth renders.
 *
 * What differs from the rendered configuration, and why (everything else is plinth's, checked
 * below flag by flag):
 * - `--http-address`: 127.0.0.1 and a free port instead of 0.0.0.0:4180 (a shared machine);
 * - the issuer: OpenBao's own, on http://127.0.0.1 (the config only takes https:// issuers);
 * - redirect URL, cookie domain and redirect whitelist: hosts under `gate-<id>.localhost`, which
 *   Chromium resolves to loopback, on the test's ports, over http (no certificates here). The
 *   cookie stays `Secure` as rendered: browsers treat http://*.localhost as a secure context.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, type BrowserContext, type Cookie, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLIENT_SECRET,
  COOKIE_SECRET,
  type GateSettings,
  gateSettings,
  oauth2ProxyConfig,
  sso,
} from "../../src/catalog/components/sso.js";
import { MIDDLEWARES_ANNOTATION, middlewareRef } from "../../src/catalog/gate.js";
import { CATALOG } from "../../src/catalog/index.js";
import { resolve } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { generateValue } from "../../src/secrets/generate.js";
import { freePort } from "../../testbed/lib/ports.js";
import { exampleWith } from "../helpers/config.js";
import { testbedEnv } from "../testbed/env.js";
import { type ForwardAuthSpec, forwardAuthProxy } from "./forward-auth.js";
import { type RunningProxy, startOAuth2Proxy } from "./oauth2-proxy.js";
import { type OidcUser, type OpenBaoOidc, openBaoOidc } from "./openbao-oidc.js";

const id = randomBytes(3).toString("hex");
const domain = `gate-${id}.localhost`;
const ENVIRONMENT = "staging";

/** The flags this test replaces (see the file's comment); every other rendered flag is used as is. */
const OVERRIDDEN = [
  "--http-address",
  "--oidc-issuer-url",
  "--redirect-url",
  "--cookie-domain",
  "--whitelist-domain",
];
const flagName = (arg: string) => arg.split("=")[0] ?? arg;

/** The small UI behind the gate: answers with what it was told about the visitor, and counts. */
interface Upstream {
  server: Server;
  port: number;
  seen: IncomingHttpHeaders[];
}

async function upstream(): Promise<Upstream> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        ui: "behind the gate",
        user: req.headers["x-auth-request-user"] ?? null,
        email: req.headers["x-auth-request-email"] ?? null,
      }),
    );
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

/**
 * The ForwardAuth Middleware in front of SigNoz (a UI that hands its first visitor the owner
 * account, the reason for the gate) as the catalog renders it for the environment, checked to be
 * attached to SigNoz's Ingress and to point at the Service the sso component renders.
 */
function renderedMiddleware(env: ResolvedEnvironment): { host: string; spec: ForwardAuthSpec } {
  expect(env.components.signoz.enabled).toBe(true);
  const objects = CATALOG.signoz.objects(env);
  const middleware = objects.find((o) => o.kind === "Middleware");
  const spec = (middleware?.spec as { forwardAuth?: ForwardAuthSpec } | undefined)?.forwardAuth;
  if (!middleware || !spec) throw new Error(`${env.name}: SigNoz renders no ForwardAuth Middleware`);
  const ref = middlewareRef(middleware.metadata.namespace ?? "", middleware.metadata.name);
  const gated = objects.find(
    (o) => o.kind === "Ingress" && o.metadata.annotations?.[MIDDLEWARES_ANNOTATION] === ref,
  );
  const rules = (gated?.spec as { rules?: { host: string }[] } | undefined)?.rules ?? [];
  if (!rules[0]) throw new Error(`${env.name}: no Ingress of SigNoz carries the middleware ${ref}`);

  const address = new URL(spec.address);
  const service = sso
    .objects(env)
    .find(
      (o) =>
        o.kind === "Service" &&
        `${o.metadata.name}.${o.metadata.namespace}.svc.cluster.local` === address.hostname,
    );
  const ports = (service?.spec as { ports?: { port: number }[] } | undefined)?.ports ?? [];
  expect(ports.map((p) => String(p.port))).toContain(address.port);
  // The UI's own host name (its first label) under the test's domain.
  return { host: rules[0].host.split(".")[0] ?? "signoz", spec };
}

/** OpenBao's login page: userpass, with the test's own mount path (under "More options"). */
async function signIn(page: Page, oidc: OpenBaoOidc, user: OidcUser): Promise<void> {
  await page.selectOption('select[data-test-select="auth-method"]', "userpass");
  await page.fill("#username", user.username);
  await page.fill("#password", user.password);
  await page.getByText("More options").click();
  await page.fill("#custom-path", oidc.mount);
  await page.click("#auth-submit");
}

/** One environment's gate as it runs here: plinth's rendered command line with the local overrides. */
interface LocalGate {
  env: ResolvedEnvironment;
  rendered: GateSettings;
  args: string[];
  /** OAUTH2_PROXY_CLIENT_SECRET and _COOKIE_SECRET, as the Deployment gets them from the Secrets. */
  secrets: Record<string, string>;
  /** The auth host as the browser sees it; `local` the same server for the test's own requests. */
  base: string;
  local: string;
}

function localGate(env: ResolvedEnvironment, port: number, oidc: OpenBaoOidc): LocalGate {
  expect(env.components.sso.enabled).toBe(true);
  const base = `http://auth-${env.name}.${domain}:${port}`;
  const rendered = gateSettings(env);
  const local: GateSettings = {
    ...rendered,
    ...(rendered.provider === "oidc" ? { issuer: oidc.issuer } : {}),
    redirectUrl: `${base}/oauth2/callback`,
    cookieDomain: `.${domain}`,
    whitelistDomains: [`.${domain}:*`],
  };
  const config = oauth2ProxyConfig(local);
  const renderedArgs = oauth2ProxyConfig(rendered).args;
  // Only the listed flags may differ from what plinth deploys.
  const kept = (list: string[]) => list.filter((a) => !OVERRIDDEN.includes(flagName(a)));
  expect(kept(config.args)).toEqual(kept(renderedArgs));
  expect(renderedArgs.filter((a) => flagName(a) === "--http-address")).toHaveLength(1);
  const args = config.args.map((a) =>
    flagName(a) === "--http-address" ? `--http-address=127.0.0.1:${port}` : a,
  );

  // The cookie secret comes from plinth's own generator and the sso component's spec, once per
  // environment as plinth keeps it.
  const specs = sso.secrets?.(env) ?? [];
  const cookieSpec = specs.find((s) => s.name === COOKIE_SECRET)?.keys["cookie-secret"];
  if (!cookieSpec) throw new Error(`the sso component declares no ${COOKIE_SECRET} secret`);
  const values: Record<string, string> = {
    [`${CLIENT_SECRET}/client-secret`]: oidc.clientSecret,
    [`${COOKIE_SECRET}/cookie-secret`]: generateValue(cookieSpec),
  };
  const secrets = Object.fromEntries(
    config.env.map((e) => {
      const ref = e.valueFrom.secretKeyRef;
      const value = values[`${ref.name}/${ref.key}`];
      if (value === undefined) throw new Error(`no value for ${ref.name}/${ref.key} (${e.name})`);
      return [e.name, value];
    }),
  );
  return { env, rendered, args, secrets, base, local: `http://127.0.0.1:${port}` };
}

const launch = (g: LocalGate, cookieSecret = g.secrets.OAUTH2_PROXY_COOKIE_SECRET ?? "") =>
  startOAuth2Proxy({
    bin: testbedEnv("OAUTH2_PROXY_BIN"),
    args: g.args,
    env: { ...g.secrets, OAUTH2_PROXY_COOKIE_SECRET: cookieSecret },
    base: g.local,
  });

const authCheck = (g: LocalGate, cookies: Cookie[]) =>
  fetch(`${g.local}/oauth2/auth`, {
    headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join("; ") },
    redirect: "manual",
  }).then((r) => r.status);

describe("the SSO gate (OAuth2-Proxy as plinth renders it, OpenBao as the OIDC provider, Chromium)", () => {
  const vault = testbedEnv("VAULT_ADDR");
  let oidc: OpenBaoOidc;
  let ui: Upstream;
  let gate: Awaited<ReturnType<typeof forwardAuthProxy>>;
  let proxy: RunningProxy;
  let browser: Browser;
  /** Staging's gate, in front of the UI; prod's (narrower) only for the per-environment test. */
  let staging: LocalGate;
  let prod: LocalGate;
  let authBase: string;
  let authLocal: string;
  let uiUrl: string;
  let member: BrowserContext;

  const start = (cookieSecret?: string) => launch(staging, cookieSecret);
  const sessionCookies = (cookies: Cookie[], g = staging) =>
    cookies.filter((c) => c.name.startsWith(g.rendered.cookieName));

  beforeAll(async () => {
    const [stagingPort, prodPort] = [await freePort(), await freePort()];
    const callback = (name: string, port: number) => `http://auth-${name}.${domain}:${port}/oauth2/callback`;
    oidc = await openBaoOidc({
      addr: vault,
      token: testbedEnv("VAULT_TOKEN"),
      id,
      redirectUris: [callback(ENVIRONMENT, stagingPort), callback("prod", prodPort)],
    });
    // The configuration an operator writes for an OIDC issuer (the secret only by name); prod
    // narrows who may pass to a group the member is not in.
    const config = exampleWith((raw) => {
      raw.defaults = {
        ...raw.defaults,
        sso: {
          provider: "oidc",
          issuer: oidc.issuer.replace(/^http:/, "https:"),
          allowedGroups: [oidc.allowedGroup],
          clientId: oidc.clientId,
          clientSecret: { fromEnv: "SSO_CLIENT_SECRET" },
        },
      };
      const prodEnv = raw.environments.prod;
      if (prodEnv) prodEnv.sso = { allowedGroups: [`${oidc.allowedGroup}-admins`] };
    });
    staging = localGate(resolve(config, ENVIRONMENT), stagingPort, oidc);
    prod = localGate(resolve(config, "prod"), prodPort, oidc);
    authBase = staging.base;
    authLocal = staging.local;
    const env = staging.env;

    ui = await upstream();
    const middleware = renderedMiddleware(env);
    // The Middleware's address is the in-cluster Service; its path and headers are plinth's.
    const address = new URL(middleware.spec.address);
    gate = await forwardAuthProxy({
      spec: middleware.spec,
      auth: new URL(`${address.pathname}${address.search}`, authLocal),
      upstream: new URL(`http://127.0.0.1:${ui.port}`),
    });
    uiUrl = `http://${middleware.host}.${domain}:${gate.port}/reports?tab=1`;
    proxy = await start();
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        // *.localhost is loopback already; this makes it IPv4, where everything here listens.
        "--host-resolver-rules=MAP *.localhost 127.0.0.1",
      ],
    });
  });

  afterAll(async () => {
    await member?.close();
    await browser?.close();
    await proxy?.stop();
    await gate?.close();
    ui?.server.closeAllConnections();
    ui?.server.close();
    await oidc?.remove();
  });

  it("sends an anonymous visit to OpenBao's login page, and ForwardAuth's endpoints refuse it", async () => {
    member = await browser.newContext();
    const page = await member.newPage();
    await page.goto(uiUrl);
    await page.waitForURL((u) => u.href.startsWith(`${vault}/ui/vault/auth`));
    expect(await page.locator("#auth-submit").count()).toBe(1);
    expect(await page.locator('select[data-test-select="auth-method"]').count()).toBe(1);
    expect(ui.seen).toHaveLength(0);

    // What Traefik gets for the same request: the redirect to the provider, and 401 from /oauth2/auth.
    const anonymous = await fetch(`${authLocal}/`, {
      redirect: "manual",
      headers: {
        "x-forwarded-host": new URL(uiUrl).host,
        "x-forwarded-uri": "/",
        "x-forwarded-proto": "http",
      },
    });
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toMatch(
      new RegExp(`^${vault}/ui/vault/identity/oidc/provider/[^/]+/authorize\\?`),
    );
    expect(await authCheck(staging, [])).toBe(401);
  });

  it("lets a user of the allowed group through to the UI, which learns who it is", async () => {
    const page = member.pages()[0] as Page;
    await signIn(page, oidc, oidc.member);
    await page.waitForURL(uiUrl);
    const body = JSON.parse(((await page.locator("body").textContent()) ?? "").trim()) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({ ui: "behind the gate", email: oidc.member.email });
    const last = ui.seen.at(-1) ?? {};
    expect(last["x-auth-request-email"]).toBe(oidc.member.email);
    expect(last["x-auth-request-user"]).toBeTruthy();
    expect(String(last["x-auth-request-groups"])).toContain(oidc.allowedGroup);
    expect(last["x-auth-request-preferred-username"]).toBe(oidc.member.username);

    const cookies = sessionCookies(await member.cookies());
    expect(cookies.length).toBeGreaterThan(0);
    for (const c of cookies) {
      expect(c).toMatchObject({ domain: `.${domain}`, httpOnly: true, secure: true, sameSite: "Lax" });
    }
    expect(await authCheck(staging, cookies)).toBe(202);
  });

  it("answers 403 to a user outside the allowed group, who never reaches the UI", async () => {
    const before = ui.seen.length;
    const outsider = await browser.newContext();
    try {
      const page = await outsider.newPage();
      await page.goto(uiUrl);
      await page.waitForURL((u) => u.href.startsWith(`${vault}/ui/vault/auth`));
      const callback = page.waitForResponse((r) => r.url().startsWith(`${authBase}/oauth2/callback`));
      await signIn(page, oidc, oidc.outsider);
      expect((await callback).status()).toBe(403);
      expect(sessionCookies(await outsider.cookies())).toEqual([]);
      // Coming back is no better: the provider still knows them, the gate still says no.
      const again = page.waitForResponse((r) => r.url().startsWith(`${authBase}/oauth2/callback`));
      await page.goto(uiUrl);
      expect((await again).status()).toBe(403);
    } finally {
      await outsider.close();
    }
    expect(ui.seen.length).toBe(before);
  });

  it("refuses a tampered session cookie", async () => {
    const cookies = sessionCookies(await member.cookies());
    // The value is `payload|timestamp|signature`: change one character of the encrypted payload.
    const tampered = cookies.map((c, i) => {
      if (i !== 0) return c;
      const at = Math.floor(c.value.indexOf("|") / 2);
      const flipped = c.value[at] === "A" ? "B" : "A";
      return { ...c, value: `${c.value.slice(0, at)}${flipped}${c.value.slice(at + 1)}` };
    });
    expect(tampered[0]?.value).not.toBe(cookies[0]?.value);
    expect(await authCheck(staging, tampered)).toBe(401);

    const before = ui.seen.length;
    const forged = await browser.newContext();
    try {
      await forged.addCookies(tampered);
      const page = await forged.newPage();
      await page.goto(uiUrl);
      await page.waitForURL((u) => u.href.startsWith(`${vault}/ui/vault/auth`));
    } finally {
      await forged.close();
    }
    expect(ui.seen.length).toBe(before);
  });

  it("keeps a session across an OAuth2-Proxy restart with the same cookie secret (and only with it)", async () => {
    const cookies = sessionCookies(await member.cookies());
    await proxy.stop();
    // Another secret cannot read the session: it lives in the cookie, sealed by the secret.
    const other = generateValue({ length: 32, alphabet: "alphanumeric" });
    proxy = await start(other);
    expect(await authCheck(staging, cookies)).toBe(401);
    await proxy.stop();

    proxy = await start();
    expect(await authCheck(staging, cookies)).toBe(202);
    const before = ui.seen.length;
    const page = await member.newPage();
    const toProvider: string[] = [];
    page.on("request", (r) => {
      if (r.url().startsWith(vault)) toProvider.push(r.url());
    });
    await page.goto(uiUrl);
    expect(page.url()).toBe(uiUrl);
    expect(toProvider).toEqual([]);
    expect(ui.seen.length).toBe(before + 1);
    expect(ui.seen.at(-1)?.["x-auth-request-email"]).toBe(oidc.member.email);
  });

  it("narrows per environment: prod's gate, rendered with prod's groups, refuses the staging member", async () => {
    // Both gates read the same provider; prod's own cookie name and secret keep the sessions apart.
    expect(prod.rendered.cookieName).not.toBe(staging.rendered.cookieName);
    expect(prod.secrets.OAUTH2_PROXY_COOKIE_SECRET).not.toBe(staging.secrets.OAUTH2_PROXY_COOKIE_SECRET);
    expect(prod.args).toContain(`--allowed-group=${oidc.allowedGroup}-admins`);
    expect(prod.args).not.toContain(`--allowed-group=${oidc.allowedGroup}`);
    const prodProxy = await launch(prod);
    try {
      const stagingSession = sessionCookies(await member.cookies());
      expect(await authCheck(prod, stagingSession)).toBe(401);
      // The member is still signed in at OpenBao: the provider approves at once, prod's gate says no.
      const page = await member.newPage();
      const callback = page.waitForResponse((r) => r.url().startsWith(`${prod.base}/oauth2/callback`));
      await page.goto(`${prod.base}/oauth2/start?rd=${encodeURIComponent(`${prod.base}/`)}`);
      expect((await callback).status()).toBe(403);
      expect(sessionCookies(await member.cookies(), prod)).toEqual([]);
      // Staging still lets the same member through.
      expect(await authCheck(staging, sessionCookies(await member.cookies()))).toBe(202);
    } finally {
      await prodProxy.stop();
    }
  });
});
