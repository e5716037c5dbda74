import { labels as baseLabels } from "../../catalog/objects.js";
import type { SecretSpec } from "../../catalog/types.js";
import type { ComponentId } from "../../config/ids.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import type { ResolvedEnvironment } from "../../model/types.js";
import { environmentValues, FROM_ENVIRONMENT, variablesOf } from "../../secrets/environment.js";
import { fillSecret, templateSources } from "../../secrets/generate.js";
import type { ProviderContext, ResourceChange } from "../types.js";
import { withMembership } from "./applyset.js";
import type { Obj } from "./identity.js";
import { identityOf, type ObjectRef } from "./identity.js";
import type { KubernetesProvider } from "./provider.js";

/** A generated secret change: the spec names keys and rules, never values (those exist only at apply). */
export interface SecretChangeSpec {
  secret: SecretSpec;
  /** Planned while it or its namespace was being deleted: written anew once that is done. */
  afterDeletionOf?: ObjectRef;
}

function ref(spec: SecretSpec) {
  return { apiVersion: "v1", kind: "Secret", name: spec.name, namespace: spec.namespace };
}

function decode(live: Obj | undefined): Record<string, string> {
  const data = (live?.data ?? {}) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

/** A Secret's decoded values, or undefined when it does not exist. */
export async function readSecretValues(
  kube: KubernetesProvider,
  namespace: string,
  name: string,
): Promise<Record<string, string> | undefined> {
  const live = await kube.read({ apiVersion: "v1", kind: "Secret", name, namespace });
  return live ? decode(live) : undefined;
}

/**
 * Create when absent, update when keys are missing (listed by name) or a key read from the
 * environment differs from its variable, no-op otherwise; generated values are kept.
 */
export async function planSecret(
  kube: KubernetesProvider,
  component: ComponentId,
  spec: SecretSpec,
  ctx?: ProviderContext,
): Promise<ResourceChange<SecretChangeSpec>> {
  const fromEnv = environmentValues(spec, ctx?.variables ?? {});
  const reading = kube.read(ref(spec));
  // A Secret being deleted (or in a namespace being deleted) is not there: apply writes it anew.
  const away = await kube.goingAway(ref(spec), reading);
  const found = await reading;
  const live = away ? undefined : found;
  const have = decode(live);
  const diff = Object.entries(spec.keys)
    .filter(([k]) => have[k] === undefined || (k in fromEnv && have[k] !== fromEnv[k]))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, rule]) => ({
      path: `data.${k}`,
      ...(have[k] === undefined ? {} : { before: "(redacted)" }),
      after: rule.fromEnv ? `(from ${rule.fromEnv.variable})` : "(generated)",
      secret: true,
    }));
  return {
    provider: "secret",
    id: identityOf(ref(spec)),
    component,
    action: !live ? "create" : diff.length ? "update" : "no-op",
    kind: "Secret",
    name: spec.name,
    namespace: spec.namespace,
    diff,
    spec: { secret: spec, ...(away ? { afterDeletionOf: away } : {}) },
    ...(live?.metadata?.resourceVersion ? { liveVersion: live.metadata.resourceVersion } : {}),
  };
}

/**
 * Writes the secret with every key present: existing values read back and kept, missing ones
 * generated (CSPRNG), templates filled from other secrets of the environment read live, and keys
 * from the environment read from their variables now (a saved plan never holds them).
 */
export async function applySecret(
  kube: KubernetesProvider,
  env: ResolvedEnvironment,
  change: ResourceChange<SecretChangeSpec>,
  all: SecretSpec[],
  ctx: ProviderContext,
): Promise<void> {
  const spec = change.spec?.secret;
  if (!spec) throw new Error(`secret change ${change.id} has no spec`);
  const existing = { ...decode(await kube.read(ref(spec))), ...environmentValues(spec, ctx.variables ?? {}) };
  // Read only the secrets this one's templates name (the environment's are all candidates).
  const named = new Set(
    Object.values(spec.keys).flatMap((k) =>
      k.template ? templateSources(k.template).map((t) => t.secret) : [],
    ),
  );
  const sources = new Map<string, Record<string, string>>();
  for (const s of all) {
    if (s.name === spec.name || !named.has(s.name)) continue;
    const live = await kube.read(ref(s));
    if (live) sources.set(s.name, decode(live));
  }
  let values: Record<string, string>;
  try {
    values = fillSecret(spec, existing, (secret, key) => sources.get(secret)?.[key]);
  } catch (e) {
    // A template reads a secret another component creates, not applied yet (e.g. `--phase 3` first).
    throw new UserError(
      error((e as Error).message, {
        path: change.id,
        fix: `apply the components it depends on first: plinth apply ${ctx.env} (or the earlier --phase)`,
      }),
    );
  }
  const object = withMembership(
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: spec.name,
        namespace: spec.namespace,
        labels: baseLabels(env, change.component),
        ...(variablesOf(spec).length
          ? { annotations: { [FROM_ENVIRONMENT]: variablesOf(spec).join(",") } }
          : {}),
      },
      type: spec.type ?? "Opaque",
      data: Object.fromEntries(
        Object.entries(values)
          .sort()
          .map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
      ),
    },
    ctx.env,
  );
  await kube.applyObject(object);
}
