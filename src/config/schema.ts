import * as z from "zod";
import { COMPONENT_IDS, ENVIRONMENT_KINDS, SERVICE_IDS } from "./ids.js";

export const secretRefSchema = z.union([
  z.strictObject({
    fromEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name such as STAGING_SSH_KEY"),
  }),
  z.strictObject({ fromFile: z.string().min(1) }),
]);

/** Kubernetes resource quantity, e.g. `50Gi`, `512Mi`, `1.5`. */
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;
export const quantity = z
  .string()
  .regex(QUANTITY, "is not a Kubernetes quantity (write it like 50Gi, 512Mi or 2)");

/** One DNS label: the prefix is a label, never a dotted name (Cloudflare's free certificate covers one level). */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
export const domainName = z.string().regex(DOMAIN, "is not a lower-case DNS name such as example.com");
/** Validated as a string here; label rules are checked in the model, where the message can name the host. */
const prefix = z.string().max(63);

const componentIds = z.enum(COMPONENT_IDS);
const serviceIds = z.enum(SERVICE_IDS);

export const placementSchema = z.union([
  z.literal("local"),
  z.strictObject({ cluster: z.string().min(1) }),
  z.strictObject({ external: z.strictObject({ url: secretRefSchema }) }),
]);

const componentSettings = z.strictObject({
  enabled: z.boolean().optional(),
  placement: placementSchema.optional(),
  /** Overrides of the component's own resource requests (used for the capacity check and in values). */
  resources: z.strictObject({ memory: quantity.optional(), cpu: quantity.optional() }).optional(),
  /** Extra ordering: wait for these components (same or earlier phase) before this one. */
  dependsOn: z.array(componentIds).optional(),
});

const storageSchema = z.strictObject({
  platformPostgres: quantity.optional(),
  postgres: quantity.optional(),
  redis: quantity.optional(),
  arangodb: quantity.optional(),
  clickhouse: quantity.optional(),
  signoz: quantity.optional(),
});

const featuresSchema = z.strictObject({
  observability: z.boolean().optional(),
  backstage: z.boolean().optional(),
  arangodb: z.boolean().optional(),
  clickhouse: z.boolean().optional(),
  vault: z.boolean().optional(),
});

/** Settings shared by `defaults` and each environment: an environment overrides only what differs. */
const environmentSettings = z.strictObject({
  cluster: z.string().min(1).optional(),
  baseDomain: domainName.optional(),
  internalDomain: domainName.optional(),
  domainPrefix: prefix.optional(),
  hosts: z.partialRecord(serviceIds, z.string().min(1)).optional(),
  storage: storageSchema.optional(),
  features: featuresSchema.optional(),
  components: z.partialRecord(componentIds, componentSettings).optional(),
  vault: z
    .strictObject({
      engine: z.enum(["vault", "openbao"]).optional(),
      /** `shamir` (keys encrypted to the operator) or `static` (OpenBao unseals itself from a key Secret). */
      unseal: z.enum(["shamir", "static"]).optional(),
    })
    .optional(),
  /** Email for ACME (Let's Encrypt) registration of the environment's certificates. */
  acmeEmail: z.email().optional(),
});

const environmentSchema = environmentSettings.extend({
  kind: z.enum(ENVIRONMENT_KINDS).optional(),
});

const vpsSchema = z.strictObject({
  host: z.string().min(1),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "is not a valid Unix user name")
    .default("root"),
  sshPort: z.number().int().min(1).max(65535).default(22),
  sshKey: secretRefSchema,
  /** SHA256 fingerprint of the host key (`SHA256:...`); without it, first contact needs --accept-host-key. */
  hostKeyFingerprint: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, "is not an OpenSSH SHA256 fingerprint")
    .optional(),
  memory: quantity,
  cores: z.number().positive(),
});

