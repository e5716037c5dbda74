/**
 * The SSO gate as it runs in a cluster, assembled from real pieces on the test bed: for each
 * environment of a config, the real OAuth2-Proxy (built from its Go module) with the command line
 * plinth renders; the test bed's OpenBao as the OpenID Connect provider; a real Traefik v3.7.13
 * reading the Ingresses and ForwardAuth Middleware plinth renders from the test bed's API server;
 * headless Chromium reaching Traefik as `https://<host>/` through a CONNECT proxy, so the rendered
 * hosts, callback URLs and cookie domain are used as they are.
 *
 * What differs from what plinth deploys, and why:
 * - the Middleware's `address`: the rendered one is the cluster DNS name of OAuth2-Proxy's
 *   Service, which nothing resolves here; it points at the same process's address instead;
 * - OAuth2-Proxy's `--http-address` (this machine's address, a free port) and its issuer
 *   (OpenBao's own, http on loopback; the config only takes https:// issuers);
 * - the Services behind the Ingresses get EndpointSlices naming this machine's address, where the
 *   test's processes listen (no pods run here); SigNoz's Services, which its chart would create,
 *   are written with the names and ports plinth's Ingresses point at;
 * - an IngressClass `traefik` (k3s's Traefik chart creates one) is created when there is none, and
 *   left for the cluster's lifetime as k3s leaves it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type Cookie, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { type GateSettings, gateSettings, oauth2ProxyConfig, sso } from "../../src/catalog/components/sso.js";
import { MIDDLEWARES_ANNOTATION, middlewareRef } from "../../src/catalog/gate.js";
import { CATALOG } from "../../src/catalog/index.js";
import type { KubeObject } from "../../src/catalog/types.js";
import type { UserConfig } from "../../src/config/schema.js";
import { resolve } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { KubeClient, objectPath } from "../../testbed/kube/client.js";
import { freePort } from "../../testbed/lib/ports.js";
import { exampleWith } from "../helpers/config.js";
import { testbedEnv } from "../testbed/env.js";
import { type RunningProxy, startOAuth2Proxy } from "./oauth2-proxy.js";
import { type OidcUser, type OpenBaoOidc, openBaoOidc } from "./openbao-oidc.js";
import { gateSecrets, withFlags } from "./rendered.js";
import { connectProxy, type RunningTraefik, startTraefik, until } from "./traefik.js";

/** One environment of the test's config: its own name, so every object and host is this run's. */
export interface BedEnvironment {
  name: string;
  cluster: "staging" | "prod";
  kind: "staging" | "prod";
  /** Narrows the defaults' allowed groups (e.g. prod to admins only). */
  allowedGroups?: (oidc: Pick<OpenBaoOidc, "allowedGroup">) => string[];
}

/** The test's users at the issuer: who signs in where, and which group lets them pass. */
export type IssuerUsers = Pick<OpenBaoOidc, "mount" | "member" | "outsider" | "allowedGroup" | "remove">;

