/**
 * A saved plan is a claim about what the config produces: before `apply plan.json` acts on any of
 * it, every change it holds is compared with what the config derives now. The file travels between
 * machines and its hash is over its own content, so without this an edited file (an extra
 * ClusterRoleBinding, a Secret filled from the operator's variables, a foreign manifest URL) would
 * be applied as written. Pure: what only the cluster can say (ApplySet membership) is the caller's.
 */
import type { ExternalResource, KubeObject, SecretSpec } from "../catalog/types.js";
import { COMPONENT_IDS } from "../config/ids.js";
import { withMembership } from "../providers/kubernetes/applyset.js";
import { identityOf, type ObjectRef, refOf } from "../providers/kubernetes/identity.js";
import { variablesOf } from "../secrets/environment.js";
import { sortKeys } from "../util/yaml.js";
import type { DesiredComponent } from "./desired.js";
import type { Change, Plan } from "./plan.js";

export interface ClaimOptions {
  /** The environment and cluster the config resolves now: the plan must name the same. */
  env: string;
  cluster: string;
  /** A destroy plan: deleting what the config still wants is its point, and nothing is missing. */
  destroy?: boolean;
}

/** What the config produces for one component, keyed as the plan's changes are. */
interface Expected {
  phase: string;
  health: string;
  objects: Map<string, string>;
  secrets: Map<string, string>;
  external: Map<string, { provider: string; source: string }>;
}

/** One canonical text per value: sorted keys, undefined dropped, class instances as plain JSON. */
function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(JSON.parse(JSON.stringify(value ?? null))));
}

function secretId(s: { name: string; namespace: string }): string {
  return identityOf({ apiVersion: "v1", kind: "Secret", name: s.name, namespace: s.namespace });
}

function externalKey(e: { provider: string; kind: string; name: string }): string {
  return `${e.provider} ${e.kind} ${e.name}`;
}

/** How a change names itself in a difference: `Secret apps/exfil (component redis)`. */
function label(ch: Change, component: string): string {
  return `${ch.kind} ${ch.namespace ? `${ch.namespace}/` : ""}${ch.name} (component ${component})`;
}

function expectedOf(derived: readonly DesiredComponent[], env: string): Map<string, Expected> {
  return new Map(
    derived.map((d) => [
      d.id as string,
      {
        phase: d.phase,
        health: canonical(d.health),
        // The plan carries each object as apply sends it: with the ApplySet membership label.
        objects: new Map(d.objects.map((o) => [identityOf(refOf(o)), canonical(withMembership(o, env))])),
        secrets: new Map(d.secrets.map((s) => [secretId(s), canonical(s)])),
        external: new Map(
          d.external.map((e: ExternalResource) => [
            externalKey(e),
            { provider: e.provider, source: canonical(e.source) },
          ]),
        ),
      },
    ]),
  );
}

/** The environment variables the catalog fills secrets from (today the Cloudflare API token). */
export function catalogVariables(derived: readonly DesiredComponent[]): Set<string> {
  return new Set(derived.flatMap((d) => d.secrets.flatMap(variablesOf)));
}

/**
 * Every way the saved plan differs from what the config derives now, one line each (empty when
 * the plan is exactly the config's): a component, object, secret rule, environment variable or
 * manifest the config does not produce, one it produces differently or not at all, and deletions
 * of objects the config still wants. Live state (versions, Vault, DNS) is compared elsewhere.
 */
export function claimDifferences(
  saved: Plan,
  derived: readonly DesiredComponent[],
  o: ClaimOptions,
): string[] {
  const out: string[] = [];
  if (saved.env !== o.env) out.push(`made for environment ${saved.env}, not ${o.env}`);
  if (saved.cluster !== o.cluster) {
    out.push(`made for cluster ${saved.cluster}; the config puts ${o.env} on cluster ${o.cluster}`);
  }
  if (saved.offline) out.push("is an offline plan (against an empty cluster), not one to apply");
  // plan -o never narrows: --phase and --target narrow a saved plan when it is applied.
  if (saved.partial) out.push("is marked partial; plan -o writes whole plans only");

  const expected = expectedOf(derived, o.env);
  const allowed = catalogVariables(derived);
  const wanted = new Map<string, string>();
  for (const [component, e] of expected) {
    for (const id of [...e.objects.keys(), ...e.secrets.keys()]) wanted.set(id, component);
  }
  const seen = new Set<string>();

  for (const phase of saved.phases) {
    for (const c of phase.components) {
      const exp = expected.get(c.id);
      if (!(COMPONENT_IDS as readonly string[]).includes(c.id)) {
        out.push(`component ${c.id}: not a plinth component`);
        continue;
      }
      if (exp && exp.phase !== phase.id) {
        out.push(`component ${c.id}: in phase ${phase.id}, the config puts it in phase ${exp.phase}`);
      }
      if (exp && canonical(c.health ?? []) !== exp.health) {
        out.push(`component ${c.id}: health checks differ from the catalog's`);
      }
      if (exp) seen.add(`component ${c.id}`);
      for (const ch of c.changes) {
        out.push(...changeDifferences(ch, c.id, exp, wanted, allowed, o));
        seen.add(`${c.id} ${ch.provider === "manifest" || ch.provider === "ssh" ? externalKey(ch) : ch.id}`);
      }
    }
  }

  if (!o.destroy) {
    // A live plan holds every desired object, secret and step (no-ops included): one left out of
    // the file is a plan of something else than this config.
    for (const [component, e] of expected) {
      if (!seen.has(`component ${component}`)) {
        out.push(`component ${component}: in the config, missing from the plan`);
        continue;
      }
      for (const id of [...e.objects.keys(), ...e.secrets.keys(), ...e.external.keys()]) {
        if (!seen.has(`${component} ${id}`))
          out.push(`${id} (component ${component}): in the config, missing from the plan`);
      }
    }
  }
  return out;
}