const clusterSchema = z.strictObject({
  /** `k3s-vps`: plinth installs k3s on a VPS over SSH. `existing`: a cluster reached through a kubeconfig. */
  type: z.enum(["k3s-vps", "existing"]),
  vps: vpsSchema.optional(),
  k3s: z
    .strictObject({
      channel: z.enum(["stable", "latest", "testing"]).default("stable"),
      version: z
        .string()
        .regex(/^v1\.[0-9]+\.[0-9]+\+k3s[0-9]+$/, "must be a pinned k3s release such as v1.33.5+k3s1"),
      /**
       * A mirror of the pinned installer (K3S_INSTALLER in catalog/versions.ts). It runs as root, so
       * only https:// (or file:// for a local copy), and only with the sha256 of what it serves.
       */
      installerUrl: z
        .url({
          protocol: /^(https|file)$/,
          error:
            "must be an https:// URL (or file:// for a local copy): the installer runs as root, and http:// can be altered on the way",
        })
        .optional(),
      installerSha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/, "must be the installer's sha256 in hex, as `sha256sum install.sh` prints it")
        .optional(),
    })
    .refine((k) => (k.installerUrl === undefined) === (k.installerSha256 === undefined), {
      path: ["installerSha256"],
      message:
        "installerUrl and installerSha256 go together: set installerSha256 to the output of `sha256sum` on the file the mirror serves (or remove both to use the pinned installer)",
    })
    .optional(),
  /** Kubeconfig file: written by bootstrap for `k3s-vps`, read for `existing`. */
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
  /** Host path under which the `local-path-retain` StorageClass keeps volume data. */
  storagePath: z.string().startsWith("/").optional(),
  /** Memory and cores of an `existing` cluster, for the capacity check. */
  capacity: z.strictObject({ memory: quantity, cores: z.number().positive() }).optional(),
});

const stateSchema = z.union([
  z.strictObject({ backend: z.literal("local"), path: z.string().optional() }),
  z.strictObject({
    backend: z.literal("s3"),
    endpoint: z.url(),
    bucket: z.string().min(3),
    prefix: z.string().default("plinth/"),
    region: z.string().default("auto"),
  }),
]);

/**
 * The pull-request workflow (`plinth github`): who may `/apply` (and `/plan`, `/unlock`) each
 * environment, and what a pull request must have before it is applied. Keys are environment
 * names; absent ones take the defaults (README "Pull requests").
 */
const githubRole = z.enum(["read", "triage", "write", "maintain", "admin"]);
const githubSchema = z.strictObject({
  /** A role (at least) or a list of `team:<slug>`, `user:<login>` and roles, any of which may apply. */
  apply: z
    .record(
      z.string().regex(LABEL, "environment names must be lower-case DNS labels"),
      z.union([
        githubRole,
        z
          .array(
            z.union([
              githubRole,
              z
                .string()
                .regex(
                  /^team:[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)?$/,
                  "is not team:<slug> or team:<org>/<slug>",
                ),
              z.string().regex(/^user:[A-Za-z0-9-]+$/, "is not user:<login>"),
            ]),
          )
          .min(1),
      ]),
    )
    .optional(),
  /** What must hold before `/apply`, replacing the environment kind's default list. */
  require: z
    .record(
      z.string().regex(LABEL, "environment names must be lower-case DNS labels"),
      z.array(z.enum(["approved", "approved-by-other", "mergeable", "up-to-date"])),
    )
    .optional(),
});

export const configSchema = z.strictObject({
  /** Short name used in labels and generated names. */
  project: z.string().regex(LABEL, "must be one lower-case DNS label such as acme").default("plinth"),
  defaults: environmentSettings.optional(),
  clusters: z.record(z.string().regex(LABEL, "cluster names must be lower-case DNS labels"), clusterSchema),
  environments: z.record(
    z.string().regex(LABEL, "environment names must be lower-case DNS labels"),
    environmentSchema,
  ),
  state: stateSchema.optional(),
  github: githubSchema.optional(),
});

/** What the user writes (defaults optional). */
export type UserConfig = z.input<typeof configSchema>;
/** After validation, defaults filled. */
export type Config = z.output<typeof configSchema>;
export type ClusterConfig = z.output<typeof clusterSchema>;
export type EnvironmentConfig = z.output<typeof environmentSchema>;
export type EnvironmentSettings = z.output<typeof environmentSettings>;
export type Placement = z.output<typeof placementSchema>;
export type GitHubSettings = z.output<typeof githubSchema>;