/** One environment's client at the issuer, as OAuth2-Proxy gets it (the issuer on loopback). */
export interface IssuedClient {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

/**
 * `sso: { provider: "vault" }`: no OIDC set up by hand. The test's own OpenBao, which plinth's
 * Vault step makes the issuer of each environment; the test then adds its users as the README says.
 */
export interface VaultIssuer {
  /** The OpenBao's address (the browser signs in there). */
  address: string;
  /** The identity group the environments allow (a BedEnvironment may narrow it). */
  allowedGroup: string;
  /** Flags OAuth2-Proxy needs here beside the rendered ones (e.g. the issuer's test CA). */
  proxyArgs?: string[];
  /** plinth's Vault step for these environments, then the users: what each environment's gate gets. */
  converge(
    envs: ResolvedEnvironment[],
  ): Promise<{ users: IssuerUsers; clients: Record<string, IssuedClient> }>;
}

export interface EnvironmentGate {
  env: ResolvedEnvironment;
  settings: GateSettings;
  args: string[];
  secrets: Record<string, string>;
  /** OAuth2-Proxy's own address, for the test's direct requests (/oauth2/auth as Traefik's peers). */
  local: string;
  proxy: RunningProxy;
  /** `auth-<env>.<internal domain>`: its callback host. */
  authHost: string;
  /** Stops it and starts it again on the same address (another cookie secret, if given). */
  restart(cookieSecret?: string): Promise<void>;
}

export interface GateBed {
  vault: string;
  oidc: IssuerUsers;
  gates: Record<string, EnvironmentGate>;
  /** SigNoz's gated UI host and its open OTLP ingest host, of the first environment. */
  hosts: { ui: string; open: string };
  /** Requests the UI behind the gate received, in order. */
  seen: IncomingHttpHeaders[];
  traefikPort: number;
  browser: Browser;
  close(): Promise<void>;
}

const PLURALS: Record<string, string> = {
  Namespace: "namespaces",
  Service: "services",
  ServiceAccount: "serviceaccounts",
  EndpointSlice: "endpointslices",
  Ingress: "ingresses",
  IngressClass: "ingressclasses",
  Middleware: "middlewares",
  ClusterRole: "clusterroles",
  ClusterRoleBinding: "clusterrolebindings",
};

/** This machine's first non-loopback IPv4 address: an EndpointSlice may not name loopback. */
function machineAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new Error("no non-loopback IPv4 address on this machine for the EndpointSlices");
}

/** GET through Traefik with SNI and Host of `host`, its answer not followed. */
export function viaTraefik(
  port: number,
  host: string,
  path = "/",
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((ok, fail) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path,
        servername: host,
        headers: { host, ...headers },
        rejectUnauthorized: false,
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", fail);
    req.end();
  });
}

/** OpenBao's login page: userpass, with the run's own mount path (under "More options"). */
export async function signIn(page: Page, bed: GateBed, user: OidcUser): Promise<void> {
  await page.waitForURL((u) => u.href.startsWith(`${bed.vault}/ui/vault/auth`));
  await page.selectOption('select[data-test-select="auth-method"]', "userpass");
  await page.fill("#username", user.username);
  await page.fill("#password", user.password);
  await page.getByText("More options").click();
  await page.fill("#custom-path", bed.oidc.mount);
  await page.click("#auth-submit");
}

/** What Traefik's ForwardAuth asks OAuth2-Proxy for every request: 202 lets it through. */
export const authCheck = (gate: EnvironmentGate, cookies: Cookie[]) =>
  fetch(`${gate.local}/oauth2/auth`, {
    headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join("; ") },
    redirect: "manual",
  }).then((r) => r.status);

type Rules = {
  rules?: {
    host: string;
    http: { paths: { backend: { service: { name: string; port: { number: number } } } }[] };
  }[];
};
const firstRule = (o: KubeObject | undefined) => (o?.spec as Rules | undefined)?.rules?.[0];