function changeDifferences(
  ch: Change,
  component: string,
  exp: Expected | undefined,
  wanted: Map<string, string>,
  allowed: Set<string>,
  o: ClaimOptions,
): string[] {
  const what = label(ch, component);
  // Vault's changes are planned again at apply and compared there (vaultMovedSince); the executor
  // carries out Vault's own plan, never the file's.
  if (ch.provider === "vault") {
    return component === "vault" ? [] : [`${what}: a Vault change outside the vault component`];
  }
  if (ch.action === "delete") {
    // The executor deletes any change marked delete, whatever its provider: only objects qualify.
    if (ch.provider !== "kubernetes")
      return [`${what}: a deletion through ${ch.provider}; plinth deletes only Kubernetes objects`];
    return [...identityProblems(ch, what), ...notWanted(ch, what, wanted, o)];
  }
  switch (ch.provider) {
    case "kubernetes": {
      const spec = ch.spec as { object?: KubeObject; release?: unknown } | undefined;
      // Kept data: released from the ApplySet, only for objects the config no longer wants.
      if (spec && "release" in spec && !("object" in spec)) {
        return [...identityProblems(ch, what), ...notWanted(ch, what, wanted, o)];
      }
      const object = spec?.object;
      if (!object?.metadata) return [`${what}: carries no object to apply`];
      const id = identityOf(refOf(object));
      const problems = [...identityProblems(ch, what, id), ...awayProblems(ch, what, refOf(object))];
      const owner = wanted.get(id);
      if (!exp?.objects.has(id)) {
        return [
          ...problems,
          owner
            ? `${what}: belongs to component ${owner}, not ${component}`
            : `${what}: not an object the config produces (an extra object)`,
        ];
      }
      if (exp.objects.get(id) !== canonical(object))
        problems.push(`${what}: differs from what the config produces`);
      return problems;
    }
    case "secret": {
      const secret = (ch.spec as { secret?: SecretSpec } | undefined)?.secret;
      if (!secret?.keys || typeof secret.name !== "string") return [`${what}: carries no secret rule`];
      const id = secretId(secret);
      const problems = [
        ...identityProblems(ch, what, id),
        ...awayProblems(ch, what, {
          apiVersion: "v1",
          kind: "Secret",
          name: secret.name,
          namespace: secret.namespace,
        }),
      ];
      const variables = variablesOf(secret).filter((v) => !allowed.has(v));
      for (const v of variables) {
        problems.push(
          `${what}: fills a key from environment variable ${v}; the catalog fills secrets only from ${[...allowed].join(", ") || "no variable"} here`,
        );
      }
      if (!exp?.secrets.has(id)) {
        problems.push(`${what}: not a secret the config produces (an extra secret)`);
      } else if (exp.secrets.get(id) !== canonical(secret)) {
        problems.push(`${what}: its keys or generation rules differ from the catalog's`);
      }
      return problems;
    }
    case "manifest":
    case "ssh": {
      const e = exp?.external.get(externalKey(ch));
      if (!e) return [`${what}: not a ${ch.provider} step the config produces`];
      if (ch.provider === "manifest" && canonical(ch.spec) !== e.source) {
        return [`${what}: its manifest source (URL or images) differs from the catalog's pinned one`];
      }
      return [];
    }
    default:
      return [`${what}: provider ${ch.provider} has no place among a component's changes`];
  }
}

/** The id movedSince reads, the kind and name deletes use and the object applied must agree. */
function identityProblems(ch: Change, what: string, id?: string): string[] {
  const named = identityOf({
    apiVersion: ch.apiVersion ?? /^kubernetes:(.+):[A-Za-z0-9]+:/.exec(ch.id ?? "")?.[1] ?? "",
    kind: ch.kind,
    name: ch.name,
    ...(ch.namespace ? { namespace: ch.namespace } : {}),
  });
  if (ch.id !== named || (id !== undefined && id !== named)) {
    return [`${what}: its id (${ch.id ?? "none"}) does not name the object it carries`];
  }
  return [];
}

/**
 * A change planned while its object (or namespace) was being deleted waits for that deletion
 * before it is applied: only that object or its own namespace may be named, not any object.
 */
function awayProblems(ch: Change, what: string, ref: ObjectRef): string[] {
  const away = (ch.spec as { afterDeletionOf?: ObjectRef } | undefined)?.afterDeletionOf;
  if (away === undefined) return [];
  const own = [
    identityOf(ref),
    ...(ref.namespace ? [identityOf({ apiVersion: "v1", kind: "Namespace", name: ref.namespace })] : []),
  ];
  return away && own.includes(identityOf(away)) ? [] : [`${what}: waits for the deletion of another object`];
}

function notWanted(ch: Change, what: string, wanted: Map<string, string>, o: ClaimOptions): string[] {
  const owner = ch.id ? wanted.get(ch.id) : undefined;
  if (!owner || o.destroy) return [];
  return [
    `${what}: ${ch.action === "delete" ? "deletes" : "releases"} an object the config still wants (component ${owner})`,
  ];
}

/** The identities a saved plan deletes or releases: each must be a live member of the ApplySet. */
export function removedIds(saved: Plan): string[] {
  return saved.phases.flatMap((p) =>
    p.components.flatMap((c) =>
      c.changes
        .filter(
          (ch) =>
            ch.provider === "kubernetes" &&
            ch.id &&
            (ch.action === "delete" || (ch.spec as { release?: boolean } | undefined)?.release === true),
        )
        .map((ch) => ch.id as string),
    ),
  );
}
