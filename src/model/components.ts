import { COMPONENT_IDS, type ComponentId } from "../config/ids.js";
import type { Config, EnvironmentSettings, Placement } from "../config/schema.js";
import { type Diagnostic, error } from "../diagnostics/diagnostic.js";
import type { Preset } from "./presets.js";
import type { ResolvedCluster, ResolvedComponent, ResolvedPlacement } from "./types.js";

/** Components that may run on another cluster or as a managed service (seed 11's growth path). */
const MOVABLE: ReadonlySet<ComponentId> = new Set([
  "postgres",
  "redis",
  "arangodb",
  "clickhouse",
  "signoz",
  "openpanel",
  "backstage",
]);

/** Components that may be an external managed service instead. */
export const EXTERNAL_OK: ReadonlySet<ComponentId> = new Set(["postgres", "redis", "clickhouse"]);

/** A component that needs others enabled (anywhere: here, another cluster or managed). */
const REQUIRES: Partial<Record<ComponentId, ComponentId[]>> = {
  openpanel: ["postgres", "redis", "clickhouse"],
  "platform-postgres": ["vault"],
};

export interface ComponentInput {
  env: string;
  settings: EnvironmentSettings;
  preset: Preset;
  cluster: ResolvedCluster;
  clusters: Config["clusters"];
  /** Clusters some environment runs on (those an environment's apply sets up). */
  clustersInUse: ReadonlySet<string>;
  /** The environment's own `components` (before `defaults` merged in): where a setting was written. */
  written?: EnvironmentSettings["components"];
}

/** The config path a component's setting came from: the environment's own, else `defaults`. */
function sourceOf(input: ComponentInput, id: ComponentId, field: "dependsOn" | "placement"): string {
  const own = input.written?.[id]?.[field] !== undefined;
  return `${own ? `environments.${input.env}` : "defaults"}.components.${id}.${field}`;
}

export function resolveComponents(input: ComponentInput): {
  components: Record<ComponentId, ResolvedComponent>;
  diagnostics: Diagnostic[];
} {
  const { env, settings, preset, cluster } = input;
  const path = `environments.${env}.components`;
  const diagnostics: Diagnostic[] = [];
  const features = { ...preset.features, ...settings.features };
  const explicit = settings.components ?? {};

  const byDefault: Record<ComponentId, [boolean, string?]> = {
    k3s: cluster.type === "k3s-vps" ? [true] : [false, `cluster ${cluster.name} is an existing cluster`],
    traefik: [true],
    "cert-manager": preset.hosting === "public" ? [true] : [false, "no public hosts"],
    "cnpg-operator": [false, "no PostgreSQL in this cluster"],
    "platform-postgres": features.vault ? [true] : [false, "Vault is off"],
    vault: features.vault ? [true] : [false, "features.vault is off"],
    "vault-secrets-operator": features.vault ? [true] : [false, "Vault is off"],
    dashboard: [true],
    kubero: [true],
    postgres: [true],
    redis: [true],
    arangodb: features.arangodb ? [true] : [false, "features.arangodb is off"],
    clickhouse: features.clickhouse ? [true] : [false, "features.clickhouse is off"],
    signoz: features.observability ? [true] : [false, "features.observability is off"],
    openpanel: features.observability ? [true] : [false, "features.observability is off"],
    backstage: features.backstage ? [true] : [false, "features.backstage is off"],
    // The login goes wherever internal UIs are on public hosts and an identity provider is named.
    sso:
      settings.sso === undefined
        ? [false, "no sso settings (internal UIs are open: see README SSO)"]
        : preset.hosting === "public"
          ? [true]
          : [false, "no public hosts"],
  };

  const components = {} as Record<ComponentId, ResolvedComponent>;
  for (const id of COMPONENT_IDS) {
    const settingsOf = explicit[id];
    let [enabled, reason] = byDefault[id];
    if (preset.off.includes(id) && enabled) [enabled, reason] = [false, `not part of a ${env} environment`];
    if (settingsOf?.enabled !== undefined) {
      enabled = settingsOf.enabled;
      reason = enabled ? undefined : `${path}.${id}.enabled is false`;
    }
    const placement = resolvePlacement(
      id,
      settingsOf?.placement,
      input,
      `${path}.${id}.placement`,
      diagnostics,
    );
    components[id] = {
      id,
      enabled,
      placement,
      extraDependsOn: [...(settingsOf?.dependsOn ?? [])],
      ...(enabled ? {} : { reason }),
    };
  }

  if (components.k3s.enabled && cluster.type !== "k3s-vps") {
    diagnostics.push(
      error(`k3s cannot be installed on cluster ${cluster.name}, which is an existing cluster`, {
        path: `${path}.k3s.enabled`,
        fix: `remove it, or make clusters.${cluster.name}.type "k3s-vps"`,
      }),
    );
  }
  // Vault keeps its storage in the platform PostgreSQL and delivers secrets through its operator:
  // the three go together (without the operator, consumers would have no Secrets at all).
  for (const id of ["platform-postgres", "vault-secrets-operator"] as const) {
    components[id].enabled = components.vault.enabled;
    if (!components.vault.enabled) components[id].reason = "Vault is off";
  }

  // CloudNativePG runs where a PostgreSQL of this environment runs on this cluster.
  const localPostgres = (["platform-postgres", "postgres"] as const).some(
    (id) => components[id].enabled && components[id].placement.kind === "local",
  );
  components["cnpg-operator"] = {
    id: "cnpg-operator",
    enabled: localPostgres,
    placement: { kind: "local", cluster: cluster.name },
    extraDependsOn: components["cnpg-operator"].extraDependsOn,
    ...(localPostgres ? {} : { reason: "no PostgreSQL in this cluster" }),
  };

  for (const [id, needs] of Object.entries(REQUIRES) as [ComponentId, ComponentId[]][]) {
    if (!components[id].enabled) continue;
    for (const need of needs) {
      if (!components[need].enabled) {
        diagnostics.push(
          error(`${id} needs ${need}, which is off`, {
            path: `${path}.${need}`,
            fix: `enable ${need}, or turn ${id} off`,
          }),
        );
      }
    }
  }
  diagnostics.push(...checkDependsOn(components, input, path), ...checkPlacedClusters(components, input));
  return { components, diagnostics };
}

