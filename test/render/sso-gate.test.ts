import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  AUTH_RESPONSE_HEADERS,
  EXPOSURE,
  gateOwner,
  hostAccess,
  MIDDLEWARES_ANNOTATION,
  OPEN_ANNOTATION,
  openPathsOf,
} from "../../src/catalog/gate.js";
import type { KubeObject } from "../../src/catalog/types.js";
import type { ServiceId } from "../../src/config/ids.js";
import type { Config, UserConfig } from "../../src/config/schema.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import type { ResolvedEnvironment } from "../../src/model/types.js";
import { desiredComponents } from "../../src/plan/desired.js";
import { cli, exampleConfig, exampleWith, projectWithConfig } from "../helpers/config.js";

/** The object a test looked up, or a failure naming that it is missing. */
function found<T>(o: T | undefined): T {
  if (o === undefined) throw new Error("expected object not rendered");
  return o;
}

const ENVIRONMENTS = ["dev", "ci", "test", "staging", "prod"];
const HUMAN_UIS = (Object.keys(EXPOSURE) as ServiceId[]).filter((s) => EXPOSURE[s].kind === "gated");

const SSO = {
  provider: "github",
  org: "acme",
  teams: ["platform"],
  clientId: "Iv23liExample",
  clientSecret: { fromEnv: "SSO_GITHUB_CLIENT_SECRET" },
} as const;

/** The example without its sso settings: what an environment with no login publishes. */
function exampleWithoutSso(): Config {
  return exampleWith((raw) => {
    if (raw.defaults) delete raw.defaults.sso;
    for (const e of Object.values(raw.environments)) delete e.sso;
  });
}

/**
 * Every feature on: Backstage and observability everywhere public, Vault and SigNoz on test too,
 * and a second environment (qa) sharing staging's VPS, whose cluster-wide UIs (Vault, dashboard)
 * are the primary environment's.
 */
function allFeatures(): Config {
  return exampleWith((raw: UserConfig) => {
    raw.defaults = {
      ...raw.defaults,
      sso: { ...SSO, teams: [...SSO.teams] },
      features: { backstage: true },
    };
    const everything = { observability: true, vault: true, backstage: true };
    const test = raw.environments.test;
    if (test) Object.assign(test, { features: everything, components: { signoz: { enabled: true } } });
    raw.environments.qa = {
      kind: "test",
      cluster: "staging",
      features: everything,
      components: { signoz: { enabled: true } },
    };
    const prod = raw.environments.prod;
    if (prod) prod.sso = { teams: ["platform-admins"] };
  });
}

function objectsOf(env: ResolvedEnvironment): KubeObject[] {
  return desiredComponents(env, buildGraph(env)).flatMap((c) => c.objects);
}

interface Rule {
  host: string;
  http: { paths: { path: string; backend: { service: { name: string } } }[] };
}
const rulesOf = (o: KubeObject) => (o.spec as { rules: Rule[] }).rules;

/** host → service id, over the environment's hosts and its cluster's shared ones. */
function servicesByHost(env: ResolvedEnvironment): Map<string, ServiceId> {
  const out = new Map<string, ServiceId>();
  for (const e of [env, ...(env.peers ?? [])]) {
    for (const [id, h] of Object.entries(e.hosts)) out.set(h.host, id as ServiceId);
  }
  return out;
}

