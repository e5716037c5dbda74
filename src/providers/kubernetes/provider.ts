import type { KubeObject } from "../../catalog/types.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { mapLimit } from "../../util/pool.js";
import type { HttpAnswer } from "../http.js";
import type { ChangeAction, DesiredResource, FieldDiff, ProviderContext, ResourceChange } from "../types.js";
import type { KubeApi } from "./api.js";
import { applySetId, isMember, PART_OF, withMembership } from "./applyset.js";
import { diffObjects, secretPathsOf } from "./diff.js";
import { apiError } from "./errors.js";
import { displayName, groupKind, identityOf, type Obj, type ObjectRef, refOf } from "./identity.js";
import { isTerminating } from "./readiness.js";
import { withRetry } from "./retry.js";
import { applyChangesNothing } from "./unchanged.js";

export const FIELD_MANAGER = "plinth";

/** Extra data a Kubernetes change carries into apply. */
export interface KubeSpec {
  object: KubeObject;
  /** Take over fields other managers hold: hand edits of our objects (drift) or --force-conflicts. */
  force?: boolean;
  /** Stateful data (PVCs, databases): deleted only with --delete-data. */
  keepOnDelete?: boolean;
  /**
   * Planned while it, or its namespace, was being deleted: apply waits until that deletion
   * finishes, then creates the object (applied to the dying object, it would vanish with it).
   */
  afterDeletionOf?: ObjectRef;
}

export interface KubernetesProviderOptions {
  api: KubeApi;
  forceConflicts?: boolean;
  concurrency?: number;
  /** Live objects already listed (this environment's ApplySet), by identity: read without a GET. */
  snapshot?: Promise<Map<string, Obj>>;
}

interface Conflict {
  manager: string;
  field: string;
}

/**
 * Server-side apply with field manager `plinth`. Plans are server-side dry runs of the very apply
 * that would follow, so what plan shows is what apply does; ownership is the environment's ApplySet.
 */
export class KubernetesProvider {
  readonly name = "kubernetes";
  /** A planning provider's namespace reads, one each: many objects live in one namespace. */
  private readonly namespaces = new Map<string, Promise<Obj | undefined>>();
  constructor(private readonly o: KubernetesProviderOptions) {}

  /**
   * The same provider, reading the given live objects from memory instead of one GET each: a plan
   * lists its ApplySet's members anyway. Only for planning; apply must read what is there now.
   */
  withSnapshot(live: Promise<Obj[]>): KubernetesProvider {
    const snapshot = live.then((objects) => new Map(objects.map((o) => [identityOf(refOfObj(o)), o])));
    snapshot.catch(() => {}); // awaited by each read; one failure is reported there, not as unhandled
    return new KubernetesProvider({ ...this.o, snapshot });
  }

  async read(ref: ObjectRef): Promise<Obj | undefined> {
    const known = (await this.o.snapshot)?.get(identityOf(ref));
    if (known) return known;
    try {
      return (await withRetry(`read ${displayName(ref)}`, () => this.o.api.read(ref))) as Obj;
    } catch (e) {
      // 404: no such object, no such namespace, or no such kind yet (a CRD not installed).
      if (apiError(e).code === 404) return undefined;
      throw e;
    }
  }

  /** A GET answered as text: an API server endpoint (`readyz`) or a Service through its proxy. */
  getText(path: string): Promise<string> {
    return this.o.api.getText(path);
  }

  /** A Service's own API through the API server's proxy, answered with any status (owners.ts). */
  exchange(method: "GET" | "POST", path: string, json?: string): Promise<HttpAnswer> {
    return this.o.api.exchange(method, path, json);
  }

  async plan(
    desired: DesiredResource<KubeObject>[],
    ctx: ProviderContext,
  ): Promise<ResourceChange<KubeSpec>[]> {
    // Only a snapshot (one plan's) may keep what it read; a long-lived provider reads again.
    const namespaces = this.o.snapshot ? this.namespaces : new Map<string, Promise<Obj | undefined>>();
    return mapLimit(desired, this.o.concurrency ?? 16, (d) => this.planOne(d, ctx, namespaces));
  }