export async function startGateBed(o: {
  id: string;
  environments: BedEnvironment[];
  /** plinth sets the issuer up (`provider: "vault"`); without it, OpenBao's OIDC is set up by hand. */
  vault?: VaultIssuer;
}): Promise<GateBed> {
  const vault = o.vault?.address ?? testbedEnv("VAULT_ADDR");
  const kube = KubeClient.fromKubeconfig(testbedEnv("KUBECONFIG"));
  const address = machineAddress();
  const dir = mkdtempSync(join(tmpdir(), "plinth-gate-"));
  const cleanup: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    cleanup.length = 0;
    rmSync(dir, { recursive: true, force: true });
  };
  const apply = async (object: KubeObject | Record<string, unknown>) => {
    const obj = object as KubeObject;
    const plural = PLURALS[obj.kind];
    if (!plural) throw new Error(`no plural for ${obj.kind}`);
    const path = objectPath(obj.apiVersion, plural, obj.metadata.name, obj.metadata.namespace);
    const res = await kube.apply(path, obj, { fieldManager: "plinth-gate-test" });
    if (res.status >= 300)
      throw new Error(`apply ${obj.kind} ${obj.metadata.name}: ${res.status} ${res.text}`);
    return path;
  };
  /** A selector-less endpoint list for a Service: the test's process at `address:port`. */
  const endpoints = (service: KubeObject, port: number) => ({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${service.metadata.name}-test`,
      namespace: service.metadata.namespace,
      labels: { "kubernetes.io/service-name": service.metadata.name },
    },
    addressType: "IPv4",
    endpoints: [{ addresses: [address], conditions: { ready: true, serving: true } }],
    ports: [
      {
        name: (service.spec as { ports: { name?: string }[] }).ports[0]?.name ?? "",
        port,
        protocol: "TCP",
      },
    ],
  });

  try {
    const seen: IncomingHttpHeaders[] = [];
    const upstream: Server = createServer((req, res) => {
      // The browser's own favicon fetch is no visit.
      if (req.url !== "/favicon.ico") seen.push(req.headers);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ui: req.headers.host, email: req.headers["x-auth-request-email"] ?? null }));
    });
    await new Promise<void>((ok) => upstream.listen(0, address, ok));
    cleanup.push(async () => {
      upstream.closeAllConnections();
      upstream.close();
    });
    const upstreamPort = (upstream.address() as AddressInfo).port;

    // The config an operator writes for an OIDC issuer (the secret only by name), with the test's
    // environments. The callback URLs are known before OpenBao issues the client id.
    const configFor = (issuer: string, clientId: string, groups: (e: BedEnvironment) => string[]) =>
      exampleWith((raw: UserConfig) => {
        raw.defaults = {
          ...raw.defaults,
          sso: {
            provider: "oidc",
            issuer,
            allowedGroups: ["placeholder"],
            clientId,
            clientSecret: { fromEnv: "SSO_CLIENT_SECRET" },
          },
        };
        for (const e of o.environments) {
          raw.environments[e.name] = {
            cluster: e.cluster,
            kind: e.kind,
            domainPrefix: e.name,
            features: { observability: true },
            sso: { allowedGroups: groups(e) },
          };
        }
      });
    // The config for the platform's own Vault: groups only, no issuer, client id or secret.
    const vaultConfig = (issuer: VaultIssuer) =>
      exampleWith((raw: UserConfig) => {
        raw.defaults = { ...raw.defaults, sso: { provider: "vault", allowedGroups: [issuer.allowedGroup] } };
        for (const e of o.environments) {
          raw.environments[e.name] = {
            cluster: e.cluster,
            kind: e.kind,
            domainPrefix: e.name,
            features: { observability: true },
            ...(e.allowedGroups ? { sso: { allowedGroups: e.allowedGroups(issuer) } } : {}),
          };
        }
      });
    let oidc: IssuerUsers;
    let config: ReturnType<typeof exampleWith>;
    let clientOf: (env: string) => IssuedClient;
    if (o.vault) {
      config = vaultConfig(o.vault);
      const made = await o.vault.converge(o.environments.map((e) => resolve(config, e.name)));
      oidc = made.users;
      clientOf = (env) => {
        const c = made.clients[env];
        if (!c) throw new Error(`plinth's Vault step issued no client for ${env}`);
        return c;
      };
    } else {
      const draft = configFor("https://issuer.invalid/", "x", () => ["x"]);
      const callbacks = o.environments.map((e) => gateSettings(resolve(draft, e.name)).redirectUrl);
      const byHand = await openBaoOidc({
        addr: vault,
        token: testbedEnv("VAULT_TOKEN"),
        id: o.id,
        redirectUris: callbacks,
      });
      oidc = byHand;
      config = configFor(byHand.issuer.replace(/^http:/, "https:"), byHand.clientId, (e) =>
        e.allowedGroups ? e.allowedGroups(byHand) : [byHand.allowedGroup],
      );
      clientOf = () => byHand;
    }
    cleanup.push(() => oidc.remove());

    const objects: KubeObject[] = [];
    const gates: Record<string, EnvironmentGate> = {};
    const proxyPorts: Record<string, number> = {};
    for (const e of o.environments) {
      const env = resolve(config, e.name);
      expect(env.components.sso.enabled).toBe(true);
      const settings = gateSettings(env);
      const port = await freePort();
      proxyPorts[e.name] = port;
      const rendered = oauth2ProxyConfig(settings);
      const client = clientOf(e.name);
      const args = withFlags(rendered.args, {
        // Traefik here is a local process reaching the proxy from this machine's address, not
        // from the cluster's pod network the Deployment trusts.
        "--trusted-proxy-ip": `${address}/32`,
        "--http-address": `${address}:${port}`,
        "--oidc-issuer-url": client.issuer,
      }).concat(o.vault?.proxyArgs ?? []);
      const secrets = gateSecrets(env, rendered, client);
      const local = `http://${address}:${port}`;
      const launch = (cookieSecret = secrets.OAUTH2_PROXY_COOKIE_SECRET ?? "") =>
        startOAuth2Proxy({
          bin: testbedEnv("OAUTH2_PROXY_BIN"),
          args,
          env: { ...secrets, OAUTH2_PROXY_COOKIE_SECRET: cookieSecret },
          base: local,
        });
      const gate: EnvironmentGate = {
        env,
        settings,
        args,
        secrets,
        local,
        proxy: await launch(),
        authHost: new URL(settings.redirectUrl).host,
        async restart(cookieSecret) {
          await gate.proxy.stop();
          gate.proxy = await launch(cookieSecret);
        },
      };
      cleanup.push(() => gate.proxy.stop());
      gates[e.name] = gate;
      // The sso component's Service and Ingress (the login host, open).
      for (const object of sso.objects(env))
        if (object.kind === "Service" || object.kind === "Ingress") objects.push(object);
    }

    // SigNoz of the first environment: its Middleware and its Ingresses (gated UI, open ingest).
    const first = o.environments[0]?.name ?? "";
    const signoz = CATALOG.signoz
      .objects(gates[first]?.env as ResolvedEnvironment)
      .filter((x) => x.kind === "Middleware" || x.kind === "Ingress");
    const middleware = signoz.find((x) => x.kind === "Middleware");
    if (!middleware) throw new Error("SigNoz renders no ForwardAuth Middleware");
    const ref = middlewareRef(middleware.metadata.namespace ?? "", middleware.metadata.name);
    const gated = signoz.find((x) => x.metadata.annotations?.[MIDDLEWARES_ANNOTATION] === ref);
    const open = signoz.find((x) => x.kind === "Ingress" && x !== gated);
    if (!gated || !open) throw new Error("SigNoz renders no gated and open Ingress");
    const forwardAuth = (middleware.spec as { forwardAuth: { address: string } }).forwardAuth;
    // The Middleware points at the sso component's Service (name, namespace, port)...
    const target = new URL(forwardAuth.address);
    const ssoService = objects.find(
      (x) =>
        x.kind === "Service" &&
        `${x.metadata.name}.${x.metadata.namespace}.svc.cluster.local` === target.hostname,
    );
    const servicePorts = (ssoService?.spec as { ports?: { port: number }[] } | undefined)?.ports ?? [];
    expect(servicePorts.map((p) => String(p.port))).toContain(target.port);
    // ...which here is the first environment's process (the one change to a rendered object).
    objects.push(...signoz.filter((x) => x !== middleware), {
      ...middleware,
      spec: {
        forwardAuth: { ...forwardAuth, address: `http://${address}:${proxyPorts[first]}${target.pathname}` },
      },
    });

    const namespaces = [...new Set(objects.map((x) => x.metadata.namespace ?? ""))];
    for (const ns of namespaces) {
      const path = await apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
      cleanup.push(() => kube.request("DELETE", path));
    }
    const classes = await kube.get<{ items: KubeObject[] }>("/apis/networking.k8s.io/v1/ingressclasses");
    if (!classes.items.some((c) => c.metadata.name === "traefik")) {
      await apply({
        apiVersion: "networking.k8s.io/v1",
        kind: "IngressClass",
        metadata: { name: "traefik" },
        spec: { controller: "traefik.io/ingress-controller" },
      });
    }
    for (const object of objects) await apply(object);
    for (const object of objects.filter((x) => x.kind === "Service")) {
      // Each environment's OAuth2-Proxy Service is served by that environment's process.
      const owner = Object.entries(gates).find(([, g]) => sso.namespace(g.env) === object.metadata.namespace);
      if (!owner)
        throw new Error(
          `no environment renders the Service ${object.metadata.namespace}/${object.metadata.name}`,
        );
      await apply(endpoints(object, proxyPorts[owner[0]] ?? 0));
    }
    // SigNoz's chart's Services, as its Ingresses name them.
    for (const ingress of [gated, open]) {
      const backend = firstRule(ingress)?.http.paths[0]?.backend.service;
      if (!backend) throw new Error(`the Ingress ${ingress.metadata.name} has no backend`);
      const service: KubeObject = {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: backend.name, namespace: ingress.metadata.namespace ?? "" },
        spec: { ports: [{ name: "http", port: backend.port.number, protocol: "TCP" }] },
      };
      await apply(service);
      await apply(endpoints(service, upstreamPort));
    }

    // Traefik's identity: a ServiceAccount with the read access its documentation lists.
    const ns = namespaces[0] ?? "";
    await apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "traefik", namespace: ns } });
    const role = `plinth-gate-${o.id}-traefik`;
    const rolePath = await apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: role },
      rules: [
        {
          apiGroups: [""],
          resources: ["services", "secrets", "nodes", "configmaps"],
          verbs: ["get", "list", "watch"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
        {
          apiGroups: ["networking.k8s.io"],
          resources: ["ingresses", "ingressclasses"],
          verbs: ["get", "list", "watch"],
        },
        { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["update"] },
        { apiGroups: ["traefik.io"], resources: ["*"], verbs: ["get", "list", "watch"] },
      ],
    });
    cleanup.push(() => kube.request("DELETE", rolePath));
    const bindingPath = await apply({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: role },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
      subjects: [{ kind: "ServiceAccount", name: "traefik", namespace: ns }],
    });
    cleanup.push(() => kube.request("DELETE", bindingPath));
    const caFile = join(dir, "ca.crt");
    writeFileSync(caFile, kube.creds.ca);
    const traefikPort = await freePort();
    const traefik: RunningTraefik = await startTraefik({
      bin: testbedEnv("TRAEFIK_BIN"),
      dir,
      port: traefikPort,
      server: kube.creds.server,
      caFile,
      token: await kube.serviceAccountToken(ns, "traefik", 3600),
      namespaces,
    });
    cleanup.push(() => traefik.stop());
    const hosts = { ui: firstRule(gated)?.host ?? "", open: firstRule(open)?.host ?? "" };
    for (const host of [hosts.ui, ...Object.values(gates).map((g) => g.authHost)]) {
      await until(
        `Traefik routes ${host}`,
        async () => {
          const r = await viaTraefik(traefikPort, host, "/ping");
          if (r.status === 404 && r.body.startsWith("404 page not found")) throw new Error("no router yet");
          return true;
        },
        traefik.output,
      );
    }

    const domains = [...new Set([hosts.ui, hosts.open, ...Object.values(gates).map((g) => g.authHost)])].map(
      (h) => h.slice(h.indexOf(".")),
    );
    const tunnel = await connectProxy(traefikPort, domains);
    cleanup.push(() => tunnel.close());
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        // Every https://<host>/ through Traefik; OpenBao on loopback is reached directly.
        `--proxy-server=http://127.0.0.1:${tunnel.port}`,
      ],
    });
    cleanup.push(() => browser.close());
    return { vault, oidc, gates, hosts, seen, traefikPort, browser, close };
  } catch (error) {
    await close();
    throw error;
  }
}