/** Walks every Ingress the environment renders; returns what each host got (`gated` / open paths). */
function walk(env: ResolvedEnvironment): Map<string, { gated: boolean; open: string[] }> {
  const objects = objectsOf(env);
  const byHost = servicesByHost(env);
  const seen = new Map<string, { gated: boolean; open: string[] }>();
  for (const ingress of objects.filter((o) => o.kind === "Ingress")) {
    const what = `${env.name}: Ingress ${ingress.metadata.namespace}/${ingress.metadata.name}`;
    const annotations = ingress.metadata.annotations ?? {};
    const middleware = annotations[MIDDLEWARES_ANNOTATION];
    if (middleware) {
      // Attached by name; the Middleware must be one this environment renders, in the same namespace.
      const ns = ingress.metadata.namespace ?? "";
      expect(middleware, what).toMatch(new RegExp(`^${ns}-[a-z0-9-]+@kubernetescrd$`));
      const name = middleware.slice(ns.length + 1, -"@kubernetescrd".length);
      const mw = objects.find(
        (o) => o.kind === "Middleware" && o.metadata.name === name && o.metadata.namespace === ns,
      );
      expect(mw, `${what}: its Middleware ${ns}/${name}`).toBeDefined();
      const forward = (found(mw).spec as { forwardAuth: { address: string; authResponseHeaders: string[] } })
        .forwardAuth;
      expect(forward.address, what).toMatch(
        /^http:\/\/oauth2-proxy\.sso(-[a-z0-9-]+)?\.svc\.cluster\.local:4180\/$/,
      );
      // The ID token goes to the dashboard only (it calls the API server with it), and only from an OIDC login.
      const idToken =
        name === "plinth-sso-dashboard" && env.sso?.provider !== "github" ? ["Authorization"] : [];
      expect(forward.authResponseHeaders, what).toEqual([...AUTH_RESPONSE_HEADERS, ...idToken]);
      for (const rule of rulesOf(ingress)) {
        const service = byHost.get(rule.host);
        expect(service && EXPOSURE[service].kind, `${what}: host ${rule.host} is a human UI`).toBe("gated");
        expect(rule.http.paths.map((p) => p.path)).toEqual(["/"]);
        seen.set(rule.host, { ...(seen.get(rule.host) ?? { open: [] }), gated: true });
      }
      continue;
    }
    // Not gated: only what the exposure table leaves open, with its reason on the object.
    const reason = annotations[OPEN_ANNOTATION];
    expect(reason, `${what} has neither the gate nor a reason to be open`).toBeTruthy();
    for (const rule of rulesOf(ingress)) {
      const service = byHost.get(rule.host);
      expect(service, `${what}: host ${rule.host} is not one of the environment's`).toBeDefined();
      const exposure = EXPOSURE[service as ServiceId];
      for (const { path } of rule.http.paths) {
        if (exposure.kind === "gated" && path === "/" && !env.publicHosts) {
          // dev: its UIs on localhost, reachable from the developer's own machine only.
          expect(reason, what).toBe(`${env.name} serves on localhost only: no login in front of its UIs`);
          continue;
        }
        const scope = env.hosts[service as ServiceId]?.scope ?? "environment";
        const listed =
          exposure.kind === "open"
            ? path === "/" && exposure.reason
            : openPathsOf(gateOwner(env, scope), service as ServiceId, rule.host).find((p) => p.path === path)
                ?.reason;
        expect(listed, `${what}: ${rule.host}${path} is open but not listed as an exception`).toBeTruthy();
        expect(reason).toContain(listed as string);
        const entry = seen.get(rule.host) ?? { gated: false, open: [] };
        seen.set(rule.host, { ...entry, open: [...entry.open, path] });
      }
    }
  }
  return seen;
}

/** No chart or Kubero resource publishes an Ingress of its own (its own would carry no gate). */
function chartIngresses(env: ResolvedEnvironment): string[] {
  const found: string[] = [];
  const visit = (where: string, v: unknown, key = ""): void => {
    if (!v || typeof v !== "object") return;
    if (key === "ingress" && (v as { enabled?: unknown }).enabled === true) found.push(where);
    for (const [k, child] of Object.entries(v)) visit(where, child, k);
  };
  for (const o of objectsOf(env)) {
    if (o.kind === "HelmChart") {
      visit(`HelmChart ${o.metadata.name}`, parse((o.spec as { valuesContent: string }).valuesContent));
    } else if (o.kind === "Kubero") {
      visit(`Kubero ${o.metadata.name}`, o.spec);
    }
  }
  return found;
}