  /**
   * What must finish going away before the object can be created: its namespace when that is
   * being deleted (everything in it goes too), else the object itself when it is; undefined when
   * neither is. `live` is the object as read (or being read: the namespace is read meanwhile).
   */
  async goingAway(
    ref: ObjectRef,
    live: Obj | undefined | Promise<Obj | undefined>,
    namespaces = this.o.snapshot ? this.namespaces : new Map<string, Promise<Obj | undefined>>(),
  ): Promise<ObjectRef | undefined> {
    const home = ref.namespace ? this.readNamespace(ref.namespace, namespaces) : undefined;
    const [object, namespace] = await Promise.all([live, home]);
    if (ref.namespace && isTerminating(namespace))
      return { apiVersion: "v1", kind: "Namespace", name: ref.namespace };
    return isTerminating(object) ? ref : undefined;
  }

  private readNamespace(name: string, memo: Map<string, Promise<Obj | undefined>>): Promise<Obj | undefined> {
    let read = memo.get(name);
    if (!read) {
      read = this.read({ apiVersion: "v1", kind: "Namespace", name });
      read.catch(() => {}); // awaited by each caller; one failure is reported there
      memo.set(name, read);
    }
    return read;
  }

  private async planOne(
    d: DesiredResource<KubeObject>,
    ctx: ProviderContext,
    namespaces: Map<string, Promise<Obj | undefined>>,
  ): Promise<ResourceChange<KubeSpec>> {
    const object = withMembership(d.spec, ctx.env);
    const ref = refOf(object);
    const base = {
      provider: this.name,
      id: identityOf(ref),
      component: d.component,
      kind: ref.kind,
      name: ref.name,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
    };
    const secretPaths = [...secretPathsOf(ref.kind), ...(d.secretPaths ?? [])];
    // A member the ApplySet's lists hold exactly as sent and owned as sent needs no dry run: a
    // converged plan is then its lists alone. Anything else (drift included) asks the server below.
    const listed = (await this.o.snapshot)?.get(base.id);
    if (
      listed &&
      isMember(listed, ctx.env) &&
      applyChangesNothing(object, listed, FIELD_MANAGER) &&
      !(await this.goingAway(ref, listed, namespaces))
    ) {
      const force = this.o.forceConflicts ? { force: true } : {};
      const version = listed.metadata?.resourceVersion;
      return {
        ...base,
        action: "no-op",
        diff: [],
        spec: { object, ...force },
        ...(version ? { liveVersion: version } : {}),
      };
    }
    // The read and the dry run are independent requests: in flight together, a plan takes one
    // round trip per object instead of two (its namespace's read too, once per namespace).
    if (ref.namespace) this.readNamespace(ref.namespace, namespaces);
    const [live, first] = await Promise.all([
      this.read(ref),
      this.dryRun(object, this.o.forceConflicts ?? false).then(
        (obj) => ({ obj }),
        (e: unknown) => ({ e }),
      ),
    ]);
    // An object being deleted is not there: what apply does is create it once the deletion is
    // done, whatever the dry run said (a patch of the dying object, or a namespace refusing new
    // content while it terminates).
    const away = await this.goingAway(ref, live, namespaces);
    if (away) {
      const force = this.o.forceConflicts ? { force: true } : {};
      return { ...base, action: "create", diff: [], spec: { object, ...force, afterDeletionOf: away } };
    }
    let force = false;
    let dry: Obj | undefined;
    try {
      if ("e" in first) throw first.e;
      dry = first.obj;
    } catch (e) {
      // Already worded (e.g. retries exhausted on a failing server): not the object's fault.
      if (e instanceof UserError) throw e;
      const err = apiError(e);
      if (err.code === 409 && live) {
        const conflicts = parseConflicts(err.message);
        if (isMember(live, ctx.env) && onlyHandEdits(live, conflicts)) {
          // Someone edited an object plinth owns by hand (kubectl edit/patch/scale): that is drift,
          // and apply puts it back. Another *applier* owning the field is a real conflict, below.
          force = true;
          dry = await this.dryRun(object, true);
        } else {
          throw conflictError(ref, conflicts);
        }
      } else if (err.code === 404) {
        // Its namespace or CRD arrives earlier in the same apply: nothing to dry-run against yet.
        dry = undefined;
      } else {
        throw new UserError(
          error(`the API server refused ${displayName(ref)}: ${err.message}`, {
            path: d.id,
            fix: "this object is rendered by the catalog; check the component's settings in the config",
          }),
        );
      }
    }
    const action: ChangeAction = !live ? "create" : !isMember(live, ctx.env) ? "adopt" : "update";
    const diff: FieldDiff[] = live
      ? diffObjects(stripForDiff(live), stripForDiff(dry ?? object), secretPaths)
      : diffObjects(undefined, stripForDiff(dry ?? object), secretPaths);
    const finalAction: ChangeAction = action === "update" && diff.length === 0 ? "no-op" : action;
    return {
      ...base,
      action: finalAction,
      diff: live ? diff : [],
      spec: { object, ...(force || this.o.forceConflicts ? { force: true } : {}) },
      ...(live?.metadata?.resourceVersion ? { liveVersion: live.metadata.resourceVersion } : {}),
    };
  }

