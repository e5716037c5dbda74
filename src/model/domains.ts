import type { ComponentId, EnvironmentKind, ServiceId } from "../config/ids.js";
import { type Diagnostic, error } from "../diagnostics/diagnostic.js";
import type { HostEntry, ResolvedCluster, ResolvedComponent } from "./types.js";

/** Service host names on the internal domain (seed 7), and which component serves each. */
const INTERNAL_SERVICES: readonly {
  id: ServiceId;
  label: string;
  component: ComponentId;
  scope: HostEntry["scope"];
  proxied: boolean;
}[] = [
  { id: "k3s-api", label: "k3s", component: "k3s", scope: "cluster", proxied: false },
  { id: "vault", label: "secrets", component: "vault", scope: "cluster", proxied: false },
  { id: "dashboard", label: "dashboard", component: "dashboard", scope: "cluster", proxied: true },
  { id: "kubero", label: "kcloud", component: "kubero", scope: "environment", proxied: true },
  { id: "kubero-api", label: "kapi", component: "kubero", scope: "environment", proxied: true },
  { id: "signoz", label: "signoz", component: "signoz", scope: "environment", proxied: true },
  { id: "otel-collector", label: "otel", component: "signoz", scope: "environment", proxied: true },
  { id: "openpanel", label: "openpanel", component: "openpanel", scope: "environment", proxied: true },
  {
    id: "openpanel-api",
    label: "openpanel-api",
    component: "openpanel",
    scope: "environment",
    proxied: true,
  },
  { id: "backstage", label: "backstage", component: "backstage", scope: "environment", proxied: true },
  // The login (OAuth2-Proxy): its callback and sign-in pages for every gated UI of the environment.
  { id: "sso", label: "auth", component: "sso", scope: "environment", proxied: true },
];

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface DomainInput {
  env: string;
  kind: EnvironmentKind;
  hosting: "public" | "localhost" | "none";
  cluster: ResolvedCluster;
  baseDomain?: string;
  internalDomain?: string;
  domainPrefix: string;
  overrides: Partial<Record<ServiceId, string>>;
  components: Record<ComponentId, ResolvedComponent>;
}

export interface DomainResult {
  hosts: Partial<Record<ServiceId, HostEntry>>;
  zones: string[];
  diagnostics: Diagnostic[];
}

/**
 * The host table of one environment (DESIGN "Domains"): prod takes bare names and the apex,
 * every other environment suffixes its own services with `-{env}` so that no two environments
 * ever claim the same host, and no host is more than one label below its zone.
 */
export function resolveDomains(input: DomainInput): DomainResult {
  const envPath = `environments.${input.env}`;
  const diagnostics: Diagnostic[] = [];
  const hosts: Partial<Record<ServiceId, HostEntry>> = {};
  if (input.hosting === "none") return { hosts, zones: [], diagnostics };

  const isProd = input.kind === "prod";
  const local = input.hosting === "localhost";
  const base = local ? "localhost" : input.baseDomain;
  const internal = local ? "localhost" : input.internalDomain;
  if (!base || !internal) {
    for (const [field, value] of [
      ["baseDomain", base],
      ["internalDomain", internal],
    ] as const) {
      if (!value) {
        diagnostics.push(
          error("is required for an environment with public hosts", {
            path: `${envPath}.${field}`,
            fix: `set ${field} in defaults or in this environment`,
          }),
        );
      }
    }
    return { hosts, zones: [], diagnostics };
  }

  const prefix = input.domainPrefix;
  const prefixPath = `${envPath}.domainPrefix`;
  if (prefix !== "" && !LABEL.test(prefix)) {
    const fix = prefix.includes(".")
      ? `use one label such as "${prefix.replaceAll(".", "-").replace(/^-+|-+$/g, "")}": Cloudflare's free certificate covers one level below the zone`
      : "use lower-case letters, digits and inner hyphens, without a leading or trailing '-'";
    const shown = prefix.includes(".") ? `${prefix}.${base}` : prefix;
    diagnostics.push(
      error(
        prefix.includes(".")
          ? `gives host ${shown}, more than one label below zone ${base}`
          : `"${prefix}" is not a DNS label`,
        { path: prefixPath, fix },
      ),
    );
  }

  const add = (id: ServiceId, host: string, source: string, scope: HostEntry["scope"], proxied: boolean) => {
    const override = input.overrides[id];
    hosts[id] = override
      ? { host: override, source: `${envPath}.hosts.${id}`, scope, proxied }
      : { host, source, scope, proxied };
  };

  if (local) {
    add("frontend", "localhost", prefixPath, "environment", false);
    add("backend", "api.localhost", prefixPath, "environment", false);
  } else {
    add("frontend", prefix === "" ? base : `${prefix}.${base}`, prefixPath, "environment", true);
    add("backend", prefix === "" ? `api.${base}` : `${prefix}-api.${base}`, prefixPath, "environment", true);
  }

  for (const service of INTERNAL_SERVICES) {
    if (!input.components[service.component].enabled && service.id !== "k3s-api") continue;
    // The k3s API exists on every cluster plinth bootstraps; an existing cluster keeps its own endpoint.
    if (service.id === "k3s-api" && (local || input.cluster.type !== "k3s-vps")) continue;
    const placement = input.components[service.component].placement;
    if (placement.kind === "external") continue;
    const suffix =
      service.scope === "cluster"
        ? input.cluster.hostsProd
          ? ""
          : input.cluster.primaryEnvironment
        : isProd
          ? ""
          : input.env;
    const label = local || suffix === "" ? service.label : `${service.label}-${suffix}`;
    add(service.id, `${label}.${internal}`, `${envPath}.internalDomain`, service.scope, service.proxied);
  }

  const zones = local ? [] : [...new Set([base, internal])].sort();
  if (!local) diagnostics.push(...checkZoneDepth(hosts, zones));
  diagnostics.push(...checkDuplicates(hosts, envPath));
  return { hosts, zones, diagnostics };
}

