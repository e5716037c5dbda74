/**
 * Continuous PostgreSQL backups through CloudNativePG's Barman Cloud plugin: the plugin's pinned
 * manifest, one `ObjectStore` (barmancloud.cnpg.io/v1) per Cluster, the Cluster's `plugins` entry
 * (WAL archiving) and a `ScheduledBackup` (base backups). Pure: every setting the plugin turns into
 * `barman-cloud-*` options is computed here once, and `barmanCloudArgs` turns it into those options
 * the way the plugin does, so the test that runs Barman for real runs plinth's settings.
 */
import type { ComponentId } from "../config/ids.js";
import type { ResolvedBackups } from "../model/backups.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { withSeconds } from "../util/cron.js";
import { clusterEnvironments } from "./cluster.js";
import { labels } from "./objects.js";
import type { ExternalResource, KubeObject, SecretSpec } from "./types.js";
import { BARMAN_CLOUD_PLUGIN_MANIFEST, IMAGES } from "./versions.js";

/** The plugin's name as CloudNativePG knows it (`Cluster.spec.plugins[].name`). */
export const BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io";

/**
 * boto3 1.36+ adds CRC checksums to every upload and checks them on downloads; S3-compatible
 * stores such as R2 refuse or fail them (cloudnative-pg/cloudnative-pg#7715, where the CNPG
 * maintainers give exactly this env for the plugin's ObjectStore; boto/boto3#4392). `when_required`
 * restores the older behaviour, which AWS S3 accepts as well. Set on the sidecar that runs Barman.
 */
export const CHECKSUM_ENV: Readonly<Record<string, string>> = Object.freeze({
  AWS_REQUEST_CHECKSUM_CALCULATION: "when_required",
  AWS_RESPONSE_CHECKSUM_VALIDATION: "when_required",
});

/**
 * R2 refuses a multipart upload whose non-trailing parts differ in length or whose last part is
 * longer than the others (developers.cloudflare.com/r2/objects/multipart-objects, "Limitations").
 * Barman's base-backup uploader (barman/cloud.py, CloudTarUploader) cuts a part at the first write
 * past its chunk size, and with gzip the tar stream (tarfile "w|gz") writes blocks of one fixed
 * size, so every non-trailing part has the same length and the last is shorter: R2's rule holds
 * with Barman's own part size, as test/backups/barman.test.ts measures on a 48 MiB backup. lz4 and
 * snappy go through Barman's own compressors, whose writes vary: plinth renders gzip only. WAL
 * files (16 MiB) go up in one PUT (boto3 uses multipart only from Barman's 100 MiB threshold).
 */
export const BACKUP_COMPRESSION = "gzip";

/** Keys of the credentials Secret, as the ObjectStore names them. */
const KEY_ID = "ACCESS_KEY_ID";
const SECRET_KEY = "ACCESS_SECRET_KEY";
const REGION = "REGION";

export interface BackupTarget {
  /** The CloudNativePG Cluster's name, also Barman's server name (its folder in the bucket). */
  cluster: string;
  namespace: string;
  component: ComponentId;
}

export const objectStoreName = (t: BackupTarget): string => `${t.cluster}-backups`;
export const credentialsSecretName = (t: BackupTarget): string => `${t.cluster}-backup-credentials`;
export const scheduledBackupName = (t: BackupTarget): string => `${t.cluster}-scheduled`;

/** The part of the ObjectStore spec Barman's commands are built from (BarmanObjectStoreConfiguration). */
export interface BarmanConfiguration {
  destinationPath: string;
  endpointURL: string;
  s3Credentials: {
    accessKeyId: { name: string; key: string };
    secretAccessKey: { name: string; key: string };
    region: { name: string; key: string };
  };
  wal: { compression: typeof BACKUP_COMPRESSION; maxParallel: number };
  data: {
    compression: typeof BACKUP_COMPRESSION;
    immediateCheckpoint: boolean;
    additionalCommandArgs?: string[];
  };
}

/** `s3://bucket/<path>/<env>`: each environment its own folder, each Cluster a server folder under it. */
export function destinationPath(b: ResolvedBackups): string {
  return `s3://${b.bucket}/${b.prefix}`;
}

