/**
 * The SSO gate's objects against the test bed's real API server, which serves Traefik's own CRDs
 * (testbed/crds.ts, from the github.com/traefik/traefik/v3 module): the sso component applied by
 * plinth (OAuth2-Proxy's Deployment, Service, Ingress and its two Secrets), and every Middleware
 * and Ingress plinth renders for the environment's UIs accepted by a server-side dry run, while a
 * malformed Middleware is refused, so the schema really is Traefik's. Only the sso component is
 * applied (`--target`), in namespaces of this test's own environment.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { kubeconfig, kubectl, kubectlJson, plinth, type Run } from "./bed.js";

const ENV = "ssogate";
const NS = "sso-ssogate";
const clientSecret = `gh-${randomBytes(20).toString("hex")}`;
let dir: string;

const outputs: string[] = [];
function keep(r: Run): Run {
  outputs.push(r.stdout, r.stderr);
  return r;
}
const run = (args: string[]) =>
  plinth(args, dir, { env: { SSO_GITHUB_CLIENT_SECRET: clientSecret } }).then(keep);

const OFF = ["kubero", "vault", "dashboard", "postgres", "redis", "arangodb", "clickhouse", "openpanel"]
  .map((c) => `${c}: { enabled: false }`)
  .join(", ");

/** Two environments on the bed, so this one's namespaces carry its name (`sso-ssogate`). */
function writeProject(): string {
  const d = mkdtempSync(join(tmpdir(), "plinth-sso-"));
  writeFileSync(
    join(d, "plinth.config.ts"),
    `import { defineConfig, secret } from "plinth";

// Kubero is off (its operator manifest comes from GitHub at apply time, unreachable here), and so
// are the data services and the dashboard: their cluster-wide objects and namespaces (platform,
// cnpg-system) belong to other tests on this bed.
export default defineConfig({
  project: "acme",
  defaults: {
    baseDomain: "example.com",
    internalDomain: "example.org",
    sso: {
      provider: "github",
      org: "acme",
      teams: ["platform"],
      clientId: "Iv23liBedClientId",
      clientSecret: secret.env("SSO_GITHUB_CLIENT_SECRET"),
    },
  },
  clusters: { bed: { type: "existing", kubeconfig: ${JSON.stringify(kubeconfig())} } },
  environments: {
    ${ENV}: {
      kind: "staging",
      cluster: "bed",
      domainPrefix: "x-${ENV}",
      features: { observability: true },
      components: { ${OFF} },
    },
    ssopeer: { kind: "test", cluster: "bed", domainPrefix: "x-ssopeer", components: { ${OFF} } },
  },
});
`,
  );
  return d;
}

async function secretData(name: string): Promise<Record<string, string>> {
  const s = await kubectlJson<{ data: Record<string, string> }>("get", "secret", name, "-n", NS);
  return Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
}

/** Every object of a kind in a `plinth render` folder. */
function rendered(out: string, kinds: string[]): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  for (const entry of readdirSync(out, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".yaml")) continue;
    for (const doc of parseAllDocuments(readFileSync(join(entry.parentPath, entry.name), "utf8"))) {
      const o = doc.toJS() as { kind?: string } | null;
      if (o?.kind && kinds.includes(o.kind)) found.push(o as Record<string, unknown>);
    }
  }
  return found;
}

