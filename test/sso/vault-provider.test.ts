/**
 * `sso: { provider: "vault" }` for real (issue 14): plinth's Vault step makes a fresh OpenBao the
 * gate's OpenID Connect issuer (userpass, scopes, the allowed groups, key, assignment, client,
 * provider) with its own token, copies the client id and secret Vault issued into KV, and a second
 * plan is at zero. Then the real gate (bed.ts: Traefik, OAuth2-Proxy with plinth's rendered
 * command line and the KV values as the Vault Secrets Operator would deliver them) in Chromium:
 * a member of the allowed group gets through, an outsider does not, prod's narrower group refuses
 * the staging member.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { get } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { issuedAuthentication } from "../../src/apply/api-server-trust.js";
import { authenticationFile, dashboardRbac } from "../../src/catalog/api-server-auth.js";
import { openPathsOf } from "../../src/catalog/gate.js";
import { oidcIssuerPath, oidcName } from "../../src/catalog/vault-oidc.js";
import { toYaml } from "../../src/util/yaml.js";
import { objectPath } from "../../testbed/kube/client.js";
import { startApiServer } from "./apiserver.js";
import { authCheck, type EnvironmentGate, type GateBed, signIn, startGateBed } from "./bed.js";
import { type OwnVault, ownVault } from "./vault-issuer.js";

const id = randomBytes(3).toString("hex");

/** GET over https from a server with its own CA (the test's front of OpenBao). */
function getText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve(text));
    }).on("error", reject);
  });
}

const getJson = async (url: string, ca: string): Promise<unknown> => JSON.parse(await getText(url, ca));
const STAGING = `vs${id}`;
const PROD = `vp${id}`;
const GROUP = "platform";