export function barmanConfiguration(b: ResolvedBackups, t: BackupTarget): BarmanConfiguration {
  const secret = credentialsSecretName(t);
  return {
    destinationPath: destinationPath(b),
    endpointURL: b.endpoint,
    s3Credentials: {
      accessKeyId: { name: secret, key: KEY_ID },
      secretAccessKey: { name: secret, key: SECRET_KEY },
      region: { name: secret, key: REGION },
    },
    // gzip: R2-safe part sizes (above) and built into Python, in the sidecar and wherever one restores.
    wal: { compression: BACKUP_COMPRESSION, maxParallel: 2 },
    // Start at once: otherwise the backup waits for a spread checkpoint (4.5 min with PostgreSQL's
    // defaults, measured by test/backups/barman.test.ts); one VPS's databases checkpoint quickly.
    data: { compression: BACKUP_COMPRESSION, immediateCheckpoint: true },
  };
}

export function objectStore(env: ResolvedEnvironment, b: ResolvedBackups, t: BackupTarget): KubeObject {
  return {
    apiVersion: "barmancloud.cnpg.io/v1",
    kind: "ObjectStore",
    metadata: { name: objectStoreName(t), namespace: t.namespace, labels: labels(env, t.component) },
    spec: {
      configuration: barmanConfiguration(b, t),
      retentionPolicy: b.retention,
      instanceSidecarConfiguration: {
        env: Object.entries(CHECKSUM_ENV).map(([name, value]) => ({ name, value })),
      },
    },
  };
}

/** The Cluster's `spec.plugins` entry: WAL archiving (and base backups) through the ObjectStore. */
export function clusterPlugin(t: BackupTarget): Record<string, unknown> {
  return {
    name: BARMAN_PLUGIN,
    isWALArchiver: true,
    parameters: { barmanObjectName: objectStoreName(t), serverName: t.cluster },
  };
}

export function scheduledBackup(env: ResolvedEnvironment, b: ResolvedBackups, t: BackupTarget): KubeObject {
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "ScheduledBackup",
    metadata: { name: scheduledBackupName(t), namespace: t.namespace, labels: labels(env, t.component) },
    spec: {
      schedule: withSeconds(b.schedule),
      // A first backup at once: WAL alone restores nothing until a base backup exists.
      immediate: true,
      backupOwnerReference: "self",
      cluster: { name: t.cluster },
      method: "plugin",
      pluginConfiguration: { name: BARMAN_PLUGIN },
    },
  };
}

/** The bucket token, copied from the operator's environment at every plan and apply. */
export function credentialsSecret(b: ResolvedBackups, t: BackupTarget): SecretSpec {
  const what = `an S3 token for bucket ${b.bucket} (${b.endpoint}) that can only write to that bucket`;
  return {
    name: credentialsSecretName(t),
    namespace: t.namespace,
    keys: {
      [KEY_ID]: {
        length: 0,
        alphabet: "alphanumeric",
        fromEnv: { variable: b.accessKeyIdVariable, what: `the access key id of ${what}` },
      },
      [SECRET_KEY]: {
        length: 0,
        alphabet: "alphanumeric",
        fromEnv: { variable: b.secretAccessKeyVariable, what: `the secret access key of ${what}` },
      },
      [REGION]: { length: 0, alphabet: "alphanumeric", fixed: b.region },
    },
    consumers: [`ObjectStore ${objectStoreName(t)}`],
  };
}

/**
 * The backups of what the cluster's environments share (the platform PostgreSQL): every
 * environment must render the same objects, so they follow the primary environment's settings
 * (prod's on a cluster with prod), else those of the first environment by name that has any.
 */
export function clusterBackups(env: ResolvedEnvironment): ResolvedBackups | undefined {
  const all = clusterEnvironments(env);
  const primary = all.find((e) => e.name === env.cluster.primaryEnvironment);
  return primary?.backups ?? all.find((e) => e.backups)?.backups;
}

/** What a PostgreSQL component adds when it is backed up: its ObjectStore and schedule. */
export function backupObjects(
  env: ResolvedEnvironment,
  b: ResolvedBackups | undefined,
  t: BackupTarget,
): KubeObject[] {
  return b ? [objectStore(env, b, t), scheduledBackup(env, b, t)] : [];
}

export function backupSecrets(b: ResolvedBackups | undefined, t: BackupTarget): SecretSpec[] {
  return b ? [credentialsSecret(b, t)] : [];
}

const base64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/**
 * The plugin's installation (in cnpg-system, beside the operator): the pinned manifest with the
 * release's images. Its sidecar image sits base64-encoded in a Secret, so it is swapped there too.
 */