/** An extra dependency on a component that is off would be dropped without a word: refuse it. */
function checkDependsOn(
  components: Record<ComponentId, ResolvedComponent>,
  input: ComponentInput,
  path: string,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const c of Object.values(components)) {
    if (!c.enabled) continue;
    for (const dep of c.extraDependsOn) {
      const target = components[dep];
      if (target.enabled) continue;
      out.push(
        error(
          `${c.id} depends on ${dep}, which is off in environment ${input.env} (${target.reason ?? "disabled"})`,
          {
            path: sourceOf(input, c.id, "dependsOn"),
            fix: `remove ${dep} from ${c.id}'s dependsOn, or turn ${dep} on (${path}.${dep}.enabled: true)`,
          },
        ),
      );
    }
  }
  return out;
}

/**
 * Plan and apply reach only the environment's own cluster, and a cluster gets k3s, its
 * cluster-wide components and a Vault connection only from an environment running on it: a
 * component placed on another cluster would be applied to the wrong one, or land on nothing.
 * Until plinth deploys across clusters (later work), such a placement is refused.
 */
function checkPlacedClusters(
  components: Record<ComponentId, ResolvedComponent>,
  input: ComponentInput,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { env } = input;
  const here = input.cluster.name;
  for (const c of Object.values(components)) {
    if (!c.enabled || c.placement.kind !== "cluster") continue;
    const target = c.placement.cluster;
    const vault = components["vault-secrets-operator"].enabled;
    const path = `${sourceOf(input, c.id, "placement")}.cluster`;
    const external = EXTERNAL_OK.has(c.id)
      ? ', or use a managed service: { external: { url: secret.env("NAME") } }'
      : "";
    if (!input.clustersInUse.has(target)) {
      const missing = [
        input.clusters[target]?.type === "k3s-vps" ? "k3s and its helm-controller" : "the helm-controller",
        ...(components["cert-manager"].enabled ? ["cert-manager"] : []),
        ...(vault ? [`the Vault connection ${c.id}'s VaultAuth needs`] : []),
      ];
      out.push(
        error(
          `${c.id} is placed on cluster ${target}, which no environment runs on: nothing would set up ${listed(missing)} there`,
          {
            path,
            fix: `run ${c.id} on this environment's cluster ${here} (remove the placement), or put environment ${env} itself on cluster ${target} (environments.${env}.cluster: "${target}")${external}`,
          },
        ),
      );
      continue;
    }
    out.push(
      error(
        `${c.id} is placed on cluster ${target}, but plinth plans and applies environment ${env} on its own cluster ${here} only: ${c.id} would land on ${here}, not on ${target}${vault ? `, and on ${target} its VaultAuth would have no connection to ${env}'s Vault` : ""}`,
        {
          path,
          fix: `run ${c.id} on cluster ${here} (remove the placement)${external}; a component on another environment's cluster is not supported yet`,
        },
      ),
    );
  }
  return out;
}

/** `a`, `a or b`, `a, b or c`. */
function listed(items: readonly string[]): string {
  return items.length < 2
    ? (items[0] ?? "")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

function resolvePlacement(
  id: ComponentId,
  placement: Placement | undefined,
  input: ComponentInput,
  path: string,
  diagnostics: Diagnostic[],
): ResolvedPlacement {
  const here: ResolvedPlacement = { kind: "local", cluster: input.cluster.name };
  if (placement === undefined || placement === "local") return here;
  if (!MOVABLE.has(id)) {
    diagnostics.push(
      error(`${id} is part of the cluster itself and cannot be placed elsewhere`, {
        path,
        fix: "remove the placement",
      }),
    );
    return here;
  }
  if ("external" in placement) {
    if (!EXTERNAL_OK.has(id)) {
      diagnostics.push(
        error(`${id} cannot be an external managed service`, {
          path,
          fix: `external endpoints are supported for ${[...EXTERNAL_OK].join(", ")}; run ${id} on this environment's cluster (remove the placement)`,
        }),
      );
      return here;
    }
    return { kind: "external", url: placement.external.url };
  }
  if (!(placement.cluster in input.clusters)) {
    const known = Object.keys(input.clusters).sort().join(", ");
    diagnostics.push(
      error(`cluster "${placement.cluster}" does not exist`, {
        path: `${path}.cluster`,
        fix: `define clusters.${placement.cluster}, or use one of: ${known}`,
      }),
    );
    return here;
  }
  if (placement.cluster === input.cluster.name) return here;
  return { kind: "cluster", cluster: placement.cluster };
}
