import type { KubeObject, ManifestSource, SecretSpec } from "../catalog/types.js";
import { COMPONENT_IDS, type ComponentId } from "../config/ids.js";
import { error, throwIfErrors, UserError } from "../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../model/types.js";
import type { DesiredComponent } from "../plan/desired.js";
import type { HandOver } from "../plan/live.js";
import type { Change, Plan, PlanComponent } from "../plan/plan.js";
import { applySetId, isMember, PART_OF, withMembership } from "../providers/kubernetes/applyset.js";
import {
  type ParentRecord,
  readParent,
  recordOf,
  shrinkParent,
  widenParent,
} from "../providers/kubernetes/applyset-parent.js";
import { apiError } from "../providers/kubernetes/errors.js";
import { checkable, healthWait } from "../providers/kubernetes/health.js";
import { displayName, type ObjectRef, parseIdentity, refOf } from "../providers/kubernetes/identity.js";
import type { KubernetesProvider, KubeSpec } from "../providers/kubernetes/provider.js";
import {
  CONFIG_HASH,
  deletionProbe,
  deletionWait,
  isTerminating,
  type Wait,
  waitsFor,
  waitUntil,
} from "../providers/kubernetes/readiness.js";
import { applySecret, type SecretChangeSpec } from "../providers/kubernetes/secrets.js";
import { fetchManifest, manifestMembers } from "../providers/manifest.js";
import type { ProviderContext, ResourceChange } from "../providers/types.js";
import { missingVariables } from "../secrets/environment.js";
import { inDependencyOrder } from "../util/pool.js";
import type { EventSink } from "./events.js";
import { ownerSkipped, ownerStep } from "./owners.js";

export interface ExecuteOptions {
  /**
   * What the config produces for the environment, computed once by the plan step and never read
   * from a plan file: the rules each Secret is written by (a saved file could name any variable
   * of the operator's environment) and each manifest's pinned source (a file could name any URL).
   */
  desired: readonly DesiredComponent[];
  kube: KubernetesProvider;
  ctx: ProviderContext;
  env: ResolvedEnvironment;
  onEvent: EventSink;
  concurrency?: number;
  /** Skip readiness waits (objects are applied; nothing is waited for). */
  noWait?: boolean;
  /** Skip the catalog's health checks (readiness waits still run). */
  skipHealthChecks?: boolean;
  /** Scales every wait's timeout (tests); `maxWaitMs` then caps each (`--timeout`). */
  timeoutScale?: number;
  maxWaitMs?: number;
  /** Work a component needs once it is ready (Vault's own configuration), reported like its objects. */
  afterReady?: Partial<Record<ComponentId, AfterReady>>;
  /** Aborted when the run must stop (its environment lock was lost): checked between components. */
  signal?: AbortSignal;
}

/**
 * Stops a run whose signal was aborted, before `step`, saying why: the reason's own diagnostics
 * (a lost lock names the environment and what happened), then where the run stopped.
 */
export function stopIfAborted(signal: AbortSignal | undefined, step: string): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  if (!(reason instanceof UserError)) throw reason;
  throw new UserError(
    reason.diagnostics.map((d) => ({ ...d, message: `${d.message}; stopped before ${step}` })),
  );
}

export interface AfterReady {
  run(report: {
    waiting(detail: string): void;
    applied(change: { action: Change["action"]; kind: string; name: string }): void;
  }): Promise<number>;
  /** What `--no-wait` leaves undone, said in the component's ready event. */
  skippedWithoutWait: string;
}

/** A wait's timeout as the options have it: scaled (tests), capped by `--timeout`. */
function waitMs(o: ExecuteOptions, ms: number): number {
  return Math.min(ms * (o.timeoutScale ?? 1), o.maxWaitMs ?? Infinity);
}

/** Apply order inside a component: namespaces and CRDs before anything that lives in or uses them. */
function rank(c: Change): number {
  if (c.kind === "Namespace") return 0;
  if (c.kind === "CustomResourceDefinition") return 1;
  if (c.provider === "secret") return 2;
  return 3;
}