export function pluginManifest(): ExternalResource {
  const { url, sha256 } = BARMAN_CLOUD_PLUGIN_MANIFEST;
  return {
    provider: "manifest",
    kind: "OperatorManifest",
    name: "plugin-barman-cloud",
    detail: `${url} (sha256 ${sha256}) with ${IMAGES.barmanCloudPlugin} and sidecar ${IMAGES.barmanCloudSidecar}`,
    source: {
      url,
      sha256,
      imageOverrides: [
        { from: "ghcr.io/cloudnative-pg/plugin-barman-cloud-testing:", to: IMAGES.barmanCloudPlugin },
        // base64 of "ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar-t" (the -testing:main image).
        {
          from: "Z2hjci5pby9jbG91ZG5hdGl2ZS1wZy9wbHVnaW4tYmFybWFuLWNsb3VkLXNpZGVjYXItdG",
          to: base64(IMAGES.barmanCloudSidecar),
        },
      ],
    },
  };
}

export type BarmanCommand = "backup" | "wal-archive" | "wal-restore" | "restore";

/**
 * The options the plugin passes to `barman-cloud-<command>` for this configuration, before the
 * positional arguments it adds per call (the WAL file, the backup id, the data directory), as
 * cloudnative-pg/barman-cloud builds them (pkg/backup, pkg/archiver, pkg/command): compression,
 * extra arguments, `--endpoint-url`, `--cloud-provider aws-s3`, then destination and server name.
 */
export function barmanCloudArgs(
  c: BarmanConfiguration,
  command: BarmanCommand,
  serverName: string,
): string[] {
  const endpoint = ["--endpoint-url", c.endpointURL];
  const provider = ["--cloud-provider", "aws-s3"];
  const where = [c.destinationPath, serverName];
  switch (command) {
    case "backup":
      return [
        `--${c.data.compression}`,
        ...(c.data.immediateCheckpoint ? ["--immediate-checkpoint"] : []),
        ...(c.data.additionalCommandArgs ?? []),
        ...endpoint,
        ...provider,
        ...where,
      ];
    case "wal-archive":
      return [`--${c.wal.compression}`, ...endpoint, ...provider, ...where];
    case "wal-restore":
    case "restore":
      return [...endpoint, ...provider, ...where];
  }
}

/**
 * The environment the plugin gives Barman: the credentials Secret's values as AWS variables
 * (barman-cloud pkg/credentials) and the sidecar's checksum settings.
 */
export function barmanEnvironment(
  b: ResolvedBackups,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_DEFAULT_REGION: b.region,
    ...CHECKSUM_ENV,
  };
}

/** Marks a restore drill's objects (never members of the environment's ApplySet, so never pruned by it). */
export const DRILL_LABEL = "plinth.dev/restore-drill";

/**
 * The separate Cluster a restore drill creates next to the live one: bootstrapped by recovery from
 * the live Cluster's ObjectStore through the plugin (latest, or a point in time), archiving
 * nothing (it must never write into the live server's folder), on `local-path` storage, whose
 * volumes are deleted with it (the live databases' class keeps volumes on purpose).
 *
 * The application database, its owner and the owner's Secret are the live Cluster's: without them
 * CloudNativePG's recovery would create an `app` database and user that the source lacks; with
 * them it finds both restored and sets the owner's password from that same Secret (CloudNativePG
 * docs, recovery.md "Configure the application database"), so the drill's checks log in to both
 * sides with one credential.
 */
export function drillCluster(
  env: ResolvedEnvironment,
  t: BackupTarget & { storage: string; memory: string; database: string; owner: string },
  o: { targetTime?: string } = {},
): KubeObject {
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    metadata: {
      name: drillName(t),
      namespace: t.namespace,
      labels: {
        "app.kubernetes.io/managed-by": "plinth",
        "plinth.dev/env": env.name,
        [DRILL_LABEL]: t.cluster,
      },
    },
    spec: {
      instances: 1,
      imageName: IMAGES.postgres,
      bootstrap: {
        recovery: {
          source: "origin",
          database: t.database,
          owner: t.owner,
          secret: { name: `${t.cluster}-${t.owner}` },
          ...(o.targetTime ? { recoveryTarget: { targetTime: o.targetTime } } : {}),
        },
      },
      externalClusters: [
        {
          name: "origin",
          plugin: {
            name: BARMAN_PLUGIN,
            parameters: { barmanObjectName: objectStoreName(t), serverName: t.cluster },
          },
        },
      ],
      enableSuperuserAccess: false,
      storage: { size: t.storage, storageClass: "local-path" },
      resources: { requests: { memory: t.memory, cpu: "100m" }, limits: { memory: t.memory } },
    },
  };
}

export const drillName = (t: Pick<BackupTarget, "cluster">): string => `${t.cluster}-drill`;