/** Cloudflare free Universal SSL covers the apex and `*.zone`: a host may be at most one label below. */
function checkZoneDepth(hosts: Partial<Record<ServiceId, HostEntry>>, zones: string[]): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const [id, entry] of Object.entries(hosts) as [ServiceId, HostEntry][]) {
    const { host } = entry;
    const zone = zones
      .filter((z) => host === z || host.endsWith(`.${z}`))
      .sort((a, b) => b.length - a.length)[0];
    if (host.startsWith(".") || host.startsWith("-") || host.includes("..")) {
      diagnostics.push(
        error(`host "${host}" (${id}) is not a valid DNS name`, {
          path: entry.source,
          fix: "remove the leading '.' or '-' (an empty prefix gives the apex)",
        }),
      );
      continue;
    }
    if (!zone) {
      diagnostics.push(
        error(`host ${host} (${id}) is not in any configured zone (${zones.join(", ")})`, {
          path: entry.source,
          fix: "use a host under baseDomain or internalDomain",
        }),
      );
      continue;
    }
    const below = host === zone ? "" : host.slice(0, -(zone.length + 1));
    const labels = below === "" ? [] : below.split(".");
    if (labels.length > 1) {
      diagnostics.push(
        error(`host ${host} (${id}) is ${labels.length} labels below zone ${zone}`, {
          path: entry.source,
          fix: `use one label such as ${labels.join("-")}.${zone}: Cloudflare's free certificate covers only *.${zone}`,
        }),
      );
    } else if (labels.length === 1 && !LABEL.test(labels[0] as string)) {
      diagnostics.push(
        error(`host ${host} (${id}) has an invalid label "${labels[0]}"`, {
          path: entry.source,
          fix: "use lower-case letters, digits and inner hyphens",
        }),
      );
    }
  }
  return diagnostics;
}

function checkDuplicates(hosts: Partial<Record<ServiceId, HostEntry>>, envPath: string): Diagnostic[] {
  const seen = new Map<string, ServiceId>();
  const diagnostics: Diagnostic[] = [];
  for (const [id, entry] of Object.entries(hosts) as [ServiceId, HostEntry][]) {
    const first = seen.get(entry.host);
    if (first) {
      diagnostics.push(
        error(`host ${entry.host} is claimed by both ${first} and ${id}`, {
          path: entry.source.startsWith(envPath) ? entry.source : `${envPath}.hosts.${id}`,
          fix: `give ${id} its own host in ${envPath}.hosts`,
        }),
      );
    } else {
      seen.set(entry.host, id);
    }
  }
  return diagnostics;
}