/**
 * Runs a plan: phases in order; inside a phase, components concurrently (bounded) as soon as their
 * dependencies are ready; each component's objects applied, then its named readiness conditions
 * awaited. Deletions run last, in reverse phase order. The ApplySet parent first records the union
 * of old and new member kinds, so an interrupted run leaves nothing a later prune cannot find.
 */
export async function execute(plan: Plan, o: ExecuteOptions): Promise<{ changes: number }> {
  // A Secret written from a variable that is not set would stop the run half way: refuse first.
  const secrets = o.desired.flatMap((d) => d.secrets);
  const fromVariables = plan.phases
    .flatMap((p) => p.components.flatMap((c) => c.changes))
    .filter((ch) => ch.provider === "secret" && ch.action !== "no-op" && ch.action !== "delete")
    .map((ch) => catalogSecret(ch, secrets));
  throwIfErrors(missingVariables(fromVariables, o.ctx.variables ?? {}));
  const started = Date.now();
  const components = plan.phases.flatMap((p) => p.components);
  o.onEvent({
    type: "start",
    env: plan.env,
    hash: plan.hash,
    components: components.length,
    at: new Date().toISOString(),
  });
  let changes = 0;
  try {
    // Every manifest the plan holds is read (verified, from the cache when there) before anything
    // is written: its objects' kinds and namespaces are members the parent must record, no-op or not.
    const manifests = await readManifests(plan, o);
    const recorded = await readParent(o.kube, o.ctx.env);
    const members = withManifests(
      recordOf(plan.phases.flatMap((p) => p.components.flatMap((c) => c.changes))),
      manifests,
    );
    await widenParent(o.kube, o.ctx.env, o.ctx.tooling, recorded, members);

    for (const phase of plan.phases) {
      const applying = phase.components.filter((c) => c.changes.some((ch) => ch.action !== "delete"));
      changes += await runPhase(phase.id, applying, o, secrets, manifests, started);
    }
    for (const phase of [...plan.phases].reverse()) changes += await runPhaseDeletions(phase.components, o);
    // A narrowed plan saw only part of the set: the parent keeps what it was widened to; only a
    // full run shrinks it (and one that leaves no member, destroy, removes it).
    if (!plan.partial) await shrinkParent(o.kube, o.ctx.env, o.ctx.tooling, members);
    o.onEvent({ type: "done", outcome: "applied", elapsedMs: Date.now() - started, changes });
    return { changes };
  } catch (e) {
    o.onEvent({
      type: "done",
      outcome: "failed",
      elapsedMs: Date.now() - started,
      changes,
      error: (e as Error).message,
    });
    throw e;
  }
}

/** The catalog's rules for a planned Secret; a Secret the catalog does not make is refused. */
function catalogSecret(ch: Change, secrets: SecretSpec[]): SecretSpec {
  const spec = secrets.find((s) => s.name === ch.name && s.namespace === ch.namespace);
  if (!spec) {
    throw new UserError(
      error(`Secret ${ch.namespace}/${ch.name} is not a secret the catalog makes for this environment`, {
        path: ch.id ?? `${ch.namespace}/${ch.name}`,
        fix: "apply a plan made by plinth plan <env> -o plan.json from this config; nothing was changed",
      }),
    );
  }
  return spec;
}

/** A manifest step's pinned source, from the catalog: a plan's URL is never fetched. */
function catalogManifest(c: PlanComponent, ch: Change, desired: readonly DesiredComponent[]): ManifestSource {
  const step = desired
    .find((d) => d.id === c.id)
    ?.external.find((e) => e.provider === "manifest" && e.name === ch.name);
  if (!step?.source) {
    throw new UserError(
      error(`${ch.kind} ${ch.name} is not a manifest the catalog applies for component ${c.id}`, {
        path: `${c.id}.${ch.name}`,
        fix: "apply a plan made by plinth plan <env> -o plan.json from this config",
      }),
    );
  }
  return step.source;
}

/**
 * helm-controller hashes a chart's spec (and values) into its install Job: only a new chart or a
 * spec change brings a new Job. A label-only change (adoption, metadata drift) keeps the old one.
 */
function chartSpecChanged(ch: Change): boolean {
  return (
    ch.action === "create" || (ch.diff ?? []).some((d) => d.path === "spec" || d.path.startsWith("spec."))
  );
}

