import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { CATALOG } from "../catalog/index.js";
import type { HealthCheck } from "../catalog/types.js";
import type { ComponentId, PhaseId } from "../config/ids.js";
import type { Graph, GraphNode } from "../graph/graph.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { ChangeAction, FieldDiff } from "../providers/types.js";
import { describeKeys } from "../secrets/environment.js";
import { sortKeys } from "../util/yaml.js";
import type { DesiredComponent } from "./desired.js";
import { offlineOwner, type PlannedOwner } from "./owners.js";

export interface Change {
  action: ChangeAction;
  provider: "kubernetes" | "ssh" | "manifest" | "secret" | "cloudflare" | "vault";
  kind: string;
  name: string;
  namespace?: string;
  apiVersion?: string;
  /** For secrets: the key names (never values). For external resources: what will happen. */
  detail?: string;
  /** Live plans: the resource identity, field diffs (secrets redacted), what apply sends, the live version seen. */
  id?: string;
  diff?: FieldDiff[];
  spec?: unknown;
  liveVersion?: string;
}

export interface PlanComponent {
  id: ComponentId;
  title: string;
  step: string;
  layer: string;
  namespace: string;
  placement: DesiredComponent["placement"];
  cluster?: string;
  dependsOn: ComponentId[];
  changes: Change[];
  /** The catalog's health checks, which apply waits for once the component's objects are ready. */
  health?: HealthCheck[];
  /** The owner account apply signs up after the health checks (SigNoz, OpenPanel): not a change. */
  owner?: PlannedOwner;
}

/** A step a plan holds outside the cluster (k3s is planned by apply and bootstrap themselves). */
export type OutsideStepId = "dns";

export interface Plan {
  env: string;
  cluster: string;
  /** Planned against an empty cluster, without contacting one. */
  offline: boolean;
  phases: { id: PhaseId; components: PlanComponent[] }[];
  summary: Record<ChangeAction, number> & { secrets: number };
  /** sha256 of the plan's changes and the desired objects they carry. */
  hash: string;
  /** Narrowed by --phase or --target: applying it must not shrink the ApplySet's recorded kinds. */
  partial?: boolean;
  /**
   * The steps outside the cluster, run before phase 0's objects, each with its changes: the
   * environment's DNS records at Cloudflare (live plans, when DNS is managed and a token set).
   * Hashed and signed with the phases, so a saved plan carries them.
   */
  outside?: Partial<Record<OutsideStepId, Change[]>>;
  /** `hmac-sha256:<hex>` over the canonical content, when `plan -o` ran with PLINTH_PLAN_KEY set. */
  signature?: string;
}

/** A plan against an empty cluster: every desired object, secret and external step is a create. */
export function offlinePlan(env: ResolvedEnvironment, graph: Graph, desired: DesiredComponent[]): Plan {
  const byId = new Map(desired.map((d) => [d.id, d]));
  const phases = graph.phases.map((phase) => ({
    id: phase.id,
    components: phase.components.map((node): PlanComponent => {
      const d = byId.get(node.id);
      const changes: Change[] = [
        ...(d?.external ?? []).map(
          (e): Change => ({
            action: "create",
            provider: e.provider,
            kind: e.kind,
            name: e.name,
            detail: e.detail,
          }),
        ),
        ...(d?.objects ?? []).map(
          (o): Change => ({
            action: "create",
            provider: "kubernetes",
            apiVersion: o.apiVersion,
            kind: o.kind,
            name: o.metadata.name,
            ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
          }),
        ),
        ...(d?.secrets ?? []).map(
          (s): Change => ({
            action: "create",
            provider: "secret",
            kind: "Secret",
            name: s.name,
            namespace: s.namespace,
            detail: describeKeys(s),
          }),
        ),
      ];
      return planComponent(node, changes, d?.health, offlineOwner(env, node.id));
    }),
  }));
  // Offline changes do not carry the objects, so their content goes into the hash beside them.
  return finishPlan(
    { env: env.name, cluster: env.cluster.name, offline: true, phases },
    desired.map((d) => d.objects),
  );
}

/** A graph node with its changes: the unit plans are made of, offline or live. */
export function planComponent(
  node: GraphNode,
  changes: Change[],
  health: HealthCheck[] = [],
  owner?: PlannedOwner,
): PlanComponent {
  return {
    id: node.id,
    title: CATALOG[node.id].title,
    step: node.step,
    layer: node.layer,
    namespace: node.namespace,
    placement: node.placement,
    ...(node.cluster ? { cluster: node.cluster } : {}),
    dependsOn: node.dependsOn,
    changes,
    ...(health.length ? { health } : {}),
    ...(owner ? { owner } : {}),
  };
}

