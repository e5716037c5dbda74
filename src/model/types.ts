import type { ComponentId, EnvironmentKind, ServiceId } from "../config/ids.js";
import type { ClusterConfig } from "../config/schema.js";
import type { SecretRef } from "../config/secret-ref.js";
import type { ActiveClusters, ResolvedBackups, ResolvedClone } from "./backups.js";
import type { ResolvedSso } from "./sso.js";

export type ResolvedPlacement =
  | { kind: "local"; cluster: string }
  | { kind: "cluster"; cluster: string }
  | { kind: "external"; url: SecretRef };

export interface ResolvedCluster {
  name: string;
  type: ClusterConfig["type"];
  vps?: ClusterConfig["vps"];
  k3s?: ClusterConfig["k3s"];
  kubeconfig: string;
  context?: string;
  storagePath: string;
  /** Declared memory (bytes) and cores, from the VPS or `capacity`; absent when unknown. */
  capacity?: { memory: number; cores: number };
  /** Every environment whose `cluster` is this one, sorted. */
  environments: string[];
  /** The environment whose name suffixes this cluster's shared hosts (prod's cluster takes none). */
  primaryEnvironment: string;
  hostsProd: boolean;
}

export interface Namespaces {
  /** Vault and the platform PostgreSQL: once per cluster. */
  platform: string;
  data: string;
  kubero: string;
  apps: string;
  observability: string;
}

export interface HostEntry {
  host: string;
  /** Config path that produced the host, for diagnostics. */
  source: string;
  /** Whether the host is the same instance for every environment of the cluster (e.g. Vault). */
  scope: "cluster" | "environment";
  /** Proxied through Cloudflare (web UIs) or DNS-only (k3s API, Vault). */
  proxied: boolean;
}

export interface ResolvedComponent {
  id: ComponentId;
  enabled: boolean;
  placement: ResolvedPlacement;
  /** Dependencies added in config, on top of the catalog's. */
  extraDependsOn: ComponentId[];
  /** Why it is off, for `plan` and `graph` output. */
  reason?: string;
}

export interface Storage {
  platformPostgres: string;
  postgres: string;
  redis: string;
  arangodb: string;
  clickhouse: string;
  signoz: string;
}

/** Everything later stages read about one environment: frozen, deterministic, no I/O. */
export interface ResolvedEnvironment {
  project: string;
  name: string;
  kind: EnvironmentKind;
  cluster: ResolvedCluster;
  baseDomain?: string;
  internalDomain?: string;
  domainPrefix?: string;
  /** Cloudflare zones the hosts live in (empty for dev and ci). */
  zones: string[];
  hosts: Partial<Record<ServiceId, HostEntry>>;
  /** Public hosts served through the ingress with TLS (false for dev and ci). */
  publicHosts: boolean;
  namespaces: Namespaces;
  components: Record<ComponentId, ResolvedComponent>;
  storage: Storage;
  vaultEngine: "vault" | "openbao";
  /** `static`: OpenBao's static-key auto-unseal, the key in a Secret beside it (see README). */
  vaultUnseal: "shamir" | "static";
  acmeEmail?: string;
  /** The owner account's login in SigNoz and OpenPanel (config `ownerEmail`, else `acmeEmail`). */
  ownerEmail?: string;
  /**
   * The config's other environments on the same cluster (resolved without their own peers): an
   * object the whole cluster shares is rendered from all of them, so every environment renders it
   * alike. Absent where resolved alone.
   */
  peers?: readonly ResolvedEnvironment[];
  /** Who may pass the login in front of the internal UIs; present when the sso component is on. */
  sso?: ResolvedSso;
  /** Continuous PostgreSQL backups (README "Backups and restores"); absent: none. */
  backups?: ResolvedBackups;
  /** What `plinth data clone` into this environment runs before anything connects; absent: nothing. */
  clone?: ResolvedClone;
  /**
   * The Cluster each restored database runs as now (`postgres-r20260501030000`), recorded in state
   * by `plinth restore` (model/backups.ts withActiveClusters); absent: the catalog's own name.
   */
  activeClusters?: ActiveClusters;
  componentResources: Partial<Record<ComponentId, { memory?: string; cpu?: string }>>;
}
