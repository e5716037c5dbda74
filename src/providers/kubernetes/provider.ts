import type { KubernetesObjectApi } from "@kubernetes/client-node";
import { mapLimit } from "../../apply/pool.js";
import type { KubeObject } from "../../catalog/types.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { ChangeAction, DesiredResource, FieldDiff, ProviderContext, ResourceChange } from "../types.js";
import { applySetId, isMember, PART_OF, withMembership } from "./applyset.js";
import { apiError, type Obj, withRetry } from "./client.js";
import { diffObjects, secretPathsOf } from "./diff.js";
import { displayName, groupKind, identityOf, type ObjectRef, refOf } from "./identity.js";

export const FIELD_MANAGER = "plinth";

/** Extra data a Kubernetes change carries into apply. */
export interface KubeSpec {
  object: KubeObject;
  /** Take over fields other managers hold: hand edits of our objects (drift) or --force-conflicts. */
  force?: boolean;
  /** Stateful data (PVCs, databases): deleted only with --delete-data. */
  keepOnDelete?: boolean;
}

export interface KubernetesProviderOptions {
  api: KubernetesObjectApi;
  forceConflicts?: boolean;
  concurrency?: number;
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
  constructor(private readonly o: KubernetesProviderOptions) {}

  async read(ref: ObjectRef): Promise<Obj | undefined> {
    try {
      return (await withRetry(`read ${displayName(ref)}`, () =>
        this.o.api.read({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
        }),
      )) as Obj;
    } catch (e) {
      const err = apiError(e);
      // 404: no such object, no such namespace, or no such kind yet (a CRD not installed).
      if (
        err.code === 404 ||
        /Failed to fetch resource metadata|Unrecognized API version and kind/.test(
          String((e as Error).message),
        )
      )
        return undefined;
      throw e;
    }
  }

  async plan(
    desired: DesiredResource<KubeObject>[],
    ctx: ProviderContext,
  ): Promise<ResourceChange<KubeSpec>[]> {
    return mapLimit(desired, this.o.concurrency ?? 16, (d) => this.planOne(d, ctx));
  }

  private async planOne(
    d: DesiredResource<KubeObject>,
    ctx: ProviderContext,
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
    const live = await this.read(ref);
    let force = false;
    let dry: Obj | undefined;
    try {
      dry = await this.dryRun(object, this.o.forceConflicts ?? false);
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
      } else if (err.code === 404 || /Failed to fetch resource metadata/.test(err.message)) {
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
      this.o.api.patch(
        object as Obj,
        undefined,
        "All",
        FIELD_MANAGER,
        force,
        "application/apply-patch+yaml" as never,
      ),
    )) as Obj;
  }

  /** Applies one change; deletes wait for nothing (the executor waits on conditions). */
  async apply(change: ResourceChange<KubeSpec>): Promise<Obj | undefined> {
    const spec = change.spec;
    if (change.action === "delete") {
      const ref = refOfChange(change);
      try {
        await withRetry(`delete ${displayName(ref)}`, () =>
          this.o.api.delete(
            {
              apiVersion: ref.apiVersion,
              kind: ref.kind,
              metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
            },
            undefined,
            undefined,
            undefined,
            undefined,
            "Background",
          ),
        );
      } catch (e) {
        if (apiError(e).code !== 404) throw e;
      }
      return undefined;
    }
    if (!spec) throw new Error(`change ${change.id} has no spec`);
    if (change.action === "no-op") return undefined;
    return this.applyObject(spec.object, spec.force);
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
      this.o.api.patch(
        object as Obj,
        undefined,
        undefined,
        FIELD_MANAGER,
        force ?? this.o.forceConflicts ?? false,
        "application/apply-patch+yaml" as never,
      ),
    )) as Obj;
  }

  /** Removes one label with a JSON merge patch (ownership release; not a field plinth applies). */
  async removeLabel(ref: ObjectRef, label: string): Promise<void> {
    const patch = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: {
        name: ref.name,
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
        labels: { [label]: null },
      },
    };
    await withRetry(`release ${displayName(ref)}`, () =>
      this.o.api.patch(
        patch as unknown as Obj,
        undefined,
        undefined,
        FIELD_MANAGER,
        undefined,
        "application/merge-patch+json" as never,
      ),
    );
  }

  async listBySelector(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    selector: string,
  ): Promise<Obj[]> {
    try {
      const list = await withRetry(`list ${kind}`, () =>
        this.o.api.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, selector),
      );
      return list.items as Obj[];
    } catch (e) {
      const err = apiError(e);
      if (err.code === 404 || /Failed to fetch resource metadata/.test(err.message)) return [];
      throw e;
    }
  }

  /** Every live object of this environment's ApplySet among the given group-kinds. */
  async listOwned(env: string, kinds: { apiVersion: string; kind: string }[]): Promise<Obj[]> {
    const selector = `${PART_OF}=${applySetId(env)}`;
    const lists = await mapLimit(kinds, 8, async (k) => {
      try {
        const list = await withRetry(`list ${groupKind(k)}`, () =>
          this.o.api.list(
            k.apiVersion,
            k.kind,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            selector,
          ),
        );
        return list.items.map((i) => ({ ...i, apiVersion: k.apiVersion, kind: k.kind }) as Obj);
      } catch (e) {
        const err = apiError(e);
        if (err.code === 404 || /Failed to fetch resource metadata/.test(err.message)) return [];
        throw e;
      }
    });
    return lists.flat();
  }
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
