/**
 * No first-visitor takeover: once SigNoz and OpenPanel are healthy, `plinth apply` signs their
 * owner up itself, through the test bed's real API server service proxy, with the password of a
 * plinth-generated Secret. What answers behind the Services are local stand-ins (named as such,
 * test/owners/stand-ins.ts, built from the pinned versions' handler source): neither component
 * can run here. As in test/engine/health.test.ts, the API server proxies only to a pod's IP, so
 * the Services select a `hostNetwork` pod on kwok's node, whose address is this machine's, and the
 * stand-ins listen there.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOG } from "../../src/catalog/index.js";
import { ownerSecret } from "../../src/catalog/owners.js";
import type { HealthCheck, KubeObject } from "../../src/catalog/types.js";
import type { ComponentId } from "../../src/config/ids.js";
import { validateConfig } from "../../src/config/validate-config.js";
import { UserError } from "../../src/diagnostics/diagnostic.js";
import { resolve } from "../../src/model/resolve.js";
import type { Change, Plan } from "../../src/plan/plan.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { KubernetesProvider } from "../../src/providers/kubernetes/provider.js";
import { planSecret } from "../../src/providers/kubernetes/secrets.js";
import { kubeconfig, kubectl, kubectlJson, plinth } from "../engine/bed.js";
import { type ExecBed, planOf, runPlan, waitingDetails } from "../engine/exec-plan.js";
import { openpanelStandIn, type StandIn, signozStandIn } from "./stand-ins.js";

const ENV = "owners-a";
const NS = `observability-${ENV}`;
const EMAIL = "owner@example.com";
const SIGNOZ_SERVICE = `signoz-${ENV}`;

let bed: ExecBed;
let signoz: StandIn;
let openpanel: StandIn;

function config() {
  return {
    project: "acme",
    defaults: { baseDomain: "example.com", internalDomain: "example.org", ownerEmail: EMAIL },
    clusters: { bed: { type: "existing" as const, kubeconfig: kubeconfig() } },
    environments: {
      // Two environments on the cluster: namespaces get the environment's suffix, so this test's
      // objects never meet another test's `observability`.
      [ENV]: {
        kind: "test" as const,
        cluster: "bed",
        features: { observability: true },
        components: { signoz: { enabled: true }, openpanel: { enabled: true } },
      },
      "owners-b": { kind: "ci" as const, cluster: "bed" },
    },
  };
}

/** One hostNetwork pod behind both Services: each Service's targetPort is its stand-in's port. */
function objects(): Partial<Record<ComponentId, KubeObject[]>> {
  const selector = { app: "owner-stand-ins" };
  const service = (name: string, port: number, target: number): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NS },
    spec: { selector, ports: [{ name: "http", port, targetPort: target }] },
  });
  return {
    signoz: [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "owner-stand-ins", namespace: NS },
        spec: {
          replicas: 1,
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: selector },
            spec: {
              hostNetwork: true,
              containers: [{ name: "stand-ins", image: "example.invalid/stand-ins:1.0.0" }],
            },
          },
        },
      },
      service(SIGNOZ_SERVICE, 8080, signoz.port),
    ],
    openpanel: [service("openpanel-api", 3000, openpanel.port)],
  };
}

/** The catalog's own health checks for the two, as far as the stand-ins serve them. */
const health: Partial<Record<ComponentId, HealthCheck[]>> = {
  signoz: [{ kind: "http", service: SIGNOZ_SERVICE, namespace: NS, port: 8080, path: "/api/v1/health" }],
  openpanel: [{ kind: "http", service: "openpanel-api", namespace: NS, port: 3000, path: "/healthcheck" }],
};

/** The plan of the stand-ins' objects plus the owner Secrets, planned by plinth's own secret planner. */
async function plan(): Promise<Plan> {
  const p = await planOf(bed, objects(), health);
  for (const c of p.phases.flatMap((ph) => ph.components)) {
    const s = await planSecret(bed.kube, c.id, ownerSecret(bed.env, c.id), bed.ctx);
    const change: Change = {
      action: s.action,
      provider: "secret",
      id: s.id,
      kind: s.kind,
      name: s.name,
      ...(s.namespace ? { namespace: s.namespace } : {}),
      diff: s.diff,
      spec: s.spec,
    };
    c.changes.unshift(change);
  }
  return p;
}

async function secretValues(name: string): Promise<Record<string, string>> {
  const s = await kubectlJson<{ data: Record<string, string>; metadata: { labels: Record<string, string> } }>(
    "get",
    "secret",
    name,
    "-n",
    NS,
  );
  return Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
}