describe("sso provider vault: plinth makes the platform's OpenBao the gate's issuer", () => {
  let vault: OwnVault;
  let bed: GateBed;
  let staging: EnvironmentGate;
  let prod: EnvironmentGate;
  let uiUrl: string;
  let member: BrowserContext;
  const uiRequests = () => bed.seen.filter((h) => h.host === bed.hosts.ui);

  beforeAll(async () => {
    vault = await ownVault({ allowedGroup: GROUP });
    bed = await startGateBed({
      id,
      vault,
      environments: [
        { name: STAGING, cluster: "staging", kind: "staging" },
        { name: PROD, cluster: "prod", kind: "prod", allowedGroups: () => [`${GROUP}-admins`] },
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
    await vault?.stop();
  });

  it("converges the provider in Vault's step with plinth's own token, and a second plan is at zero", async () => {
    const { apply, again } = vault.runs[STAGING] ?? {};
    expect(apply?.tokenChange).toBe("create");
    const made = (apply?.changes ?? [])
      .filter((c) => c.component === "sso")
      .map((c) => `${c.action} ${c.kind} ${c.name}`);
    const name = oidcName(STAGING);
    expect(made).toEqual([
      // The sso component's own role (the Vault Secrets Operator reads its two secrets with it).
      `create VaultPolicy plinth-${STAGING}-sso`,
      `create VaultRole kubernetes/plinth-${STAGING}-sso`,
      "create VaultAuth userpass",
      "create VaultOidcScope identity/oidc/scope/email",
      "create VaultOidcScope identity/oidc/scope/profile",
      "create VaultOidcScope identity/oidc/scope/groups",
      `create VaultGroup identity/group/name/${GROUP}`,
      `create VaultOidcKey identity/oidc/key/${name}`,
      `create VaultOidcAssignment identity/oidc/assignment/${name}`,
      `create VaultOidcClient identity/oidc/client/${name}`,
      `create VaultOidcProvider identity/oidc/provider/${name}`,
      `create VaultSecret secret/${STAGING}/sso/oauth2-proxy-client`,
      `create VaultSecret secret/${STAGING}/sso/oauth2-proxy-cookie`,
    ]);
    const kv = apply?.changes.find((c) => c.name === `secret/${STAGING}/sso/oauth2-proxy-client`);
    expect(kv?.diff).toEqual([
      {
        path: "data.client-id",
        after: `(issued by Vault: identity/oidc/client/${name} client_id)`,
        secret: true,
      },
      {
        path: "data.client-secret",
        after: `(issued by Vault: identity/oidc/client/${name} client_secret)`,
        secret: true,
      },
    ]);
    expect(again?.changes.filter((c) => c.action !== "no-op")).toEqual([]);
    // prod shares the scopes and userpass with staging (one Vault) and adds its own pieces.
    const prodMade = (vault.runs[PROD]?.apply.changes ?? [])
      .filter((c) => c.action !== "no-op")
      .map((c) => c.kind);
    expect(prodMade).not.toContain("VaultOidcScope");
    expect(prodMade).not.toContain("VaultAuth");
    expect(prodMade).toContain("VaultOidcProvider");
    expect(vault.runs[PROD]?.again.changes.filter((c) => c.action !== "no-op")).toEqual([]);
  });

  it("copies what Vault issued into KV and nowhere else; the provider's discovery names the rendered issuer", async () => {
    const admin = await vault.root();
    for (const env of [STAGING, PROD]) {
      const client = await admin.read<{ data: { client_id: string; client_secret: string } }>(
        `identity/oidc/client/${oidcName(env)}`,
      );
      const gate = bed.gates[env] as EnvironmentGate;
      expect(gate.secrets.OAUTH2_PROXY_CLIENT_ID).toBe(client?.data.client_id);
      expect(gate.secrets.OAUTH2_PROXY_CLIENT_SECRET).toBe(client?.data.client_secret);
      expect(client?.data.client_secret).toMatch(/^hvo_secret_/);
      for (const text of vault.produced) expect(text).not.toContain(client?.data.client_secret);
      // The client id comes from the Secret, not the command line (it is not in config).
      expect(gate.args.some((a) => a.startsWith("--client-id"))).toBe(false);
    }
    expect(staging.secrets.OAUTH2_PROXY_CLIENT_ID).not.toBe(prod.secrets.OAUTH2_PROXY_CLIENT_ID);
    const discovery = (await getJson(
      `${vault.address}${oidcIssuerPath(STAGING)}/.well-known/openid-configuration`,
      vault.caPem,
    )) as { issuer: string; scopes_supported: string[] };
    expect(discovery.issuer).toBe(`${vault.address}${oidcIssuerPath(STAGING)}`);
    expect(discovery.scopes_supported).toEqual(
      expect.arrayContaining(["openid", "email", "profile", "groups"]),
    );
    // The rendered issuer is the same path on Vault's https host.
    expect(staging.args).toContain(`--oidc-issuer-url=${vault.address}${oidcIssuerPath(STAGING)}`);
    expect(staging.settings).toMatchObject({ provider: "vault", allowedGroups: [GROUP] });
    expect(String(staging.settings.provider === "vault" && staging.settings.issuer)).toMatch(
      new RegExp(`^https://[^/]+${oidcIssuerPath(STAGING)}$`),
    );
  });

  it("leaves open every script and style OpenBao's sign-in page loads, so an anonymous browser can sign in behind the gate", async () => {
    const open = openPathsOf(staging.env, "vault", staging.env.hosts.vault?.host ?? "").map((p) => p.path);
    // The page the gate sends an anonymous visitor to, as this OpenBao serves it.
    const page = String(
      await getText(
        `${vault.address}/ui/vault/identity/oidc/provider/${oidcName(STAGING)}/authorize`,
        vault.caPem,
      ),
    );
    const loads = [...page.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="(\/ui\/[^"]+)"/g)].map(
      (m) => m[1] ?? "",
    );
    expect(loads.filter((u) => u.endsWith(".js")).length).toBeGreaterThan(0);
    // An Ingress `Prefix` path matches whole path elements. Left behind the gate, and not needed
    // to sign in: the tab's icon, and the service worker that serves raft snapshot downloads.
    const optional = (u: string) => u.startsWith("/ui/favicon") || u.startsWith("/ui/sw-registration-");
    const behindGate = loads.filter(
      (u) => !optional(u) && !open.some((p) => u === p || u.startsWith(`${p}/`)),
    );
    expect(behindGate).toEqual([]);
  });

  it("lets a member of the allowed Vault group through to the UI, which learns who it is", async () => {
    const page = await member.newPage();
    await page.goto(uiUrl);
    await signIn(page, bed, bed.oidc.member);
    await page.waitForURL(uiUrl);
    const body = JSON.parse(((await page.locator("body").textContent()) ?? "").trim()) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({ ui: bed.hosts.ui, email: bed.oidc.member.email });
    const last = uiRequests().at(-1) ?? {};
    expect(String(last["x-auth-request-groups"])).toContain(GROUP);
    expect(last["x-auth-request-preferred-username"]).toBe(bed.oidc.member.username);
  });

  it("hands the dashboard the member's ID token: an API server started with k3s's empty file knows no one, then maps it to view rights once the Vault step's authenticator is written, without a restart", async () => {
    const session = (await member.cookies()).filter((c) => c.name.startsWith(staging.settings.cookieName));
    const answer = await fetch(`${staging.local}/oauth2/auth`, {
      headers: { cookie: session.map((c) => `${c.name}=${c.value}`).join("; ") },
      redirect: "manual",
    });
    expect(answer.status).toBe(202);
    const token = (answer.headers.get("authorization") ?? "").replace(/^Bearer /, "");
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as Record<
      string,
      unknown
    >;
    const issuer = `${vault.address}${oidcIssuerPath(STAGING)}`;
    expect(claims).toMatchObject({
      iss: issuer,
      aud: staging.secrets.OAUTH2_PROXY_CLIENT_ID,
      email: bed.oidc.member.email,
    });
    // As k3s's bootstrap leaves it for provider vault: no authenticator yet. The API server starts
    // with it and knows no token.
    const api = await startApiServer({ id, authenticationConfig: authenticationFile("staging") });
    const review = () =>
      api.asBearer(token, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "SelfSubjectReview",
      });
    try {
      expect((await review()).status).toBe(401);
      // What apply's Vault step writes over SSH once Vault has issued the client (read from this
      // OpenBao by plinth's own function); only the test front's own CA is added for the API server.
      // (The bed's environments join the example's staging cluster, whose primary environment,
      // the dashboard's gate, is the example's own: this one stands in for it here.)
      const primary = { ...staging.env, cluster: { ...staging.env.cluster, primaryEnvironment: STAGING } };
      const written = await issuedAuthentication(primary, await vault.root());
      const doc = parse(written ?? "") as { jwt: { issuer: Record<string, unknown> }[] };
      expect(doc.jwt[0]?.issuer).toEqual({
        url: issuer,
        audiences: [staging.secrets.OAUTH2_PROXY_CLIENT_ID],
      });
      if (doc.jwt[0]) doc.jwt[0].issuer.certificateAuthority = vault.caPem;
      writeFileSync(api.authenticationFile, toYaml(doc));
      // The API server reloads the file by itself (no restart).
      const started = Date.now();
      let who = await review();
      while (who.status !== 201) {
        expect(Date.now() - started, "the API server picks the authenticator up").toBeLessThan(150_000);
        await sleep(1000);
        who = await review();
      }
      console.log(`authenticator picked up ${Math.round((Date.now() - started) / 1000)} s after the write`);
      for (const o of dashboardRbac(staging.env)) {
        const path = objectPath(o.apiVersion, "clusterrolebindings", o.metadata.name);
        const r = await api.admin.apply(path, o, { fieldManager: "plinth" });
        expect(r.status, r.text).toBeLessThan(300);
      }
      // The built-in `view` role is aggregated by kube-controller-manager, which this API server
      // runs without: its rules are filled here the way that controller fills them.
      const roles = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
      const parts = await api.admin.get<{ items: { rules?: unknown[] }[] }>(
        `${roles}?labelSelector=${encodeURIComponent("rbac.authorization.k8s.io/aggregate-to-view=true")}`,
      );
      const view = await api.admin.get<Record<string, unknown>>(`${roles}/view`);
      await api.admin.call("PUT", `${roles}/view`, {
        body: { ...view, rules: parts.items.flatMap((r) => r.rules ?? []) },
      });
      expect(who.status, JSON.stringify(who.body)).toBe(201);
      const user = (who.body as { status: { userInfo: { username: string; groups: string[] } } }).status
        .userInfo;
      expect(user.username).toBe(`oidc:${bed.oidc.member.email}`);
      expect(user.groups).toContain(`oidc:${GROUP}`);
      // Headlamp's own sign-in check passes with it: no token prompt.
      const rules = await api.asBearer(
        token,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectRulesReview",
          spec: { namespace: "default" },
        },
      );
      expect(rules.status).toBe(201);
      // RBAC reads its bindings through a cache: the new one counts within moments.
      for (
        let i = 0;
        (await api.asBearer(token, "GET", "/api/v1/namespaces/default/pods")).status !== 200;
        i++
      ) {
        expect(i, "the member may list pods (view)").toBeLessThan(50);
        await sleep(200);
      }
      expect((await api.asBearer(token, "GET", "/api/v1/namespaces/default/secrets")).status).toBe(403);
      expect(
        (await api.asBearer(token, "POST", "/api/v1/namespaces", { metadata: { name: `x${id}` } })).status,
      ).toBe(403);
      // A token whose signature does not hold is no user.
      const tampered = `${token.slice(0, -4)}AAAA`;
      expect((await api.asBearer(tampered, "GET", "/api/v1/namespaces/default/pods")).status).toBe(401);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- kube-apiserver log ---\n${api.log().slice(-4000)}`);
    } finally {
      await api.stop();
    }
    // The API server rereads the file on its own schedule (up to a minute or so).
  }, 240_000);

  it("refuses a user outside the allowed group, who never reaches the UI", async () => {
    const before = uiRequests().length;
    const outsider = await bed.browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await outsider.newPage();
      const callback = `https://${staging.authHost}/oauth2/callback`;
      const refused = page.waitForResponse((r) => r.url().startsWith(callback));
      await page.goto(uiUrl);
      await signIn(page, bed, bed.oidc.outsider);
      const answer = await refused;
      // Vault's assignment admits only the allowed groups: it sends the browser back with an error.
      expect(new URL(answer.url()).searchParams.get("error")).toBe("access_denied");
      expect(answer.status()).toBe(403);
      expect(await authCheck(staging, await outsider.cookies())).toBe(401);
    } finally {
      await outsider.close();
    }
    expect(uiRequests().length).toBe(before);
  });

  it("narrows per environment: prod's provider admits only its own group, not the staging member", async () => {
    const page: Page = await member.newPage();
    const callback = page.waitForResponse((r) =>
      r.url().startsWith(`https://${prod.authHost}/oauth2/callback`),
    );
    await page.goto(
      `https://${prod.authHost}/oauth2/start?rd=${encodeURIComponent(`https://${prod.authHost}/`)}`,
      {
        waitUntil: "commit",
      },
    );
    expect((await callback).status()).toBe(403);
    expect(await authCheck(prod, await member.cookies())).toBe(401);
  });

  it("prunes the environment's provider, client, assignment and key when its gate goes; groups, scopes and userpass stay", async () => {
    const off = {
      ...staging.env,
      components: { ...staging.env.components, sso: { ...staging.env.components.sso, enabled: false } },
    };
    delete (off as { sso?: unknown }).sso;
    const name = oidcName(STAGING);
    const planned = await vault.step(off, false);
    expect(planned.changes.filter((c) => c.action === "delete").map((c) => c.name)).toEqual([
      `identity/oidc/provider/${name}`,
      `identity/oidc/client/${name}`,
      `identity/oidc/assignment/${name}`,
      `identity/oidc/key/${name}`,
      // The sso component's own role and policy go with it.
      `plinth-${STAGING}-sso`,
      `kubernetes/plinth-${STAGING}-sso`,
    ]);
    await vault.step(off, true);
    expect((await vault.step(off, false)).changes.filter((c) => c.action !== "no-op")).toEqual([]);
    const admin = await vault.root();
    expect(await admin.read(`identity/oidc/client/${name}`)).toBeUndefined();
    expect(await admin.read(`identity/oidc/provider/${name}`)).toBeUndefined();
    expect(await admin.read(`identity/group/name/${GROUP}`)).toBeDefined();
    expect(await admin.read("identity/oidc/scope/groups")).toBeDefined();
    // prod's gate is untouched.
    expect(await admin.read(`identity/oidc/provider/${oidcName(PROD)}`)).toBeDefined();
  });
});