/** Adds the summary and the content hash (over everything apply would act on). */
export function finishPlan(p: Omit<Plan, "summary" | "hash">, alsoHashed?: unknown): Plan {
  const all = p.phases.flatMap((ph) => ph.components.flatMap((c) => c.changes));
  const summary = { create: 0, update: 0, adopt: 0, delete: 0, "no-op": 0, secrets: 0 };
  for (const c of all) {
    summary[c.action] += 1;
    if (c.provider === "secret" && c.action !== "no-op") summary.secrets += 1;
  }
  return { ...p, summary, hash: contentHash(p, alsoHashed) };
}

/**
 * The plan's content as one canonical string (sorted keys): what the hash and the signature cover.
 * env and cluster are in it, so a plan cannot be re-addressed to another environment or cluster.
 */
function canonicalContent(p: Omit<Plan, "summary" | "hash">, alsoHashed?: unknown): string {
  return JSON.stringify(
    sortKeys({
      env: p.env,
      cluster: p.cluster,
      offline: p.offline,
      phases: p.phases,
      ...(p.outside ? { outside: p.outside } : {}),
      ...(p.partial ? { partial: true } : {}),
      alsoHashed,
    }),
  );
}

function contentHash(p: Omit<Plan, "summary" | "hash">, alsoHashed?: unknown): string {
  return createHash("sha256").update(canonicalContent(p, alsoHashed)).digest("hex");
}

const SIGNATURE_SCHEME = "hmac-sha256:";

function hmac(p: Plan, key: string): Buffer {
  return createHmac("sha256", key).update(canonicalContent(p)).digest();
}

/** The plan signed with the hand-over key (the key itself goes nowhere but into the HMAC). */
export function signPlan(p: Plan, key: string): Plan {
  return { ...p, signature: `${SIGNATURE_SCHEME}${hmac(p, key).toString("hex")}` };
}

/** Whether a saved plan carries a signature made with this key: `unsigned`, `valid` or `invalid`. */
export function checkSignature(p: Plan, key: string): "unsigned" | "valid" | "invalid" {
  if (p.signature === undefined) return "unsigned";
  if (typeof p.signature !== "string" || !p.signature.startsWith(SIGNATURE_SCHEME)) return "invalid";
  const given = Buffer.from(p.signature.slice(SIGNATURE_SCHEME.length), "hex");
  const expected = hmac(p, key);
  // Constant time, so a forger learns nothing from how long the refusal took.
  return given.length === expected.length && timingSafeEqual(given, expected) ? "valid" : "invalid";
}

/**
 * Why a parsed JSON value cannot be a saved plan (undefined when its shape is one): checked
 * before anything reads its fields, so a damaged file is named rather than crashing plinth.
 */
export function notAPlan(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `its JSON is ${value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`}, not a plan object`;
  }
  const p = value as Record<string, unknown>;
  for (const field of ["env", "cluster", "hash"] as const) {
    if (typeof p[field] !== "string") return `has no "${field}" text`;
  }
  if (!Array.isArray(p.phases)) return 'has no "phases" list';
  for (const phase of p.phases as unknown[]) {
    const ph = phase as { id?: unknown; components?: unknown } | null;
    if (typeof ph?.id !== "string" || !Array.isArray(ph.components))
      return "has a phase without id or components";
    for (const component of ph.components as unknown[]) {
      const c = component as { id?: unknown; changes?: unknown } | null;
      if (typeof c?.id !== "string" || !Array.isArray(c.changes)) {
        return `phase ${ph.id} has a component without id or changes`;
      }
      for (const change of c.changes as unknown[]) {
        const ch = change as Record<string, unknown> | null;
        if (!ch || ["action", "provider", "kind", "name"].some((k) => typeof ch[k] !== "string")) {
          return `component ${c.id} has a change without action, provider, kind or name`;
        }
      }
    }
  }
  if (p.outside !== undefined) {
    if (typeof p.outside !== "object" || p.outside === null) return '"outside" is not an object';
    for (const [step, changes] of Object.entries(p.outside)) {
      if (!Array.isArray(changes)) return `"outside.${step}" is not a list`;
    }
  }
  return undefined;
}

/** Whether a saved plan is exactly what was written (not edited since). */
export function verifyHash(p: Plan): boolean {
  return contentHash(p) === p.hash;
}