async function markers(): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>("get", "configmaps", "-n", NS);
  return list.items
    .map((i) => i.metadata.name)
    .filter((n) => n.endsWith("-owner"))
    .sort();
}

const ownerChanges = (events: { type: string; kind?: string }[]) =>
  events.filter((e) => e.type === "change" && e.kind === "OwnerAccount");

describe.sequential("owner accounts: plinth signs up first (stand-ins behind the real service proxy)", () => {
  beforeAll(async () => {
    const node = await kubectlJson<{ status: { addresses: { type: string; address: string }[] } }>(
      "get",
      "node",
      "kwok-node-0",
    );
    const ip = node.status.addresses.find((a) => a.type === "InternalIP")?.address ?? "";
    if (!ip || ip.startsWith("127.")) {
      throw new Error(
        `kwok's node has address ${ip || "none"}: the API server will not proxy to it; restart the test bed`,
      );
    }
    signoz = await signozStandIn(ip);
    openpanel = await openpanelStandIn(ip);
    bed = {
      kube: new KubernetesProvider({ api: (await connect({ kubeconfig: kubeconfig() })).api }),
      env: resolve(validateConfig(config(), "plinth.config.ts"), ENV),
      ctx: { env: ENV, tooling: "plinth/test" },
      namespace: NS,
    };
    await kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true");
    await kubectl("create", "namespace", NS);
  });

  afterAll(async () => {
    await kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false").catch(() => undefined);
    await kubectl("delete", "configmap", "-n", "kube-system", `plinth-applyset-${ENV}`, "--ignore-not-found");
    for (const s of [signoz, openpanel]) await new Promise((done) => s?.server.close(done));
  });

  it("a fresh SigNoz and OpenPanel get plinth's owner, once healthy, with the generated password of a plinth-owned Secret", async () => {
    const r = await runPlan(bed, await plan());
    expect(r.error).toBeUndefined();
    for (const [name, standIn, signUp] of [
      ["signoz-owner", signoz, "POST /api/v1/register"],
      ["openpanel-owner", openpanel, "POST /trpc/auth.signUpEmail"],
    ] as const) {
      const values = await secretValues(name);
      expect(values["owner-email"]).toBe(EMAIL);
      expect(values["owner-password"]).toMatch(/^[A-Za-z0-9]{32}-Aa1$/);
      // The account the component holds is exactly the Secret's, made by one sign-up call.
      expect(standIn.accounts).toEqual([{ email: EMAIL, password: values["owner-password"] }]);
      expect(standIn.calls.filter((c) => c === signUp)).toHaveLength(1);
    }
    // SigNoz: asked whether setup is done, then registered (its password rules were met).
    expect(signoz.calls.filter((c) => !c.includes("health"))).toEqual([
      "GET /api/v1/version",
      "POST /api/v1/register",
    ]);
    // After the health check, never before it.
    const waits = waitingDetails(r.events, "signoz");
    const healthy = waits.findIndex((w) => w.includes("healthy (GET"));
    const owner = waits.findIndex((w) => w.startsWith(`owner ${EMAIL}`));
    expect(healthy).toBeGreaterThanOrEqual(0);
    expect(owner).toBeGreaterThan(healthy);
    const made = ownerChanges(r.events) as { component?: string; action?: string; name?: string }[];
    expect(made.map((e) => [e.component, e.action, e.name]).sort()).toEqual([
      ["openpanel", "create", EMAIL],
      ["signoz", "create", EMAIL],
    ]);
    expect(await markers()).toEqual(["openpanel-owner", "signoz-owner"]);
    // The password is in no event: plan output, logs and --json never carry it.
    const password = (await secretValues("signoz-owner"))["owner-password"] ?? "";
    expect(JSON.stringify(r.events)).not.toContain(password);
  });

  it("a second apply leaves the owners alone: no call to either sign-up API, not even after a human changed the password", async () => {
    // The owner changed the password in the UI: plinth must never put its own back.
    signoz.accounts[0] = { email: EMAIL, password: "Changed-by-a-human-1" };
    signoz.calls.length = 0;
    openpanel.calls.length = 0;
    const p = await plan();
    // The Secrets are there: planned as no-ops.
    const secretActions = p.phases
      .flatMap((ph) => ph.components.flatMap((c) => c.changes))
      .filter((c) => c.provider === "secret")
      .map((c) => c.action);
    expect(secretActions).toEqual(["no-op", "no-op"]);
    const r = await runPlan(bed, p);
    expect(r.error).toBeUndefined();
    expect(ownerChanges(r.events)).toEqual([]);
    expect(signoz.calls.filter((c) => !c.includes("health"))).toEqual([]);
    expect(openpanel.calls.filter((c) => !c.includes("health"))).toEqual([]);
    expect(signoz.accounts).toEqual([{ email: EMAIL, password: "Changed-by-a-human-1" }]);
  });

  it("plinth secrets get shows the owner's password (without Vault: from its plinth-owned Secret)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plinth-owners-"));
    writeFileSync(
      join(dir, "plinth.config.ts"),
      `import { defineConfig } from "plinth";\nexport default defineConfig(${JSON.stringify(config(), null, 2)});\n`,
    );
    const values = await secretValues("signoz-owner");
    const password = await plinth(["secrets", "get", ENV, "signoz", "owner-password"], dir);
    expect(password.stderr).toBe("");
    expect(password.code).toBe(0);
    expect(password.stdout).toBe(`${values["owner-password"]}\n`);
    const email = await plinth(["secrets", "get", ENV, "openpanel", "owner-email"], dir);
    expect(email.stdout).toBe(`${EMAIL}\n`);
    const wrong = await plinth(["secrets", "get", ENV, "signoz", "nope"], dir);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`no key "nope" in signoz's secrets`);
    expect(wrong.stderr).toContain("signoz-owner/owner-password");
  });

  it("a SigNoz someone registered on first is a failed apply naming the host and the reset", async () => {
    await kubectl("delete", "configmap", "--all", "-n", NS);
    signoz.reset([{ email: "intruder@example.net", password: "Intruder-pass-1" }]);
    openpanel.reset();
    const r = await runPlan(bed, await plan());
    expect(r.error).toBeInstanceOf(UserError);
    const d = (r.error as UserError).diagnostics[0];
    expect(d?.message).toBe(
      "SigNoz at https://signoz-owners-a.example.org already has an owner plinth did not create: someone signed up before plinth did (the environment was taken over)",
    );
    expect(d?.path).toBe(`${ENV}.signoz`);
    expect(d?.fix).toBe(
      `reset it: delete SigNoz's volumes (its users live in its own SQLite store) in namespace ${NS}, then apply again, so plinth makes the owner ${EMAIL}`,
    );
    // Nothing was registered over the intruder: SigNoz was only asked whether it is set up and
    // whether plinth's email has an account there (it has not).
    expect(signoz.calls.filter((c) => !c.includes("health"))).toEqual([
      "GET /api/v1/version",
      "GET /api/v2/sessions/context?email=owner%40example.com&ref=https%3A%2F%2Fsignoz-owners-a.example.org",
    ]);
    expect(signoz.accounts).toEqual([{ email: "intruder@example.net", password: "Intruder-pass-1" }]);
    const failed = r.events.find(
      (e) => e.type === "component" && e.component === "signoz" && e.status === "failed",
    );
    expect(failed).toBeDefined();
    expect(await markers()).not.toContain("signoz-owner");
  });

  it("an OpenPanel someone signed up on first is reported too; one plinth made before a run stopped is recognised by its password", async () => {
    const ours = (await secretValues("openpanel-owner"))["owner-password"] ?? "";
    await kubectl("delete", "configmap", "--all", "-n", NS);
    signoz.reset();
    openpanel.reset([{ email: "intruder@example.net", password: "intruder-pass" }]);
    const taken = await runPlan(bed, await plan());
    expect(taken.error).toBeInstanceOf(UserError);
    const messages = (taken.error as UserError).diagnostics.map((d) => d.message);
    expect(messages).toContain(
      "OpenPanel at https://openpanel-owners-a.example.org already has an owner plinth did not create: someone signed up before plinth did (the environment was taken over)",
    );
    // Sign-up closed ("Registrations are not allowed"), then our password did not sign in.
    expect(openpanel.calls.filter((c) => !c.includes("health"))).toEqual([
      "POST /trpc/auth.signUpEmail",
      "POST /trpc/auth.signInEmail",
    ]);
    expect(openpanel.accounts).toHaveLength(1);

    // plinth's own accounts, made by a run that stopped before its marker (or whose namespace went
    // while the volumes stayed): recognised by their password, recorded, neither made nor reported.
    await kubectl("delete", "configmap", "--all", "-n", NS);
    const oursSignoz = (await secretValues("signoz-owner"))["owner-password"] ?? "";
    signoz.reset([{ email: EMAIL, password: oursSignoz }]);
    openpanel.reset([{ email: EMAIL, password: ours }]);
    const adopted = await runPlan(bed, await plan());
    expect(adopted.error).toBeUndefined();
    expect(ownerChanges(adopted.events)).toEqual([]);
    expect(signoz.calls.filter((c) => !c.includes("health"))).toEqual([
      "GET /api/v1/version",
      "GET /api/v2/sessions/context?email=owner%40example.com&ref=https%3A%2F%2Fsignoz-owners-a.example.org",
      "POST /api/v2/sessions/email_password",
    ]);
    expect(signoz.accounts).toEqual([{ email: EMAIL, password: oursSignoz }]);
    expect(await markers()).toEqual(["openpanel-owner", "signoz-owner"]);
  });

  it("an account with plinth's email that plinth's password does not open is refused, with the way to say it is yours", async () => {
    await kubectl("delete", "configmap", "--all", "-n", NS);
    signoz.reset([{ email: EMAIL, password: "Someone-elses-1" }]);
    openpanel.reset([
      { email: EMAIL, password: (await secretValues("openpanel-owner"))["owner-password"] ?? "" },
    ]);
    const r = await runPlan(bed, await plan());
    expect(r.error).toBeInstanceOf(UserError);
    const d = (r.error as UserError).diagnostics.find((x) => x.path === `${ENV}.signoz`);
    expect(d?.message).toBe(
      `SigNoz at https://signoz-owners-a.example.org has an account ${EMAIL} that plinth's password does not open: someone registered it before plinth did, or its password was changed and plinth's record of making it (ConfigMap ${NS}/signoz-owner) is gone`,
    );
    expect(d?.fix).toContain(
      `if the account is yours, tell plinth so: kubectl create configmap signoz-owner -n ${NS} --from-literal=email=${EMAIL}`,
    );
    expect(signoz.accounts).toEqual([{ email: EMAIL, password: "Someone-elses-1" }]);
    // Said so, the next apply leaves it alone.
    await kubectl("create", "configmap", "signoz-owner", "-n", NS, `--from-literal=email=${EMAIL}`);
    signoz.calls.length = 0;
    const again = await runPlan(bed, await plan());
    expect(again.error).toBeUndefined();
    expect(signoz.calls.filter((c) => !c.includes("health"))).toEqual([]);
  });

  it("a sign-up that fails mid-way (the component answers 503) is a clear failure; the next apply makes the owner", async () => {
    await kubectl("delete", "configmap", "--all", "-n", NS);
    signoz.reset();
    openpanel.reset();
    signoz.failNext.set("/api/v1/register", [503, "upstream connect error"]);
    const failed = await runPlan(bed, await plan());
    expect(failed.error).toBeInstanceOf(UserError);
    const d = (failed.error as UserError).diagnostics[0];
    expect(d?.message).toBe(
      `SigNoz at https://signoz-owners-a.example.org: signing the owner ${EMAIL} up failed (HTTP 503: upstream connect error)`,
    );
    expect(d?.fix).toBe(
      `check signoz-${ENV}'s logs in namespace ${NS}, then apply again: the owner is made once it answers`,
    );
    expect(await markers()).not.toContain("signoz-owner");
    const again = await runPlan(bed, await plan());
    expect(again.error).toBeUndefined();
    expect(signoz.accounts.map((a) => a.email)).toEqual([EMAIL]);
    expect(await markers()).toContain("signoz-owner");
  });

  it("--no-health-checks signs no one up and says so in the component's ready event", async () => {
    await kubectl("delete", "configmap", "--all", "-n", NS);
    signoz.reset();
    openpanel.reset();
    const r = await runPlan(bed, await plan(), { skipHealthChecks: true });
    expect(r.error).toBeUndefined();
    expect(signoz.calls).toEqual([]);
    expect(openpanel.calls).toEqual([]);
    const ready = r.events.find(
      (e) => e.type === "component" && e.component === "signoz" && e.status === "ready",
    );
    expect(ready).toMatchObject({
      detail: `owner ${EMAIL} not signed up (needs the health checks): run plinth apply ${ENV} without --no-wait or --no-health-checks`,
    });
  });
});

describe("sign-up off where the component can turn it off", () => {
  it("OpenPanel runs with ALLOW_REGISTRATION=false in every part (only the first user, plinth's owner, may register)", () => {
    const env = resolve(validateConfig(config(), "plinth.config.ts"), ENV);
    const deployments = CATALOG.openpanel.objects(env).filter((o) => o.kind === "Deployment");
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      "openpanel-api",
      "openpanel-dashboard",
      "openpanel-worker",
    ]);
    for (const d of deployments) {
      const containers = (
        d.spec as { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } }
      ).template.spec.containers;
      expect(containers[0]?.env).toContainEqual({ name: "ALLOW_REGISTRATION", value: "false" });
    }
  });
});
