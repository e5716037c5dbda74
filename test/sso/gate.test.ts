/**
 * The login gate for real (issue 14): Traefik, OAuth2-Proxy and OpenBao as the OpenID Connect
 * provider, each a real server, configured by what plinth renders, and headless Chromium walking
 * through them (`bed.ts` assembles it and lists the few local differences). Two environments of
 * one config: `g<id>` (a staging) whose SigNoz sits behind the gate, and `p<id>` (a prod) whose
 * gate lets fewer people through.
 */
import { randomBytes } from "node:crypto";
import type { BrowserContext, Cookie, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oauth2ProxyConfig } from "../../src/catalog/components/sso.js";
import { generateValue } from "../../src/secrets/generate.js";
import { freePort } from "../../testbed/lib/ports.js";
import { testbedEnv } from "../testbed/env.js";
import { authCheck, type EnvironmentGate, type GateBed, signIn, startGateBed, viaTraefik } from "./bed.js";
import { startOAuth2Proxy } from "./oauth2-proxy.js";
import { withFlags } from "./rendered.js";

const id = randomBytes(3).toString("hex");
const STAGING = `g${id}`;
const PROD = `p${id}`;

describe("the SSO gate: real Traefik, OAuth2-Proxy and OpenBao as plinth configures them, in Chromium", () => {
  let bed: GateBed;
  let staging: EnvironmentGate;
  let prod: EnvironmentGate;
  let uiUrl: string;
  let member: BrowserContext;
  /** The session cookie (split into `<name>_0`, `_1`... when large), not the sign-in's CSRF cookie. */
  const sessionCookies = (cookies: Cookie[], gate = staging) => {
    const split = new RegExp(`^${gate.settings.cookieName}_\\d+$`);
    return cookies.filter((c) => c.name === gate.settings.cookieName || split.test(c.name));
  };
  const uiRequests = () => bed.seen.filter((h) => h.host === bed.hosts.ui);

  beforeAll(async () => {
    bed = await startGateBed({
      id,
      environments: [
        { name: STAGING, cluster: "staging", kind: "staging" },
        // prod narrows who may pass to a group the member is not in.
        {
          name: PROD,
          cluster: "prod",
          kind: "prod",
          allowedGroups: (oidc) => [`${oidc.allowedGroup}-admins`],
        },
      ],
    });
    staging = bed.gates[STAGING] as EnvironmentGate;
    prod = bed.gates[PROD] as EnvironmentGate;
    uiUrl = `https://${bed.hosts.ui}/traces?service=web`;
    member = await bed.browser.newContext({ ignoreHTTPSErrors: true });
  });

  afterAll(async () => {
    await member?.close();
    await bed?.close();
  });

  it("answers an anonymous request for a gated UI with the redirect to the login, and leaves the ingest open", async () => {
    const anonymous = await viaTraefik(bed.traefikPort, bed.hosts.ui, "/traces?service=web");
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.location).toMatch(
      new RegExp(`^${bed.vault}/ui/vault/identity/oidc/provider/[^/]+/authorize\\?`),
    );
    // An identity header from the client changes nothing.
    const forged = await viaTraefik(bed.traefikPort, bed.hosts.ui, "/", {
      "X-Auth-Request-Email": "root@x.org",
    });
    expect(forged.status).toBe(302);
    expect(uiRequests()).toEqual([]);
    expect(await authCheck(staging, [])).toBe(401);

    // OTLP ingest is an exception by design: machines send telemetry without a login.
    const ingest = await viaTraefik(bed.traefikPort, bed.hosts.open, "/v1/traces");
    expect(ingest.status).toBe(200);
    expect(JSON.parse(ingest.body)).toMatchObject({ ui: bed.hosts.open, email: null });
  });

  it("believes X-Forwarded-* only from --trusted-proxy-ip: as rendered (k3s's pod network), not from this machine", async () => {
    // Where the sign-in sends the browser back: OAuth2-Proxy's state, `<nonce>:<escaped URL>`.
    const forged = {
      "X-Forwarded-Proto": "https",
      "X-Forwarded-Host": bed.hosts.ui,
      "X-Forwarded-Uri": "/x?y=1",
    };
    const returnTo = async (base: string) => {
      const r = await fetch(`${base}/`, { headers: forged, redirect: "manual" });
      expect(r.status).toBe(302);
      const state = new URL(r.headers.get("location") ?? "").searchParams.get("state") ?? "";
      return decodeURIComponent(state.slice(state.indexOf(":") + 1));
    };
    // The test's gate trusts its local Traefik's address, so the headers hold.
    expect(await returnTo(staging.local)).toBe(`https://${bed.hosts.ui}/x?y=1`);
    // The same gate with the rendered --trusted-proxy-ip: this machine is no pod, the headers are ignored.
    const rendered = oauth2ProxyConfig(staging.settings).args.find((a) =>
      a.startsWith("--trusted-proxy-ip="),
    );
    expect(rendered).toBe("--trusted-proxy-ip=10.42.0.0/16");
    const host = new URL(staging.local).hostname;
    const port = await freePort();
    const proxy = await startOAuth2Proxy({
      bin: testbedEnv("OAUTH2_PROXY_BIN"),
      args: withFlags(staging.args, {
        "--trusted-proxy-ip": rendered?.split("=")[1] ?? "",
        "--http-address": `${host}:${port}`,
      }),
      env: staging.secrets,
      base: `http://${host}:${port}`,
    });
    try {
      expect(await returnTo(`http://${host}:${port}`)).toBe("/");
      expect(proxy.output()).not.toContain("no --trusted-proxy-ip CIDRs were configured");
    } finally {
      await proxy.stop();
    }
  });

  it("sends an anonymous visit in the browser to OpenBao's login page", async () => {
    const page = await member.newPage();
    await page.goto(uiUrl);
    await page.waitForURL((u) => u.href.startsWith(`${bed.vault}/ui/vault/auth`));
    expect(await page.locator("#auth-submit").count()).toBe(1);
    expect(await page.locator('select[data-test-select="auth-method"]').count()).toBe(1);
    expect(uiRequests()).toEqual([]);
  });

  it("lets a user of the allowed group through to the UI, which learns who it is", async () => {
    const page = member.pages()[0] as Page;
    await signIn(page, bed, bed.oidc.member);
    await page.waitForURL(uiUrl);
    const body = JSON.parse(((await page.locator("body").textContent()) ?? "").trim()) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({ ui: bed.hosts.ui, email: bed.oidc.member.email });
    const last = uiRequests().at(-1) ?? {};
    expect(last["x-auth-request-email"]).toBe(bed.oidc.member.email);
    expect(last["x-auth-request-user"]).toBeTruthy();
    expect(String(last["x-auth-request-groups"])).toContain(bed.oidc.allowedGroup);
    expect(last["x-auth-request-preferred-username"]).toBe(bed.oidc.member.username);

    // The session cookie as rendered: the internal domain, Secure, HttpOnly, SameSite=Lax.
    const cookies = sessionCookies(await member.cookies());
    expect(cookies.length).toBeGreaterThan(0);
    for (const c of cookies) {
      expect(c).toMatchObject({
        domain: staging.settings.cookieDomain,
        secure: true,
        httpOnly: true,
        sameSite: "Lax",
      });
    }
    expect(await authCheck(staging, cookies)).toBe(202);
  });

  it("answers 403 to a user outside the allowed group, who never reaches the UI", async () => {
    const before = uiRequests().length;
    const outsider = await bed.browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await outsider.newPage();
      const callback = `https://${staging.authHost}/oauth2/callback`;
      const refused = page.waitForResponse((r) => r.url().startsWith(callback));
      await page.goto(uiUrl);
      await signIn(page, bed, bed.oidc.outsider);
      expect((await refused).status()).toBe(403);
      expect(sessionCookies(await outsider.cookies())).toEqual([]);
      // Whatever the browser holds now (the sign-in's CSRF cookie) opens nothing.
      expect(await authCheck(staging, await outsider.cookies())).toBe(401);
    } finally {
      await outsider.close();
    }
    expect(uiRequests().length).toBe(before);
  });

  it("refuses a tampered session cookie", async () => {
    const cookies = sessionCookies(await member.cookies());
    expect(cookies.length).toBeGreaterThan(0);
    // The value is `payload|timestamp|signature`: change one character of the sealed payload.
    const tampered = cookies.map((c, i) => {
      if (i !== 0) return c;
      const at = Math.floor(c.value.indexOf("|") / 2);
      const flipped = c.value[at] === "A" ? "B" : "A";
      return { ...c, value: `${c.value.slice(0, at)}${flipped}${c.value.slice(at + 1)}` };
    });
    expect(tampered[0]?.value).not.toBe(cookies[0]?.value);
    expect(await authCheck(staging, tampered)).toBe(401);

    const before = uiRequests().length;
    const forged = await bed.browser.newContext({ ignoreHTTPSErrors: true });
    try {
      await forged.addCookies(tampered);
      const page = await forged.newPage();
      await page.goto(uiUrl);
      await page.waitForURL((u) => u.href.startsWith(`${bed.vault}/ui/vault/auth`));
    } finally {
      await forged.close();
    }
    expect(uiRequests().length).toBe(before);
  });

  it("keeps a session across an OAuth2-Proxy restart with the same cookie secret (and only with it)", async () => {
    const cookies = sessionCookies(await member.cookies());
    // Another secret cannot open the session: it lives in the cookie, sealed by the secret.
    await staging.restart(generateValue({ length: 32, alphabet: "alphanumeric" }));
    expect(await authCheck(staging, cookies)).toBe(401);
    await staging.restart();
    expect(await authCheck(staging, cookies)).toBe(202);

    const before = uiRequests().length;
    const page = await member.newPage();
    const toProvider: string[] = [];
    page.on("request", (r) => {
      if (r.url().startsWith(bed.vault)) toProvider.push(r.url());
    });
    await page.goto(uiUrl);
    expect(page.url()).toBe(uiUrl);
    expect(toProvider).toEqual([]);
    expect(uiRequests().length).toBe(before + 1);
    expect(uiRequests().at(-1)?.["x-auth-request-email"]).toBe(bed.oidc.member.email);
  });

  it("narrows per environment: prod's gate, rendered with prod's groups, refuses the staging member", async () => {
    expect(prod.settings.cookieName).not.toBe(staging.settings.cookieName);
    expect(prod.secrets.OAUTH2_PROXY_COOKIE_SECRET).not.toBe(staging.secrets.OAUTH2_PROXY_COOKIE_SECRET);
    expect(prod.args).toContain(`--allowed-group=${bed.oidc.allowedGroup}-admins`);
    expect(prod.args).not.toContain(`--allowed-group=${bed.oidc.allowedGroup}`);
    // A staging session is no prod session.
    expect(await authCheck(prod, sessionCookies(await member.cookies()))).toBe(401);
    // The member is still signed in at OpenBao: the provider approves at once, prod's gate says no.
    const page = await member.newPage();
    const callback = page.waitForResponse((r) =>
      r.url().startsWith(`https://${prod.authHost}/oauth2/callback`),
    );
    // "commit": OpenBao's page moves on by script before it would count as loaded.
    await page.goto(
      `https://${prod.authHost}/oauth2/start?rd=${encodeURIComponent(`https://${prod.authHost}/`)}`,
      {
        waitUntil: "commit",
      },
    );
    expect((await callback).status()).toBe(403);
    expect(sessionCookies(await member.cookies(), prod)).toEqual([]);
    // Staging still lets the same member through.
    expect(await authCheck(staging, sessionCookies(await member.cookies()))).toBe(202);
  });
});
