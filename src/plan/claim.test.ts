import { describe, expect, it } from "vitest";
import type { KubeObject, SecretSpec } from "../catalog/types.js";
import { validateConfig } from "../config/validate-config.js";
import { buildGraph } from "../graph/graph.js";
import { resolve } from "../model/resolve.js";
import { withMembership } from "../providers/kubernetes/applyset.js";
import { identityOf, refOf } from "../providers/kubernetes/identity.js";
import { catalogVariables, claimDifferences, removedIds } from "./claim.js";
import { type DesiredComponent, desiredComponents } from "./desired.js";
import { type Change, finishPlan, type Plan } from "./plan.js";

/** staging on cluster `one` with a public zone (so cert-manager's Secret comes from CLOUDFLARE_API_TOKEN). */
const env = resolve(
  validateConfig(
    {
      project: "acme",
      defaults: { baseDomain: "example.com", internalDomain: "example.org" },
      clusters: { one: { type: "existing", kubeconfig: "one.yaml" } },
      environments: {
        staging: {
          kind: "staging",
          cluster: "one",
          domainPrefix: "x-staging",
          features: { observability: true },
        },
      },
    },
    "plinth.config.ts",
  ),
  "staging",
);
const derived = desiredComponents(env, buildGraph(env));
const OPTIONS = { env: "staging", cluster: "one" };

/** What a live plan against an empty cluster saves: every change a create, carrying what apply sends. */
function savedPlan(from: readonly DesiredComponent[] = derived): Plan {
  const graph = buildGraph(env);
  const byId = new Map(from.map((d) => [d.id, d]));
  return finishPlan({
    env: "staging",
    cluster: "one",
    offline: false,
    phases: graph.phases.map((phase) => ({
      id: phase.id,
      components: phase.components.map((node) => {
        const d = byId.get(node.id);
        const changes: Change[] = [
          ...(d?.external ?? []).map(
            (e): Change => ({
              action: e.provider === "manifest" ? "update" : "no-op",
              provider: e.provider,
              kind: e.kind,
              name: e.name,
              detail: e.detail,
              ...(e.source ? { spec: e.source } : {}),
            }),
          ),
          ...(d?.objects ?? []).map((o) => objectChange(o)),
          ...(d?.secrets ?? []).map((s) => secretChange(s)),
        ];
        return {
          id: node.id,
          title: node.id,
          step: node.step,
          layer: node.layer,
          namespace: node.namespace,
          placement: node.placement,
          dependsOn: node.dependsOn,
          changes,
          ...(d?.health.length ? { health: d.health } : {}),
        };
      }),
    })),
  });
}

function objectChange(o: KubeObject, action: Change["action"] = "create"): Change {
  return {
    action,
    provider: "kubernetes",
    id: identityOf(refOf(o)),
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    spec: { object: withMembership(o, "staging") },
  };
}

function secretChange(s: SecretSpec): Change {
  return {
    action: "create",
    provider: "secret",
    id: identityOf({ apiVersion: "v1", kind: "Secret", name: s.name, namespace: s.namespace }),
    kind: "Secret",
    name: s.name,
    namespace: s.namespace,
    spec: { secret: s },
  };
}

/** The plan with `edit` applied to one component's changes (redis unless said). */
function edited(edit: (changes: Change[]) => void, component = "redis"): Plan {
  const plan = structuredClone(savedPlan());
  const c = plan.phases.flatMap((p) => p.components).find((x) => x.id === component);
  if (!c) throw new Error(`${component} is not in the plan`);
  edit(c.changes);
  return plan;
}

const CLUSTER_ADMIN: KubeObject = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  metadata: { name: "ci-admin" },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
  subjects: [{ kind: "ServiceAccount", name: "default", namespace: "apps" }],
} as KubeObject;

const EXFIL: SecretSpec = {
  name: "exfil",
  namespace: "apps",
  keys: {
    passphrase: {
      length: 0,
      alphabet: "alphanumeric",
      fromEnv: { variable: "PLINTH_VAULT_PASSPHRASE", what: "x" },
    },
    s3: { length: 0, alphabet: "alphanumeric", fromEnv: { variable: "AWS_SECRET_ACCESS_KEY", what: "x" } },
    fixed: { length: 0, alphabet: "alphanumeric", fixed: "hello" },
  },
  consumers: ["nobody"],
};