  private async dryRun(object: KubeObject, force: boolean): Promise<Obj> {
    return (await withRetry(`dry-run ${displayName(refOf(object))}`, () =>
      this.o.api.apply(object, { fieldManager: FIELD_MANAGER, force, dryRun: true }),
    )) as Obj;
  }

  /** Applies one change; deletes wait for nothing (the executor waits on conditions). */
  async apply(change: ResourceChange<KubeSpec>): Promise<Obj | undefined> {
    const spec = change.spec;
    if (change.action === "delete") {
      await this.deleteObject(refOfChange(change));
      return undefined;
    }
    if (!spec) throw new Error(`change ${change.id} has no spec`);
    if (change.action === "no-op") return undefined;
    return this.applyObject(spec.object, spec.force);
  }

  /**
   * Deletes one object (its dependents in the background); one already gone, or already being
   * deleted (a terminating namespace answers 409), is fine: the caller waits if it must.
   */
  async deleteObject(ref: ObjectRef): Promise<void> {
    try {
      await withRetry(`delete ${displayName(ref)}`, () => this.o.api.delete(ref));
    } catch (e) {
      const code = apiError(e).code;
      if (code === 404) return;
      if (code === 409 && isTerminating(await this.read(ref))) return;
      throw e;
    }
  }

  /** Server-side apply of one object as field manager `plinth`; API errors are turned into user errors. */
  async applyObject(object: KubeObject, force?: boolean): Promise<Obj> {
    const ref = refOf(object);
    try {
      return await this.applyRaw(object, force);
    } catch (e) {
      if (e instanceof UserError) throw e;
      const err = apiError(e);
      if (err.code === 409) throw conflictError(ref, parseConflicts(err.message));
      throw new UserError(
        error(`applying ${displayName(ref)} failed: ${err.message}`, {
          path: identityOf(ref),
          fix: "see the message; plan again to see the current state",
        }),
      );
    }
  }

  /** The same apply, with the API's own error (status code kept) for callers that handle some. */
  async applyRaw(object: KubeObject, force?: boolean): Promise<Obj> {
    return (await withRetry(`apply ${displayName(refOf(object))}`, () =>
      this.o.api.apply(object, {
        fieldManager: FIELD_MANAGER,
        force: force ?? this.o.forceConflicts ?? false,
      }),
    )) as Obj;
  }

