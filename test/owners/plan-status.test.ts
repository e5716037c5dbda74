/**
 * Owner accounts in `plinth plan` and `plinth status`: whether apply will sign the owner up (from
 * plinth's marker on the test bed's real API server), and whether SigNoz and OpenPanel are owned
 * by plinth's account or still open to the first visitor (asked through the API server's real
 * service proxy). What answers behind the Services are the local stand-ins of owners.test.ts
 * (test/owners/stand-ins.ts, built from the pinned versions' handler source; neither component
 * can run here), on a hostNetwork pod of kwok's node as there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownerSecret } from "../../src/catalog/owners.js";
import type { KubeObject } from "../../src/catalog/types.js";
import type { ComponentId } from "../../src/config/ids.js";
import { validateConfig } from "../../src/config/validate-config.js";
import { buildGraph } from "../../src/graph/graph.js";
import { resolve } from "../../src/model/resolve.js";
import { liveOwner, ownerLine } from "../../src/plan/owners.js";
import type { Change, Plan } from "../../src/plan/plan.js";
import { connect } from "../../src/providers/kubernetes/client.js";
import { KubernetesProvider } from "../../src/providers/kubernetes/provider.js";
import { planSecret } from "../../src/providers/kubernetes/secrets.js";
import { checkOwner } from "../../src/status/owners.js";
import { gatherStatus } from "../../src/status/status.js";
import { kubeconfig, kubectl, kubectlJson } from "../engine/bed.js";
import { type ExecBed, planOf, runPlan } from "../engine/exec-plan.js";
import { openpanelStandIn, type StandIn, signozStandIn } from "./stand-ins.js";

const ENV = "owners-s";
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
      // A second environment on the cluster: namespaces get the environment's suffix, so this
      // test's objects never meet another test's `observability`.
      [ENV]: {
        kind: "test" as const,
        cluster: "bed",
        features: { observability: true },
        components: { signoz: { enabled: true }, openpanel: { enabled: true } },
      },
      "owners-t": { kind: "ci" as const, cluster: "bed" },
    },
  };
}

/** One hostNetwork pod behind both Services: each Service's targetPort is its stand-in's port. */
function objects(): Partial<Record<ComponentId, KubeObject[]>> {
  const selector = { app: "owner-status-stand-ins" };
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
        metadata: { name: "owner-status-stand-ins", namespace: NS },
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

/** The stand-ins' objects and the owner Secrets (plinth's own secret planner), as owners.test.ts plans them. */
async function plan(): Promise<Plan> {
  const p = await planOf(bed, objects(), {
    signoz: [{ kind: "http", service: SIGNOZ_SERVICE, namespace: NS, port: 8080, path: "/api/v1/health" }],
    openpanel: [{ kind: "http", service: "openpanel-api", namespace: NS, port: 3000, path: "/healthcheck" }],
  });
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

const status = async () => ({
  signoz: (await checkOwner(bed.env, "signoz", bed.kube))[0],
  openpanel: (await checkOwner(bed.env, "openpanel", bed.kube))[0],
});
const lines = async () =>
  Promise.all(
    (["signoz", "openpanel"] as const).map(async (id) => {
      const owner = await liveOwner(bed.env, id, bed.kube);
      return owner && ownerLine(owner);
    }),
  );
/** Calls that would change the component: status and plan must never make them. */
const signUps = () =>
  [...signoz.calls, ...openpanel.calls].filter((c) => /register|signUpEmail/.test(c)).length;

describe.sequential("owner accounts in plan and status (stand-ins behind the real service proxy)", () => {
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

  it("before the owners exist: the plan says apply will create them, status fails both as open to the first visitor", async () => {
    // Deployed without the health checks: Secrets written, no owner signed up yet.
    const r = await runPlan(bed, await plan(), { skipHealthChecks: true });
    expect(r.error).toBeUndefined();
    expect(await lines()).toEqual([
      `owner account for SigNoz (${EMAIL}): will be created at apply, once SigNoz passes its health checks`,
      `owner account for OpenPanel (${EMAIL}): will be created at apply, once OpenPanel passes its health checks`,
    ]);
    const s = await status();
    expect(s.signoz).toEqual({
      check: `owner account ${EMAIL} (SigNoz)`,
      ok: false,
      detail: `SIGN-UP OPEN: SigNoz has no user yet: its first visitor becomes SigNoz's admin; run plinth apply ${ENV}, which signs ${EMAIL} up once SigNoz is healthy`,
    });
    expect(s.openpanel?.ok).toBe(false);
    expect(s.openpanel?.detail).toMatch(/^NO OWNER: OpenPanel has no owner@example\.com: its first visitor/);
    // Asked, never signed up: SigNoz's setup state; OpenPanel a sign-in with the owner's password.
    expect(signoz.calls.filter((c) => !c.includes("health"))).toEqual(["GET /api/v1/version"]);
    expect(openpanel.calls.filter((c) => !c.includes("health"))).toEqual(["POST /trpc/auth.signInEmail"]);
    expect(signUps()).toBe(0);
    expect(signoz.accounts).toEqual([]);
    expect(openpanel.accounts).toEqual([]);
  });

  it("once apply made them: no plan line, status passes both; a password changed in OpenPanel still passes", async () => {
    const r = await runPlan(bed, await plan());
    expect(r.error).toBeUndefined();
    expect(signoz.accounts.map((a) => a.email)).toEqual([EMAIL]);
    expect(await lines()).toEqual([undefined, undefined]);
    signoz.calls.length = 0;
    openpanel.calls.length = 0;
    const s = await status();
    expect(s.signoz).toMatchObject({ ok: true, detail: `${EMAIL} exists (made by plinth)` });
    expect(s.openpanel).toMatchObject({ ok: true, detail: `${EMAIL} exists and plinth's password signs in` });
    expect(signUps()).toBe(0);

    openpanel.accounts[0] = { email: EMAIL, password: "changed-by-its-owner" };
    expect((await status()).openpanel).toMatchObject({
      ok: true,
      detail: `${EMAIL} exists (made by plinth; its password was changed in OpenPanel)`,
    });
  });

  it("plinth status runs the owner check with the component's other checks, and fails it for a component someone else took", async () => {
    await kubectl("delete", "configmap", "--all", "-n", NS);
    signoz.reset([{ email: "intruder@example.net", password: "Intruder-pass-1" }]);
    openpanel.reset([{ email: "intruder@example.net", password: "intruder-pass" }]);
    // Without the marker the plan says apply would act (where it will stop, naming the intruder).
    expect((await lines())[0]).toMatch(/^owner account for SigNoz .*: will be created at apply/);

    const env = bed.env;
    // The hosts are not on the internet: the access checks get a stand-in answer (the gate's redirect).
    const rows = await gatherStatus(env, buildGraph(env), [], bed.kube, {
      probe: async () => ({ code: 302, location: "https://auth-owners-s.example.org/oauth2/start" }),
    });
    const owner = (id: string) =>
      rows.find((r) => r.id === id)?.health.find((h) => h.check.startsWith("owner account"));
    expect(owner("signoz")).toEqual({
      check: `owner account ${EMAIL} (SigNoz)`,
      ok: false,
      detail: `SigNoz has users but no ${EMAIL}: someone signed up before plinth did (see README "First-visitor takeover" for the reset)`,
    });
    expect(owner("openpanel")?.ok).toBe(false);
    expect(owner("openpanel")?.detail).toMatch(/^NO OWNER/);
    // Only the two components with a first-visitor sign-up carry the check.
    expect(
      rows.filter((r) => r.health.some((h) => h.check.startsWith("owner account"))).map((r) => r.id),
    ).toEqual(["signoz", "openpanel"]);
    expect(signUps()).toBe(0);
    expect(signoz.accounts).toEqual([{ email: "intruder@example.net", password: "Intruder-pass-1" }]);
  });

  it("a component that does not answer is a failed check, not a crash", async () => {
    signoz.failNext.set("/api/v1/version", [503, "upstream connect error"]);
    const s = await status();
    expect(s.signoz).toMatchObject({
      ok: false,
      detail: "GET /api/v1/version: HTTP 503: upstream connect error",
    });
  });
});