async function serverDryRun(objects: unknown[]): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, `dry-run-${randomBytes(4).toString("hex")}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
  try {
    const out = await kubectl(
      "apply",
      "--server-side",
      "--dry-run=server",
      "--field-manager=plinth-test",
      "-f",
      file,
    );
    return { ok: true, output: out };
  } catch (e) {
    return { ok: false, output: String((e as { stderr?: string }).stderr ?? e) };
  }
}

describe.sequential("the sso gate on the test bed's API server", { timeout: 300_000 }, () => {
  beforeAll(async () => {
    dir = writeProject();
    await run(["destroy", ENV, "--yes", "--delete-data"]);
  });
  afterAll(async () => {
    await run(["destroy", ENV, "--yes", "--delete-data"]);
  });

  it("applies OAuth2-Proxy with plinth's flags, its client secret from the variable and a generated cookie secret", async () => {
    const applied = await run(["apply", ENV, "--yes", "--no-wait", "--target", "sso"]);
    expect(applied.code, applied.stderr).toBe(0);

    const deployment = await kubectlJson<{
      spec: { template: { spec: { containers: { image: string; args: string[]; env: unknown[] }[] } } };
    }>("get", "deployment", "oauth2-proxy", "-n", NS);
    const [container] = deployment.spec.template.spec.containers;
    expect(container?.image).toBe("quay.io/oauth2-proxy/oauth2-proxy:v7.15.6");
    expect(container?.args).toEqual(
      expect.arrayContaining([
        "--provider=github",
        "--github-org=acme",
        "--github-team=platform",
        "--upstream=static://202",
        "--redirect-url=https://auth-ssogate.example.org/oauth2/callback",
        "--cookie-name=_plinth_sso_ssogate",
      ]),
    );
    expect(JSON.stringify(container?.env)).not.toContain(clientSecret);

    expect((await secretData("oauth2-proxy-client"))["client-secret"]).toBe(clientSecret);
    const cookie = (await secretData("oauth2-proxy-cookie"))["cookie-secret"];
    expect(cookie).toMatch(/^[A-Za-z0-9]{32}$/);

    const ingress = await kubectlJson<{
      spec: { rules: { host: string }[] };
      metadata: { annotations: Record<string, string> };
    }>("get", "ingress", "oauth2-proxy-open", "-n", NS);
    expect(ingress.spec.rules.map((r) => r.host)).toEqual(["auth-ssogate.example.org"]);
    expect(ingress.metadata.annotations["plinth.dev/open"]).toMatch(/the login itself/);
  });

  it("keeps the cookie secret on the next apply (sessions survive a restart), and re-plans to nothing", async () => {
    const before = (await secretData("oauth2-proxy-cookie"))["cookie-secret"];
    const again = await run(["apply", ENV, "--yes", "--no-wait", "--target", "sso"]);
    expect(again.code, again.stderr).toBe(0);
    expect((await secretData("oauth2-proxy-cookie"))["cookie-secret"]).toBe(before);
    const plan = await run(["plan", ENV, "--json"]);
    expect(plan.code, plan.stderr).toBe(0);
    type Json = { phases: { components: { id: string; changes: { action: string; name: string }[] }[] }[] };
    const sso = (JSON.parse(plan.stdout) as Json).phases
      .flatMap((p) => p.components)
      .find((c) => c.id === "sso");
    expect(sso?.changes.length).toBeGreaterThan(0);
    const changes = sso?.changes.filter((c) => c.action !== "no-op").map((c) => `${c.action} ${c.name}`);
    expect(changes).toEqual([]);
  });

  it("every Middleware and Ingress the UIs render is accepted by the API server; a malformed Middleware is refused", async () => {
    const out = join(dir, "render");
    const r = await run(["render", ENV, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const objects = rendered(out, ["Middleware", "Ingress"]);
    const middlewares = objects.filter((o) => o.kind === "Middleware");
    // SigNoz: a gated UI and the open OTLP ingest beside it; the login's own Ingress (the other UIs
    // are off here: their gate is the same publishHosts output, walked in test/render/sso-gate).
    expect(middlewares.map((m) => (m.metadata as { name: string }).name)).toEqual(["plinth-sso-signoz"]);
    expect(
      objects
        .filter((o) => o.kind === "Ingress")
        .map((o) => (o.metadata as { name: string }).name)
        .sort(),
    ).toEqual(["oauth2-proxy-open", "signoz", "signoz-open"]);
    // Validated in this test's own namespace: the schema, not the namespace, is what is checked.
    const here = objects.map((o) => ({ ...o, metadata: { ...(o.metadata as object), namespace: NS } }));
    const accepted = await serverDryRun(here);
    expect(accepted.ok, accepted.output).toBe(true);
    expect(accepted.output).toContain(
      "middleware.traefik.io/plinth-sso-signoz serverside-applied (server dry run)",
    );

    const broken = {
      ...middlewares[0],
      metadata: { name: "broken", namespace: NS },
      spec: { forwardAuth: { address: "http://x/", authResponseHeaders: "X-Auth-Request-User" } },
    };
    const refused = await serverDryRun([broken]);
    expect(refused.ok).toBe(false);
    expect(refused.output).toMatch(/authResponseHeaders/);
  });

  it("never shows the client secret in any output", () => {
    for (const text of outputs) expect(text).not.toContain(clientSecret);
  });
});