async function runPhase(
  phase: string,
  components: PlanComponent[],
  o: ExecuteOptions,
  secrets: SecretSpec[],
  manifests: Manifests,
  started: number,
): Promise<number> {
  for (const c of components) {
    o.onEvent({
      type: "component",
      component: c.id,
      phase: phase as never,
      status: "pending",
      elapsedMs: Date.now() - started,
    });
  }
  const counts = await inDependencyOrder(
    components,
    (c) => components.filter((d) => c.dependsOn.includes(d.id)),
    o.concurrency ?? 4,
    (c) => runComponent(c, phase, o, secrets, manifests),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function runComponent(
  c: PlanComponent,
  phase: string,
  o: ExecuteOptions,
  secrets: SecretSpec[],
  manifests: Manifests,
): Promise<number> {
  const t0 = Date.now();
  const emit = (status: "applying" | "waiting" | "ready" | "failed", detail?: string) =>
    o.onEvent({
      type: "component",
      component: c.id,
      phase: phase as never,
      status,
      ...(detail ? { detail } : {}),
      elapsedMs: Date.now() - t0,
    });
  stopIfAborted(o.signal, `component ${c.id} (phase ${phase})`);
  emit("applying");
  let applied = 0;
  const waits: Wait[] = [];
  const step: Step = { c, o, secrets, manifests, waiting: (m) => emit("waiting", m) };
  try {
    for (const ch of [...c.changes].filter((x) => x.action !== "delete").sort((a, b) => rank(a) - rank(b))) {
      const ran = await runnerOf(ch)(ch, step);
      waits.push(...ran.waits);
      if (ran.reported) {
        applied++;
        o.onEvent({
          type: "change",
          component: c.id,
          action: ch.action,
          kind: ch.kind,
          name: ch.name,
          ...(ch.namespace ? { namespace: ch.namespace } : {}),
        });
      }
    }
    const waitFor = async (list: Wait[]) => {
      for (const w of list.map((x) => ({
        ...x,
        timeoutMs: Math.min(x.timeoutMs, o.maxWaitMs ?? Infinity),
      }))) {
        emit("waiting", `${w.object.kind} ${w.object.name}: ${w.condition}`);
        await waitUntil(w, {
          ...(o.ctx.signal ? { signal: o.ctx.signal } : {}),
          onStatus: (s) => emit("waiting", `${w.object.kind} ${w.object.name}: ${s}`),
        });
      }
    };
    await waitFor(waits);
    const after = o.afterReady?.[c.id];
    if (after && !o.noWait) {
      applied += await after.run({
        waiting: (m) => emit("waiting", m),
        applied: (ch) => o.onEvent({ type: "change", component: c.id, ...ch }),
      });
    }
    // Ready objects are not yet a working component: its own checks say so (after Vault's unseal).
    let ownerLeft: string | undefined;
    if (!o.noWait && !o.skipHealthChecks) {
      await waitFor((c.health ?? []).filter(checkable).map((h) => healthWait(h, o.kube, o.timeoutScale)));
      // A healthy SigNoz or OpenPanel makes its first visitor the owner: plinth signs up first.
      applied += await ownerStep({
        kube: o.kube,
        env: o.env,
        component: c.id,
        secretWaitMs: waitMs(o, 5 * 60_000),
        ...(o.ctx.signal ? { signal: o.ctx.signal } : {}),
        report: {
          waiting: (m) => emit("waiting", m),
          applied: (ch) => o.onEvent({ type: "change", component: c.id, ...ch }),
        },
      });
    } else {
      ownerLeft = ownerSkipped(o.env, c.id);
    }
    emit(
      "ready",
      [after && o.noWait ? after.skippedWithoutWait : undefined, ownerLeft].filter(Boolean).join("; ") ||
        undefined,
    );
    return applied;
  } catch (e) {
    emit("failed", (e as Error).message.split("\n")[0]);
    throw e;
  }
}

/** The component a change belongs to and how its runner reports a wait. */
interface Step {
  c: PlanComponent;
  o: ExecuteOptions;
  secrets: SecretSpec[];
  manifests: Manifests;
  waiting: (message: string) => void;
}

/**
 * What one change's runner did: whether it is reported as a change (a no-op or a release is not),
 * and the readiness waits it leaves for after the component's objects are all applied.
 */
interface Ran {
  reported: boolean;
  waits: Wait[];
}

type Runner = (ch: Change, step: Step) => Promise<Ran>;

const nothing: Ran = { reported: false, waits: [] };

/** One runner per kind of change; a provider that runs outside the cluster (ssh, dns) has none here. */
function runnerOf(ch: Change): Runner {
  if (ch.provider === "secret") return runSecret;
  if (ch.provider === "kubernetes") {
    const spec = ch.spec as KubeSpec | { release?: boolean } | undefined;
    return spec && "release" in spec ? runRelease : runObject;
  }
  if (ch.provider === "manifest") return runManifest;
  return async () => nothing;
}

async function runSecret(ch: Change, { c, o, secrets, waiting }: Step): Promise<Ran> {
  if (ch.action === "no-op") return nothing;
  if (ch.namespace) await waitCreated(o, ch.namespace, waiting);
  // The plan's change does not carry its component: the Secret's labels need it (prune, --target).
  // ...and is written by the catalog's rules, whatever the plan's copy of them says.
  const change = {
    ...ch,
    component: c.id,
    spec: { secret: catalogSecret(ch, secrets) },
  } as ResourceChange<SecretChangeSpec>;
  await applySecret(o.kube, o.env, change, secrets, o.ctx);
  return { reported: true, waits: [] };
}

/** Kept data leaving the ApplySet: not reported as a change of its own. */
async function runRelease(ch: Change, { o }: Step): Promise<Ran> {
  if ((ch.spec as { release?: boolean }).release) await release(o, ch);
  return nothing;
}

async function runObject(ch: Change, { o, waiting }: Step): Promise<Ran> {
  const spec = ch.spec as KubeSpec;
  const object = spec.object;
  // Planned while it (or its namespace) was being deleted: created once that deletion is
  // done. A namespace whose deletion began after the plan is waited for all the same, and
  // then applied even when planned as a no-op: it is gone by then.
  const away = spec.afterDeletionOf;
  const waited = away
    ? await waitDeleted(o, away, waiting)
    : object.kind === "Namespace" && (await waitDeleted(o, refOf(object), waiting));
  const previousConfigHash = object.kind === "HelmChart" ? await helmJobHash(o, object) : undefined;
  if (ch.action !== "no-op" || waited) await applyWhenKindExists(o, ch, spec, waiting);
  const waits = o.noWait
    ? []
    : waitsFor(object, {
        kube: o.kube,
        changed: chartSpecChanged(ch),
        ...(previousConfigHash ? { previousConfigHash } : {}),
        ...(o.timeoutScale ? { timeoutScale: o.timeoutScale } : {}),
      });
  return { reported: ch.action !== "no-op", waits };
}

/**
 * The manifest's objects planned again, as plan compared them, and each that changes applied in
 * the manifest's order: a field edited by hand is taken back (forced, as any object's), the
 * objects that did not move are not sent.
 */
async function runManifest(ch: Change, { c, manifests, o }: Step): Promise<Ran> {
  if (ch.action === "no-op") return nothing;
  const objects = manifests.get(manifestKey(c.id, ch.name)) ?? [];
  const planned = await o.kube.plan(
    objects.map((spec) => ({ provider: "kubernetes", id: "", component: c.id, spec })),
    o.ctx,
  );
  for (const change of planned) if (change.action !== "no-op") await o.kube.apply(change);
  return { reported: true, waits: [] };
}

/** A plan's manifests, by component and step, as applied: labelled and annotated as the component's. */
type Manifests = Map<string, KubeObject[]>;

const manifestKey = (component: string, step: string) => `${component}/${step}`;

async function readManifests(plan: Plan, o: ExecuteOptions): Promise<Manifests> {
  const out: Manifests = new Map();
  for (const c of plan.phases.flatMap((p) => p.components)) {
    for (const ch of c.changes.filter((x) => x.provider === "manifest" && x.action !== "delete")) {
      const source = catalogManifest(c, ch, o.desired);
      const objects = await fetchManifest(source, fetch, o.ctx.manifestCache);
      out.set(manifestKey(c.id, ch.name), manifestMembers(objects, o.env, c.id, ch.name));
    }
  }
  return out;
}

/** The parent's record with every manifest object's kind and namespace. */
function withManifests(record: ParentRecord, manifests: Manifests): ParentRecord {
  const objects = [...manifests.values()].flat();
  return {
    kinds: [...new Set([...record.kinds, ...objects.map((x) => `${x.apiVersion}/${x.kind}`)])],
    namespaces: [...new Set([...record.namespaces, ...objects.flatMap((x) => x.metadata.namespace ?? [])])],
  };
}

/**
 * A CR whose CRD is installed by an earlier chart in this run: wait (named) until its kind is
 * served. An object or namespace whose deletion began after the plan: wait until it is gone, then
 * create it (a patch of a dying object is lost with it).
 */
async function applyWhenKindExists(
  o: ExecuteOptions,
  ch: Change,
  spec: KubeSpec,
  onWait: (s: string) => void,
): Promise<void> {
  let deadline = Date.now() + waitMs(o, 5 * 60_000);
  const ref = refOf(spec.object);
  for (let delay = 250; ; delay = Math.min(3_000, delay * 1.5)) {
    try {
      const stored = await o.kube.applyRaw(withMembership(spec.object, o.ctx.env), spec.force);
      if (!isTerminating(stored)) return;
      // Applied to an object whose deletion began after the plan: lost with it, so again.
      await waitDeleted(o, ref, onWait);
      deadline = Date.now() + waitMs(o, 5 * 60_000);
    } catch (e) {
      // The API's own words (the Status message) as well as ours: an unknown kind is a 404 too.
      const said = `${(e as Error).message}\n${apiError(e).message}`;
      if (ref.namespace && apiError(e).code === 403 && /because it is being terminated/.test(said)) {
        await waitDeleted(o, { apiVersion: "v1", kind: "Namespace", name: ref.namespace }, onWait);
        deadline = Date.now() + waitMs(o, 5 * 60_000);
        continue;
      }
      const missingKind = /no matches for kind|could not find the requested resource/i.test(said);
      const missingNs =
        !missingKind && (apiError(e).code === 404 || /namespaces? "[^"]+" not found/.test(said));
      if (!(missingKind || missingNs) || Date.now() > deadline) {
        if (missingKind) {
          throw new UserError({
            severity: "error",
            path: ch.id ?? "",
            message: `${ch.kind} ${ch.name}: its CustomResourceDefinition (${spec.object.apiVersion}) was not established within the wait`,
            fix: "check that the chart installing the CRD (an earlier component) succeeded",
          });
        }
        // The same error, as applyObject words it (conflicts named, API message kept).
        await o.kube.applyObject(withMembership(spec.object, o.ctx.env), spec.force);
        return;
      }
      onWait(
        `${ch.kind} ${ch.name}: waiting for ${missingKind ? `CRD of ${spec.object.apiVersion} to be Established` : "its namespace"}`,
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

async function helmJobHash(o: ExecuteOptions, chart: KubeObject): Promise<string | undefined> {
  const job = await o.kube.read({
    apiVersion: "batch/v1",
    kind: "Job",
    name: `helm-install-${chart.metadata.name}`,
    namespace: chart.metadata.namespace ?? "kube-system",
  });
  return (job?.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)
    ?.template?.metadata?.annotations?.[CONFIG_HASH];
}

/**
 * Kept data leaves the ApplySet: plinth stops owning it, nothing is deleted. An object another
 * deployed environment of the cluster wants moves into that environment's ApplySet instead, so its
 * plan stays at zero. Only the holder's labels move, recomputed here from the heir's name, which
 * must be a peer of this environment (a saved plan's copy of them is not trusted).
 */
async function release(o: ExecuteOptions, ch: Change): Promise<void> {
  const ref = parseIdentity(ch.id ?? "");
  const live = await o.kube.read(ref);
  if (!live || !isMember(live, o.ctx.env)) return;
  const heir = (ch.spec as { handOver?: HandOver }).handOver;
  // Only to an environment of this config on this cluster: a saved plan naming another is not obeyed.
  if (heir && o.env.peers?.some((p) => p.name === heir.env)) {
    const component = heir.labels["plinth.dev/component"];
    await o.kube.setLabels(ref, {
      [PART_OF]: applySetId(heir.env),
      "plinth.dev/environment": heir.env,
      ...(component && (COMPONENT_IDS as readonly string[]).includes(component)
        ? { "plinth.dev/component": component }
        : {}),
    });
    return;
  }
  await o.kube.removeLabel(ref, PART_OF);
}

/**
 * A secret's namespace may belong to another component of the same phase (openpanel's is
 * signoz's): wait (named, with a timeout) until it exists, as objects do in applyWhenKindExists.
 */
async function waitCreated(o: ExecuteOptions, name: string, onWait: (m: string) => void): Promise<void> {
  const ref = { apiVersion: "v1", kind: "Namespace", name };
  const phase = async () => (await o.kube.read(ref))?.status as { phase?: string } | undefined;
  if ((await phase())?.phase === "Active") return;
  onWait(`Namespace ${name}: waiting until it is created`);
  await waitUntil(
    {
      object: ref,
      condition: "created",
      timeoutMs: waitMs(o, 5 * 60_000),
      probe: async () => {
        const now = await phase();
        return {
          ready: now?.phase === "Active",
          status: now ? `phase ${now.phase ?? "?"}` : "not found yet",
        };
      },
    },
    o.ctx.signal ? { signal: o.ctx.signal } : {},
  );
}

/**
 * An object being deleted (a namespace that cannot take new objects, an object whose finalizers
 * still run) must be gone before it is created again: wait, named and with a timeout, saying which
 * finalizers it waits for. True when there was a deletion to wait for.
 */
async function waitDeleted(
  o: ExecuteOptions,
  ref: ObjectRef,
  onWait?: (m: string) => void,
): Promise<boolean> {
  const first = deletionProbe(await o.kube.read(ref));
  if (first.ready) return false;
  const name = displayName(ref);
  onWait?.(`${name}: waiting until its deletion finishes (${first.status})`);
  await waitUntil(deletionWait(o.kube, ref, waitMs(o, 5 * 60_000)), {
    ...(o.ctx.signal ? { signal: o.ctx.signal } : {}),
    onStatus: (status) => onWait?.(`${name}: ${status}`),
  });
  return true;
}

/**
 * A phase's deletions in reverse dependency order: a component goes once every component of the
 * phase that depends on it is gone (an operator outlives the resources it manages); the others
 * concurrently, bounded as applies are.
 */
async function runPhaseDeletions(components: PlanComponent[], o: ExecuteOptions): Promise<number> {
  const counts = await inDependencyOrder(
    components,
    (c) => components.filter((d) => d.dependsOn.includes(c.id)),
    o.concurrency ?? 4,
    (c) => runDeletions(c, o),
  );
  return counts.reduce((a, b) => a + b, 0);
}

async function runDeletions(c: PlanComponent, o: ExecuteOptions): Promise<number> {
  stopIfAborted(o.signal, `the deletions of component ${c.id}`);
  const deletes = c.changes.filter((ch) => ch.action === "delete").sort((a, b) => rank(b) - rank(a));
  const waitFor: ObjectRef[] = [];
  for (const ch of deletes) {
    // Already being deleted when planned: nothing to send, only its end to wait for.
    if ((ch.spec as { terminating?: boolean } | undefined)?.terminating && ch.id) {
      waitFor.push(parseIdentity(ch.id));
      continue;
    }
    await o.kube.apply({
      provider: "kubernetes",
      id: ch.id ?? "",
      component: c.id,
      action: "delete",
      kind: ch.kind,
      name: ch.name,
      ...(ch.namespace ? { namespace: ch.namespace } : {}),
      diff: [],
    });
    o.onEvent({
      type: "change",
      component: c.id,
      action: "delete",
      kind: ch.kind,
      name: ch.name,
      ...(ch.namespace ? { namespace: ch.namespace } : {}),
    });
    if (ch.kind === "Namespace") waitFor.push({ apiVersion: "v1", kind: "Namespace", name: ch.name });
  }
  // Namespaces come last; the namespace controller empties them side by side.
  await Promise.all(waitFor.map((ref) => waitDeleted(o, ref)));
  return deletes.length;
}
