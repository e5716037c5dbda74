import { NAMESPACES, PARENT_NAMESPACE, parentName, parentObject } from "./applyset.js";
import { groupKind, type Obj, parseIdentity } from "./identity.js";
import type { KubernetesProvider } from "./provider.js";

/**
 * The ApplySet parent's record, read, widened, shrunk and removed in one place. Apply widens it
 * before writing anything (so an interrupted run leaves nothing a later prune cannot find) and
 * shrinks it after a full run; plan and refresh read it to find every member.
 */

/** The annotation on the parent listing the full `apiVersion/Kind` of every member kind ever applied. */
export const KINDS_ANNOTATION = "plinth.dev/member-kinds";

/** What the parent records: member kinds as `apiVersion/Kind`, and the namespaces members live in. */
export interface ParentRecord {
  kinds: string[];
  namespaces: string[];
}

type Kube = Pick<KubernetesProvider, "read" | "applyObject" | "deleteObject" | "listOwned">;

const parentRef = (env: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  name: parentName(env),
  namespace: PARENT_NAMESPACE,
});

const list = (value: string | undefined) => (value ?? "").split(",").filter(Boolean);

/** The environment's parent as recorded, or undefined when the environment was never applied. */
export async function readParent(kube: Pick<Kube, "read">, env: string): Promise<ParentRecord | undefined> {
  const live: Obj | undefined = await kube.read(parentRef(env));
  if (!live) return undefined;
  const annotations = live.metadata?.annotations ?? {};
  return { kinds: list(annotations[KINDS_ANNOTATION]), namespaces: list(annotations[NAMESPACES]) };
}

/** The recorded kinds as the API addresses them. */
export function memberKinds(parent: ParentRecord | undefined): { apiVersion: string; kind: string }[] {
  return (parent?.kinds ?? []).map((k) => {
    const i = k.lastIndexOf("/");
    return { apiVersion: k.slice(0, i), kind: k.slice(i + 1) };
  });
}

/** Every live member of the environment's ApplySet, found through the kinds its parent records. */
export async function listMembers(kube: Pick<Kube, "read" | "listOwned">, env: string): Promise<Obj[]> {
  return kube.listOwned(env, memberKinds(await readParent(kube, env)));
}

/**
 * Records `add` beside what the parent already holds (`recorded`, read before), before anything is
 * written: the parent never forgets a kind or namespace a member may still have.
 */
export async function widenParent(
  kube: Pick<Kube, "applyObject">,
  env: string,
  tooling: string,
  recorded: ParentRecord | undefined,
  add: ParentRecord,
): Promise<void> {
  await writeParent(kube, env, tooling, {
    kinds: [...(recorded?.kinds ?? []), ...add.kinds],
    namespaces: [...(recorded?.namespaces ?? []), ...add.namespaces],
  });
}

/**
 * After a full run: the parent records exactly what is left. With no member kind left (destroy),
 * the parent itself goes.
 */
export async function shrinkParent(
  kube: Kube,
  env: string,
  tooling: string,
  left: ParentRecord,
): Promise<void> {
  if (left.kinds.length === 0) await removeParent(kube, env);
  else await writeParent(kube, env, tooling, left);
}

/** Once nothing is a member any more. */
export async function removeParent(kube: Pick<Kube, "deleteObject">, env: string): Promise<void> {
  await kube.deleteObject(parentRef(env));
}

/** A planned change, as far as the parent cares: which object, and whether it stays a member. */
export interface MemberChange {
  provider: string;
  action: string;
  id?: string;
  namespace?: string;
  spec?: unknown;
}

/**
 * What the parent must record for these changes: the kinds and namespaces of every Kubernetes
 * object (or Secret) that stays a member after them. Deleted and released objects leave the set.
 */
export function recordOf(changes: readonly MemberChange[]): ParentRecord {
  const kinds = new Set<string>();
  const namespaces = new Set<string>();
  for (const ch of changes) {
    if (ch.namespace && ch.action !== "delete") namespaces.add(ch.namespace);
    if (ch.provider !== "kubernetes" && ch.provider !== "secret") continue;
    if (ch.action === "delete" || (ch.spec as { release?: boolean } | undefined)?.release) continue;
    const ref = parseIdentity(ch.id ?? "");
    kinds.add(`${ref.apiVersion}/${ref.kind}`);
  }
  return { kinds: [...kinds], namespaces: [...namespaces] };
}

async function writeParent(
  kube: Pick<Kube, "applyObject">,
  env: string,
  tooling: string,
  record: ParentRecord,
): Promise<void> {
  const kinds = [...new Set(record.kinds)].sort();
  const parent = parentObject(
    env,
    tooling,
    memberKinds({ kinds, namespaces: [] }).map(groupKind),
    record.namespaces,
  );
  parent.metadata.annotations = { ...parent.metadata.annotations, [KINDS_ANNOTATION]: kinds.join(",") };
  await kube.applyObject(parent, true);
}
