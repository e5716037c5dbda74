import type { ComponentId } from "../config/ids.js";

/**
 * The contract every backend implements (Kubernetes, Cloudflare DNS, Vault, SSH/k3s), so that plan,
 * apply, prune, ownership and redaction work the same way everywhere.
 */
export type ChangeAction = "create" | "update" | "adopt" | "delete" | "no-op";

/** One field that differs; `secret` fields never carry their values (shown as `(redacted)`). */
export interface FieldDiff {
  path: string;
  before?: unknown;
  after?: unknown;
  secret?: boolean;
}

/** A resource plinth wants to exist, in a provider's own terms. */
export interface DesiredResource<Spec = unknown> {
  provider: string;
  /** Stable identity, e.g. `kubernetes:apps/v1:Deployment:data/redis`, `cloudflare:record:x-staging.example.com:CNAME`. */
  id: string;
  component: ComponentId;
  spec: Spec;
  /** Dotted paths in `spec` whose values are secret (redacted in diffs, never logged). */
  secretPaths?: string[];
}

/** What a provider's plan says about one resource; plain data, stored in saved plans. */
export interface ResourceChange<Spec = unknown> {
  provider: string;
  id: string;
  component: ComponentId;
  action: ChangeAction;
  /** Human-readable kind and name for plan output. */
  kind: string;
  name: string;
  namespace?: string;
  diff: FieldDiff[];
  /** What apply sends (never a secret value); absent for deletes. */
  spec?: Spec;
  /** The live object's version when planned (resourceVersion, etag, modified_on): apply refuses if it moved. */
  liveVersion?: string;
}

/** Ownership marks and scope of one environment, passed to every provider call. */
export interface ProviderContext {
  /** Environment name; ownership marks name it. */
  env: string;
  /** `plinth/<version>`, for tooling annotations and record comments. */
  tooling: string;
  signal?: AbortSignal;
  /**
   * The operator's environment variables, for secret values that come from there at plan and
   * apply (`CLOUDFLARE_API_TOKEN`); read only where such a value is written, never logged.
   */
  variables?: Readonly<Record<string, string | undefined>>;
  /**
   * The folder where verified operator manifests are kept by sha256 (`.plinth/cache/manifests`
   * beside the config): plan compares their objects with the cluster without a download each time.
   */
  manifestCache?: string;
}

export interface Provider<Spec = unknown> {
  name: string;
  /**
   * Compares desired resources with what is live and owned: creates, updates, adopts (exists,
   * unowned, same identity), deletes (owned by this environment, no longer desired), no-ops.
   */
  plan(desired: DesiredResource<Spec>[], ctx: ProviderContext): Promise<ResourceChange<Spec>[]>;
  /** Carries out one change (create/update/adopt/delete); marks ownership; idempotent. */
  apply(change: ResourceChange<Spec>, ctx: ProviderContext): Promise<void>;
}