describe("every Ingress plinth renders, walked per environment", () => {
  for (const [name, config] of [
    ["the example as shipped", exampleConfig],
    ["a config with every feature on", allFeatures],
  ] as const) {
    it(`${name}: every human UI behind the gate, every exception listed with its reason, nothing else open`, () => {
      const c = config();
      const envs = [...ENVIRONMENTS, ...(c.environments.qa ? ["qa"] : [])];
      let gatedHosts = 0;
      for (const envName of envs) {
        const env = resolve(c, envName);
        expect(chartIngresses(env), envName).toEqual([]);
        const seen = walk(env);
        const access = hostAccess(env);
        for (const a of access) {
          const got = seen.get(a.host);
          if (EXPOSURE[a.service].kind === "gated" && env.publicHosts) {
            // A public environment with sso settings: every UI it publishes carries the gate.
            expect(a.access, `${envName} ${a.service}`).toBe("gated");
            expect(got?.gated, `${envName}: ${a.host} (${a.service}) has a gated Ingress`).toBe(true);
            expect(got?.open).toEqual(a.open.map((p) => p.path));
            gatedHosts++;
          } else if (got) {
            expect(got.gated, `${envName}: ${a.host}`).toBe(false);
          }
          expect(a.reason, `${envName} ${a.service}`).toBeTruthy();
        }
      }
      expect(gatedHosts).toBeGreaterThan(10);
    });
  }

  it("the gate of a cluster-wide UI is the primary environment's, rendered alike by every environment of the cluster", () => {
    const c = allFeatures();
    const [staging, qa] = [resolve(c, "staging"), resolve(c, "qa")];
    const platform = (env: ResolvedEnvironment) =>
      objectsOf(env)
        .filter((o) => o.metadata.namespace === "platform" && ["Ingress", "Middleware"].includes(o.kind))
        .map(({ metadata: { labels: _l, ...metadata }, ...rest }) => ({ ...rest, metadata }));
    expect(platform(qa)).toEqual(platform(staging));
    const vault = objectsOf(qa).find(
      (o) => o.kind === "Middleware" && o.metadata.name === "plinth-sso-vault",
    );
    expect((found(vault).spec as { forwardAuth: { address: string } }).forwardAuth.address).toBe(
      "http://oauth2-proxy.sso-staging.svc.cluster.local:4180/",
    );
    // qa's own UIs go through qa's own login.
    const signoz = objectsOf(qa).find(
      (o) => o.kind === "Middleware" && o.metadata.name === "plinth-sso-signoz",
    );
    expect((found(signoz).spec as { forwardAuth: { address: string } }).forwardAuth.address).toBe(
      "http://oauth2-proxy.sso-qa.svc.cluster.local:4180/",
    );
  });

  it("the platform's own Vault as the OIDC issuer: its sign-in page stays open, or the gate would loop", () => {
    const config = exampleWith((raw) => {
      raw.defaults = {
        ...raw.defaults,
        sso: {
          provider: "oidc",
          issuer: "https://secrets-staging.example.org/v1/identity/oidc/provider/plinth",
          allowedGroups: ["platform"],
          clientId: "plinth-staging",
          clientSecret: { fromEnv: "SSO_CLIENT_SECRET" },
        },
      };
      // The example's prod narrows GitHub teams, which an OIDC issuer does not have.
      delete raw.environments.prod?.sso;
    });
    const staging = resolve(config, "staging");
    const open = objectsOf(staging).find((o) => o.kind === "Ingress" && o.metadata.name === "vault-open");
    expect(rulesOf(open as KubeObject)[0]?.http.paths.map((p) => p.path)).toEqual([
      "/v1",
      "/ui/vault/identity/oidc/provider",
      "/ui/assets",
    ]);
    expect(walk(staging).get("secrets-staging.example.org")).toEqual({
      gated: true,
      open: ["/v1", "/ui/vault/identity/oidc/provider", "/ui/assets"],
    });
    // prod's Vault is another host: its sign-in page stays behind prod's gate.
    const prodVault = objectsOf(resolve(config, "prod")).find(
      (o) => o.kind === "Ingress" && o.metadata.name === "vault-open",
    );
    expect(rulesOf(prodVault as KubeObject)[0]?.http.paths.map((p) => p.path)).toEqual(["/v1"]);
  });

  it("the login's own host routes to OAuth2-Proxy, open, and prod's login admits only its narrower team", () => {
    const prod = resolve(exampleConfig(), "prod");
    const objects = objectsOf(prod);
    const auth = objects.find((o) => o.kind === "Ingress" && o.metadata.name === "oauth2-proxy-open");
    expect(rulesOf(auth as KubeObject)).toEqual([
      {
        host: "auth.example.org",
        http: {
          paths: [
            {
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "oauth2-proxy", port: { number: 4180 } } },
            },
          ],
        },
      },
    ]);
    const deployment = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "oauth2-proxy");
    const container = (
      found(deployment).spec as { template: { spec: { containers: { image: string; args: string[] }[] } } }
    ).template.spec.containers[0];
    expect(container?.image).toBe("quay.io/oauth2-proxy/oauth2-proxy:v7.15.6");
    expect(container?.args).toContain("--github-team=platform-admins");
    // No secret value in any rendered object: the Secrets are planned apart, by key name.
    expect(JSON.stringify(objects)).not.toMatch(/cookie-secret"\s*:\s*"[^"]/);
    expect(objects.some((o) => o.kind === "Secret")).toBe(false);
  });

  it("the example without its sso settings: every published UI is reported open, saying why", () => {
    const config = exampleWithoutSso();
    for (const envName of ["test", "staging", "prod"]) {
      const env = resolve(config, envName);
      const uis = hostAccess(env).filter((a) => HUMAN_UIS.includes(a.service));
      expect(uis.length, envName).toBeGreaterThan(0);
      for (const a of uis) {
        expect(a.access).toBe("open");
        expect(a.reason).toMatch(/without a login/);
      }
      // Nothing carries a gate that does not exist.
      expect(objectsOf(env).some((o) => o.kind === "Middleware")).toBe(false);
    }
  });
});