  /** Sets labels with a JSON merge patch (ownership handed to another ApplySet; nothing else changes). */
  async setLabels(ref: ObjectRef, labels: Record<string, string>): Promise<void> {
    await withRetry(`hand over ${displayName(ref)}`, () =>
      this.o.api.mergePatch(ref, { metadata: { labels } }, FIELD_MANAGER),
    );
  }

  /** Removes one label with a JSON merge patch (ownership release; not a field plinth applies). */
  async removeLabel(ref: ObjectRef, label: string): Promise<void> {
    await withRetry(`release ${displayName(ref)}`, () =>
      this.o.api.mergePatch(ref, { metadata: { labels: { [label]: null } } }, FIELD_MANAGER),
    );
  }

  async listBySelector(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    selector: string,
  ): Promise<Obj[]> {
    try {
      const items = await withRetry(`list ${kind}`, () =>
        this.o.api.list(apiVersion, kind, {
          ...(namespace ? { namespace } : {}),
          labelSelector: selector,
        }),
      );
      return items.map((i) => ({ ...i, apiVersion, kind }) as Obj);
    } catch (e) {
      if (apiError(e).code === 404) return [];
      throw e;
    }
  }

  /** Every live object of this environment's ApplySet among the given group-kinds. */
  async listOwned(env: string, kinds: { apiVersion: string; kind: string }[]): Promise<Obj[]> {
    const selector = `${PART_OF}=${applySetId(env)}`;
    // All at once: a plan waits for every list, and the connection already bounds what is in flight
    // (8 at a time made a no-op plan of staging's 19 kinds wait for a second round trip).
    const lists = await mapLimit(kinds, kinds.length, async (k) => {
      try {
        const items = await withRetry(`list ${groupKind(k)}`, () =>
          this.o.api.list(k.apiVersion, k.kind, { labelSelector: selector }),
        );
        return items.map((i) => ({ ...i, apiVersion: k.apiVersion, kind: k.kind }) as Obj);
      } catch (e) {
        if (apiError(e).code === 404) return [];
        throw e;
      }
    });
    return lists.flat();
  }
}

export function refOfObj(live: Obj): ObjectRef {
  return {
    apiVersion: live.apiVersion ?? "",
    kind: live.kind ?? "",
    name: live.metadata?.name ?? "",
    ...(live.metadata?.namespace ? { namespace: live.metadata.namespace } : {}),
  };
}

export function refOfChange(change: ResourceChange): ObjectRef {
  const m = /^kubernetes:(.+):([A-Za-z0-9]+):/.exec(change.id);
  return {
    apiVersion: m?.[1] ?? "",
    kind: change.kind,
    name: change.name,
    ...(change.namespace ? { namespace: change.namespace } : {}),
  };
}

function stripForDiff(o: Obj | KubeObject): unknown {
  // Round-trip through JSON so client model classes and plain objects compare alike.
  return JSON.parse(JSON.stringify(o));
}

function parseConflicts(message: string): Conflict[] {
  const out: Conflict[] = [];
  for (const m of message.matchAll(/conflict with "([^"]+)"[^:\n]*: ([^\n]+)/g)) {
    out.push({ manager: m[1] as string, field: (m[2] as string).trim() });
  }
  return out;
}

function onlyHandEdits(live: Obj, conflicts: Conflict[]): boolean {
  const managed = (live.metadata?.managedFields ?? []) as { manager?: string; operation?: string }[];
  return (
    conflicts.length > 0 &&
    conflicts.every(
      (c) =>
        managed.some((m) => m.manager === c.manager && m.operation === "Update") &&
        !managed.some((m) => m.manager === c.manager && m.operation === "Apply"),
    )
  );
}

function conflictError(ref: ObjectRef, conflicts: Conflict[]): UserError {
  const list =
    conflicts.map((c) => `${c.field} (owned by ${c.manager})`).join(", ") ||
    "fields owned by another manager";
  return new UserError(
    error(`${displayName(ref)}: another field manager owns ${list}`, {
      fix: "re-run with --force-conflicts to take the fields over, remove them from the other tool, or change plinth's config to agree with it",
    }),
  );
}