describe("a saved plan is a claim checked against the config", () => {
  it("a plan of exactly what the config derives has no differences", () => {
    expect(derived.some((d) => d.objects.length > 0)).toBe(true);
    expect(claimDifferences(savedPlan(), derived, OPTIONS)).toEqual([]);
  });

  it("the catalog's variables are the allow-list: here only CLOUDFLARE_API_TOKEN", () => {
    expect([...catalogVariables(derived)]).toEqual(["CLOUDFLARE_API_TOKEN"]);
  });

  it("an extra ClusterRoleBinding is named as an object the config does not produce", () => {
    const plan = edited((changes) => changes.push(objectChange(CLUSTER_ADMIN)));
    expect(claimDifferences(plan, derived, OPTIONS)).toEqual([
      "ClusterRoleBinding ci-admin (component redis): not an object the config produces (an extra object)",
    ]);
  });

  it("an object whose content was changed is refused, naming it", () => {
    const plan = edited((changes) => {
      const ch = changes.find((c) => c.provider === "kubernetes" && c.kind !== "Namespace");
      const object = (ch?.spec as { object: KubeObject } | undefined)?.object as KubeObject & {
        spec?: unknown;
      };
      if (!object) throw new Error("redis has objects");
      object.spec = { ...(object.spec as object), replicas: 9 };
    });
    const diffs = claimDifferences(plan, derived, OPTIONS);
    expect(diffs).toHaveLength(1);
    expect(diffs[0]).toMatch(/\(component redis\): differs from what the config produces$/);
  });

  it("an exfiltrating Secret: each foreign variable and the extra secret are named", () => {
    const plan = edited((changes) => changes.push(secretChange(EXFIL)));
    expect(claimDifferences(plan, derived, OPTIONS)).toEqual([
      "Secret apps/exfil (component redis): fills a key from environment variable AWS_SECRET_ACCESS_KEY; the catalog fills secrets only from CLOUDFLARE_API_TOKEN here",
      "Secret apps/exfil (component redis): fills a key from environment variable PLINTH_VAULT_PASSPHRASE; the catalog fills secrets only from CLOUDFLARE_API_TOKEN here",
      "Secret apps/exfil (component redis): not a secret the config produces (an extra secret)",
    ]);
  });

  it("a catalog Secret whose rules were edited (a variable added, a length shortened) is refused", () => {
    const owner = derived.find((d) => d.secrets.length > 0);
    expect(owner).toBeDefined();
    const plan = edited((changes) => {
      const secret = (
        changes.find((c) => c.provider === "secret")?.spec as { secret: SecretSpec } | undefined
      )?.secret;
      if (!secret) throw new Error("the component has a secret");
      const [first] = Object.keys(secret.keys);
      secret.keys[first as string] = { length: 4, alphabet: "hex" };
      secret.keys.leak = {
        length: 0,
        alphabet: "alphanumeric",
        fromEnv: { variable: "VAULT_TOKEN", what: "x" },
      };
    }, owner?.id);
    const diffs = claimDifferences(plan, derived, OPTIONS);
    expect(diffs).toHaveLength(2);
    expect(diffs[0]).toMatch(
      /: fills a key from environment variable VAULT_TOKEN; the catalog fills secrets only from CLOUDFLARE_API_TOKEN here$/,
    );
    expect(diffs[1]).toMatch(/: its keys or generation rules differ from the catalog's$/);
  });

  it("a manifest URL other than the catalog's pinned one is refused", () => {
    const plan = edited((changes) => {
      const m = changes.find((c) => c.provider === "manifest");
      (m?.spec as { url: string }).url = "https://evil.example/operator.yaml";
    }, "kubero");
    expect(claimDifferences(plan, derived, OPTIONS)).toEqual([
      "OperatorManifest kubero-operator (component kubero): its manifest source (URL or images) differs from the catalog's pinned one",
    ]);
  });

  it("an extra manifest step is refused", () => {
    const plan = edited((changes) =>
      changes.push({
        action: "update",
        provider: "manifest",
        kind: "OperatorManifest",
        name: "evil",
        spec: { url: "https://evil.example/x.yaml", sha256: "0".repeat(64), imageOverrides: [] },
      }),
    );
    expect(claimDifferences(plan, derived, OPTIONS)).toEqual([
      "OperatorManifest evil (component redis): not a manifest step the config produces",
    ]);
  });

  it("deleting or releasing an object the config still wants is refused; a destroy plan may", () => {
    const wantedObject = derived.find((d) => d.id === "redis")?.objects.at(-1) as KubeObject;
    const plan = edited((changes) => {
      changes.push({ ...objectChange(wantedObject, "delete"), spec: { release: false } });
    }, "postgres");
    const diffs = claimDifferences(plan, derived, OPTIONS);
    expect(diffs).toEqual([
      `${wantedObject.kind} ${wantedObject.metadata.namespace}/${wantedObject.metadata.name} (component postgres): deletes an object the config still wants (component redis)`,
    ]);
    expect(removedIds(plan)).toEqual([identityOf(refOf(wantedObject))]);
    expect(claimDifferences(plan, derived, { ...OPTIONS, destroy: true })).toEqual([]);
  });

  it("a deletion of an object the config no longer has is a claim apply checks live (membership)", () => {
    const gone = { ...CLUSTER_ADMIN, metadata: { name: "someone-elses" } };
    const plan = edited((changes) =>
      changes.push({ ...objectChange(gone, "delete"), spec: { release: false } }),
    );
    expect(claimDifferences(plan, derived, OPTIONS)).toEqual([]);
    expect(removedIds(plan)).toEqual([identityOf(refOf(gone))]);
  });

  it("a deletion through another provider, or whose id names another object, is refused", () => {
    const secret = derived.find((d) => d.secrets.length > 0)?.secrets[0] as SecretSpec;
    const plan = edited((changes) => {
      changes.push({ ...secretChange(secret), action: "delete" });
      const ch = objectChange({ ...CLUSTER_ADMIN, metadata: { name: "harmless" } }, "delete");
      changes.push({ ...ch, id: identityOf(refOf(CLUSTER_ADMIN)) });
    });
    expect(claimDifferences(plan, derived, OPTIONS)).toEqual([
      `Secret ${secret.namespace}/${secret.name} (component redis): a deletion through secret; plinth deletes only Kubernetes objects`,
      `ClusterRoleBinding harmless (component redis): its id (${identityOf(refOf(CLUSTER_ADMIN))}) does not name the object it carries`,
    ]);
  });

  it("an object moved to another component, a missing object and an unknown component are named", () => {
    const plan = structuredClone(savedPlan());
    const components = plan.phases.flatMap((p) => p.components);
    const redis = components.find((c) => c.id === "redis");
    const postgres = components.find((c) => c.id === "postgres");
    if (!redis || !postgres) throw new Error("staging has redis and postgres");
    const moved = redis.changes.pop() as Change;
    postgres.changes.push(moved);
    plan.phases[0]?.components.push({ ...redis, id: "mongo" as never, changes: [] });
    expect(claimDifferences(plan, derived, OPTIONS)).toEqual([
      "component mongo: not a plinth component",
      `${moved.kind} ${moved.namespace}/${moved.name} (component postgres): belongs to component redis, not postgres`,
      `${moved.id} (component redis): in the config, missing from the plan`,
    ]);
  });

  it("a change may wait for the deletion of its own object or namespace, nothing else", () => {
    const plan = edited((changes) => {
      const [own, other] = changes.filter((c) => c.provider === "kubernetes" && c.namespace);
      const ref = (c: Change) => ({
        apiVersion: "v1",
        kind: c.kind,
        name: c.name,
        namespace: c.namespace as string,
      });
      (own?.spec as Record<string, unknown>).afterDeletionOf = {
        apiVersion: "v1",
        kind: "Namespace",
        name: own?.namespace,
      };
      (other?.spec as Record<string, unknown>).afterDeletionOf = {
        ...ref(other as Change),
        name: "elsewhere",
      };
    });
    expect(claimDifferences(plan, derived, OPTIONS)).toEqual([
      expect.stringMatching(/: waits for the deletion of another object$/),
    ]);
  });

  it("a plan made for another environment or cluster, an offline or partial one, is refused", () => {
    const plan = { ...savedPlan(), env: "prod", cluster: "two", offline: true, partial: true };
    expect(claimDifferences(plan, derived, OPTIONS)).toEqual([
      "made for environment prod, not staging",
      "made for cluster two; the config puts staging on cluster one",
      "is an offline plan (against an empty cluster), not one to apply",
      "is marked partial; plan -o writes whole plans only",
    ]);
  });

  it("Vault's own changes are compared at apply, not here; outside the vault component they are refused", () => {
    const vaultChange: Change = { action: "create", provider: "vault", kind: "VaultPolicy", name: "p" };
    expect(
      claimDifferences(
        edited((c) => c.push(vaultChange), "vault"),
        derived,
        OPTIONS,
      ),
    ).toEqual([]);
    expect(
      claimDifferences(
        edited((c) => c.push(vaultChange)),
        derived,
        OPTIONS,
      ),
    ).toEqual(["VaultPolicy p (component redis): a Vault change outside the vault component"]);
  });
});
