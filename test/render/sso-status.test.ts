import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { UserConfig } from "../../src/config/schema.js";
import { resolve } from "../../src/model/resolve.js";
import {
  type AccessCheck,
  type AccessProbe,
  accessChecks,
  checkAccess,
  httpsProbe,
  judgeAccess,
} from "../../src/status/access.js";
import { exampleConfig, exampleWith, tempDir } from "../helpers/config.js";

/** The example's staging as shipped: its UIs behind the GitHub login. */
const staging = () => resolve(exampleConfig(), "staging");

const gated = (over: Partial<AccessCheck> = {}): AccessCheck => ({
  service: "signoz",
  url: new URL("https://signoz-staging.example.org/"),
  expect: "gated",
  login: "auth-staging.example.org",
  reason: "login at auth-staging.example.org",
  ...over,
});
const open = (over: Partial<AccessCheck> = {}): AccessCheck => ({
  service: "otel-collector",
  url: new URL("https://otel-staging.example.org/"),
  expect: "open",
  reason: "OTLP ingest",
  ...over,
});

describe("plinth status: anonymous access per host", () => {
  it("asks every human UI at / and every exception at its path; not the apps' hosts or the k3s API", () => {
    const checks = accessChecks(staging()).map((c) => `${c.expect} ${c.url.href}`);
    expect(checks).toEqual([
      "gated https://secrets-staging.example.org/",
      "open https://secrets-staging.example.org/v1",
      "gated https://dashboard-staging.example.org/",
      "gated https://kcloud-staging.example.org/",
      "gated https://kapi-staging.example.org/",
      "open https://kapi-staging.example.org/api/repo/webhooks",
      "gated https://signoz-staging.example.org/",
      "open https://otel-staging.example.org/",
      "gated https://openpanel-staging.example.org/",
      "open https://openpanel-api-staging.example.org/",
      "open https://auth-staging.example.org/",
    ]);
    expect(accessChecks(resolve(exampleConfig(), "dev"))).toEqual([]);
  });

  it("a UI redirected to the login or refused passes; one that answers is OPEN and fails", () => {
    const verdict = (answer: Parameters<typeof judgeAccess>[1], check = gated()) => {
      const r = judgeAccess(check, answer);
      return `${r.ok ? "ok" : "FAIL"}: ${r.detail}`;
    };
    expect(verdict({ code: 302, location: "https://auth-staging.example.org/oauth2/start?rd=x" })).toBe(
      "ok: HTTP 302: sent to the login at auth-staging.example.org",
    );
    expect(verdict({ code: 302, location: "https://github.com/login/oauth/authorize?client_id=x" })).toBe(
      "ok: HTTP 302: sent to the login at github.com",
    );
    expect(verdict({ code: 401 })).toBe("ok: HTTP 401: refused");
    expect(verdict({ code: 200 })).toBe(
      "FAIL: OPEN: HTTP 200 to an anonymous request; login at auth-staging.example.org",
    );
    expect(verdict({ code: 307, location: "/ui/" })).toMatch(/^FAIL: OPEN: HTTP 307 .*redirect to \/ui\//);
    expect(verdict({ code: 404 })).toMatch(/^FAIL: HTTP 404: no route/);
    expect(verdict({ code: 502 })).toBe("FAIL: HTTP 502: the gate or the UI is down");
    expect(verdict(new Error("getaddrinfo ENOTFOUND"))).toBe("FAIL: unreachable (getaddrinfo ENOTFOUND)");
    // An exception must answer without a login.
    expect(verdict({ code: 405 }, open())).toBe("ok: HTTP 405: answers without a login");
    expect(verdict({ code: 302, location: "https://auth-staging.example.org/oauth2/start" }, open())).toBe(
      "FAIL: HTTP 302: behind the login, but must stay open (OTLP ingest)",
    );
  });

  it("runs a component's checks: the gate working passes, a UI left open fails naming why", async () => {
    const env = staging();
    const gate: AccessProbe = async (url) =>
      url.pathname.startsWith("/v1") ? { code: 400 } : { code: 302, location: "https://github.com/login" };
    const vault = await checkAccess(env, new Set(["vault"]), gate);
    expect(vault.map((r) => r.ok)).toEqual([true, true]);
    const leaky: AccessProbe = async () => ({ code: 200 });
    const [dashboard] = await checkAccess(env, new Set(["dashboard"]), leaky);
    expect(dashboard).toMatchObject({ ok: false });
    expect(dashboard?.detail).toMatch(/^OPEN: HTTP 200/);

    // Without sso settings the same UI fails with the reason it is open.
    const bare = resolve(
      exampleWith((raw: UserConfig) => {
        if (raw.defaults) delete raw.defaults.sso;
      }),
      "staging",
    );
    const [signoz] = await checkAccess(bare, new Set(["signoz"]), leaky);
    expect(signoz?.detail).toMatch(
      /OPEN: HTTP 200 .*a human UI without a login: staging has no sso settings/,
    );
  });

  it("the real probe: one HTTPS GET, any certificate, no redirect followed, the Location kept", async () => {
    const dir = tempDir();
    execFileSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      "/CN=localhost",
      "-days",
      "1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ]);
    const seen: string[] = [];
    const server = createServer(
      { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
      (req, res) => {
        seen.push(`${req.method} ${req.url} cookie=${req.headers.cookie ?? "none"}`);
        res.writeHead(302, { location: "https://auth.example.org/oauth2/start?rd=%2F" }).end();
      },
    );
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await httpsProbe(new URL(`https://127.0.0.1:${port}/ui/`));
      expect(answer).toEqual({ code: 302, location: "https://auth.example.org/oauth2/start?rd=%2F" });
      expect(seen).toEqual(["GET /ui/ cookie=none"]);
    } finally {
      server.close();
    }
  });
});
