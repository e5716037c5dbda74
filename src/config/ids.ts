/** Component ids, as used in config keys and in all machine output. Order is catalog order. */
export const COMPONENT_IDS = [
  "k3s",
  "traefik",
  "cert-manager",
  "cnpg-operator",
  "platform-postgres",
  "vault",
  "vault-secrets-operator",
  "dashboard",
  "kubero",
  "postgres",
  "redis",
  "arangodb",
  "clickhouse",
  "signoz",
  "openpanel",
  "backstage",
  "sso",
] as const;
export type ComponentId = (typeof COMPONENT_IDS)[number];

/** Hosts a resolved environment may have, keyed by service id (the `domains` command's keys). */
export const SERVICE_IDS = [
  "frontend",
  "backend",
  "k3s-api",
  "vault",
  "dashboard",
  "kubero",
  "kubero-api",
  "signoz",
  "otel-collector",
  "openpanel",
  "openpanel-api",
  "backstage",
  // OAuth2-Proxy's login (`auth.` on the internal domain), in front of the internal UIs.
  "sso",
] as const;
export type ServiceId = (typeof SERVICE_IDS)[number];

/** The five environment kinds of the blueprint; an environment's kind selects its preset. */
export const ENVIRONMENT_KINDS = ["dev", "ci", "test", "staging", "prod"] as const;
export type EnvironmentKind = (typeof ENVIRONMENT_KINDS)[number];

export const PHASES = ["0", "1", "2", "3", "999"] as const;
export type PhaseId = (typeof PHASES)[number];

export const LAYERS = ["L1", "L2", "L3", "L4"] as const;
export type Layer = (typeof LAYERS)[number];