describe("plinth domains", () => {
  const source = `import { defineConfig, secret } from "plinth";
export default defineConfig({
  project: "acme",
  defaults: {
    baseDomain: "example.com",
    internalDomain: "example.org",
    sso: { provider: "oidc", issuer: "https://id.example.org", allowedGroups: ["platform"], clientId: "plinth", clientSecret: secret.env("SSO_CLIENT_SECRET") },
  },
  clusters: { vps: { type: "existing", kubeconfig: "vps.yaml" } },
  environments: { staging: { cluster: "vps", features: { observability: true } } },
});
`;

  it("shows per host gated or open and why, as a table and with --json --access", async () => {
    const dir = projectWithConfig(source);
    const table = await cli(["domains", "staging"], dir);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split("\n");
    expect(lines[0]).toMatch(/^SERVICE\s+HOST\s+DNS\s+ACCESS\s+WHY$/);
    const line = (service: string) => lines.find((l) => l.startsWith(`${service} `)) ?? "";
    expect(line("signoz")).toMatch(
      /signoz-staging\.example\.org\s+proxied\s+gated\s+login at auth-staging\.example\.org \(groups platform at https:\/\/id\.example\.org\)/,
    );
    expect(line("vault")).toMatch(/gated \(open: \/v1\)\s+login at .*; \/v1: Vault's API/);
    expect(line("otel-collector")).toMatch(/open\s+OTLP ingest/);
    expect(line("sso")).toMatch(/auth-staging\.example\.org\s+proxied\s+open\s+the login itself/);

    const json = await cli(["domains", "staging", "--json", "--access"], dir);
    expect(json.code, json.stderr).toBe(0);
    const hosts = JSON.parse(json.stdout) as Record<string, { host: string; access: string; reason: string }>;
    expect(hosts["kubero-api"]).toEqual({
      host: "kapi-staging.example.org",
      access: "gated",
      reason: "login at auth-staging.example.org (groups platform at https://id.example.org)",
      open: [
        {
          path: "/api/repo/webhooks",
          reason: EXPOSURE["kubero-api"].kind === "gated" ? EXPOSURE["kubero-api"].open[0]?.reason : "",
        },
      ],
    });
    expect(hosts["openpanel-api"]?.access).toBe("open");
    // Plain --json keeps its shape: service id → host.
    const plain = JSON.parse((await cli(["domains", "staging", "--json"], dir)).stdout) as Record<
      string,
      string
    >;
    expect(plain.sso).toBe("auth-staging.example.org");
  });
});
