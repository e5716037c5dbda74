/**
 * Scheduled dumps of the databases CloudNativePG does not back up: Redis (`redis-cli --rdb`, a
 * replica's full sync of the persisted data set), ArangoDB (`arangodump --all-databases`: hot
 * backups, the operator's ArangoBackup, are Enterprise-only in the pinned 3.12.4 Community image:
 * `/_admin/backup/create` is unknown there, kube-arangodb#507)
 * and ClickHouse (its own `BACKUP ... TO S3`, which the server writes straight to the bucket).
 * Each is one CronJob on the environment's backup schedule: an init container makes the dump
 * into an emptyDir, then rclone uploads it to `<path>/<env>/<name>/<stamp>/`, writes the
 * completion marker last and deletes what is older than the retention. Pure: the scripts and the
 * environment are rendered here so that test/backups/dumps.test.ts runs exactly these.
 */
import type { ComponentId } from "../config/ids.js";
import type { ResolvedBackups } from "../model/backups.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { barmanConfiguration, credentialsSecret } from "./backups.js";
import { labels } from "./objects.js";
import type { KubeObject, SecretSpec } from "./types.js";
import { IMAGES } from "./versions.js";

export type DumpKind = "redis" | "arangodb" | "clickhouse";

/** One database a dump job backs up, as its component describes it. */
export interface DumpTarget {
  component: ComponentId;
  kind: DumpKind;
  /** Its folder under the environment's backup folder; the CronJob is `<name>-backup`. */
  name: string;
  namespace: string;
  /** The database's Service (in `namespace`) and port. */
  host: string;
  port: number;
  /** Who the dump logs in as (ClickHouse; ArangoDB's is root, Redis's the default user). */
  user?: string;
  /** The Secret key holding that login's password. */
  password: { secret: string; key: string };
  /** The image whose client makes the dump: the server's own, so client and server match. */
  image: string;
  backups: ResolvedBackups;
}

/** Written after everything else of a dump: a dump folder without it is incomplete. */
export const DUMP_MARKER = "plinth-dump.json";
/** The emptyDir both containers share: the stamp, the dump, the marker. */
const WORK = "/work";

export const dumpJobName = (t: DumpTarget): string => `${t.name}-backup`;
/** `<path>/<env>/<name>`: the folder of this database's dumps (no slash at either end). */
export const dumpFolder = (t: DumpTarget): string => `${t.backups.prefix}/${t.name}`;

/** The bucket token's Secret beside the job: the same token as the PostgreSQL backups'. */
function credentialsTarget(t: DumpTarget) {
  return { cluster: t.name, namespace: t.namespace, component: t.component };
}

export function dumpCredentialsSecret(t: DumpTarget): SecretSpec {
  return { ...credentialsSecret(t.backups, credentialsTarget(t)), consumers: [`CronJob ${dumpJobName(t)}`] };
}

/**
 * Barman's retention (`30d`, `4w`, `3m`) as rclone's `--min-age`. A month counts 31 days:
 * rounding the other way would delete a dump Barman's window still keeps.
 */
export function rcloneMinAge(retention: string): string {
  const m = /^([1-9][0-9]*)([dwm])$/.exec(retention);
  if (!m) throw new Error(`not a retention: ${retention}`);
  const n = Number(m[1]);
  return m[2] === "m" ? `${n * 31}d` : `${n}${m[2]}`;
}

/** R2's quirks as rclone knows them (its Cloudflare provider); any other store is plain S3. */
export function rcloneProvider(endpoint: string): "Cloudflare" | "Other" {
  return /\.r2\.cloudflarestorage\.com$/i.test(new URL(endpoint).hostname) ? "Cloudflare" : "Other";
}

type EnvVar = { name: string; value: string } | { name: string; valueFrom: Record<string, unknown> };

const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });

/** The bucket token as two variables, read from the job's credentials Secret. */
function tokenEnv(t: DumpTarget, names: { id: string; secret: string }): EnvVar[] {
  const c = barmanConfiguration(t.backups, credentialsTarget(t)).s3Credentials;
  return [
    { name: names.id, valueFrom: secretRef(c.accessKeyId.name, c.accessKeyId.key) },
    { name: names.secret, valueFrom: secretRef(c.secretAccessKey.name, c.secretAccessKey.key) },
  ];
}

/**
 * rclone's whole configuration, from the environment (remote `backup`): no config file, no
 * bucket creation (the token may only touch objects), no credentials but these.
 */
export function uploadEnvironment(t: DumpTarget): EnvVar[] {
  const b = t.backups;
  return [
    { name: "DUMP_DIR", value: WORK },
    { name: "DUMP_COMPONENT", value: t.component },
    { name: "DUMP_TOOL", value: DUMP_TOOL[t.kind] },
    { name: "S3_BUCKET", value: b.bucket },
    { name: "S3_FOLDER", value: dumpFolder(t) },
    { name: "RETENTION", value: rcloneMinAge(b.retention) },
    { name: "RCLONE_CONFIG_BACKUP_TYPE", value: "s3" },
    { name: "RCLONE_CONFIG_BACKUP_PROVIDER", value: rcloneProvider(b.endpoint) },
    { name: "RCLONE_CONFIG_BACKUP_ENDPOINT", value: b.endpoint },
    { name: "RCLONE_CONFIG_BACKUP_REGION", value: b.region },
    { name: "RCLONE_CONFIG_BACKUP_ENV_AUTH", value: "false" },
    { name: "RCLONE_CONFIG_BACKUP_NO_CHECK_BUCKET", value: "true" },
    ...tokenEnv(t, {
      id: "RCLONE_CONFIG_BACKUP_ACCESS_KEY_ID",
      secret: "RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY",
    }),
  ];
}

const DUMP_TOOL: Record<DumpKind, string> = {
  redis: "redis-cli --rdb",
  arangodb: "arangodump",
  clickhouse: "clickhouse BACKUP TO S3",
};

/**
 * The upload container's script (rclone's image, busybox sh): the dump goes up under the stamp
 * the dump container wrote, the marker after it, then everything older than the retention in
 * this database's folder is deleted, by the time the store received it.
 */
export function uploadScript(): string {
  return [
    "set -eu",
    // Never a retention pass over the bucket's root or another folder by accident.
    'case "$S3_FOLDER" in ""|/*|*/) echo "dump: bad folder \\"$S3_FOLDER\\"" >&2; exit 1 ;; esac',
    'stamp="$(cat "$DUMP_DIR/stamp")"',
    'dest="backup:$S3_BUCKET/$S3_FOLDER/$stamp"',
    'if [ -d "$DUMP_DIR/dump" ]; then rclone copy "$DUMP_DIR/dump" "$dest"; fi',
    `printf '{"format":"plinth-dump/v1","component":"%s","tool":"%s","stamp":"%s","finishedAt":"%s"}\\n' "$DUMP_COMPONENT" "$DUMP_TOOL" "$stamp" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$DUMP_DIR/${DUMP_MARKER}"`,
    `rclone copyto "$DUMP_DIR/${DUMP_MARKER}" "$dest/${DUMP_MARKER}"`,
    'rclone delete --use-server-modtime --min-age "$RETENTION" "backup:$S3_BUCKET/$S3_FOLDER"',
    'echo "dump: $S3_FOLDER/$stamp uploaded; older than $RETENTION deleted"',
    "",
  ].join("\n");
}

/** A dump's name: when it started, UTC, sortable. */
const STAMP = 'date -u +%Y%m%dT%H%M%SZ > "$DUMP_DIR/stamp"';

/**
 * The dump container's script per kind. Passwords come from the environment (the job's own
 * pod), never from the rendered object.
 */
export function dumpScript(kind: DumpKind): string {
  switch (kind) {
    case "redis":
      // A replica's full sync: the whole data set as one RDB file, consistent at one point.
      // REDISCLI_AUTH keeps the password out of the process list.
      return [
        "set -eu",
        STAMP,
        'mkdir -p "$DUMP_DIR/dump"',
        'redis-cli -h "$DB_HOST" -p "$DB_PORT" --no-auth-warning --rdb "$DUMP_DIR/dump/dump.rdb"',
        "",
      ].join("\n");
    case "arangodb":
      // Every database with its system collections (users, graphs), each file gzipped.
      return [
        "set -eu",
        STAMP,
        'arangodump --server.endpoint "tcp://$DB_HOST:$DB_PORT" --server.username root --server.password "$DB_PASSWORD" \\',
        "  --all-databases true --include-system-collections true --compress-output true \\",
        '  --overwrite true --output-directory "$DUMP_DIR/dump"',
        "",
      ].join("\n");
    case "clickhouse":
      return clickhouseScript();
  }
}

/**
 * ClickHouse writes its own backup to the bucket (BACKUP ... TO S3, ClickHouse 23.4+ for `ALL`),
 * asynchronously: a long backup would outlast the client's receive timeout. The statement goes
 * in on stdin, so the token is in neither the process list nor the rendered object; ClickHouse
 * hides S3 credentials in its query log and system.backups. The job then polls system.backups.
 */
function clickhouseScript(): string {
  return [
    "set -eu",
    STAMP,
    'stamp="$(cat "$DUMP_DIR/stamp")"',
    'ch() { clickhouse-client --host "$DB_HOST" --port "$DB_PORT" --user "$DB_USER" --password "$DB_PASSWORD" "$@"; }',
    // A value inside a single-quoted SQL string: backslashes and quotes escaped.
    `sq() { printf '%s' "$1" | sed -e 's/\\\\/\\\\\\\\/g' -e "s/'/\\\\\\\\'/g"; }`,
    'url="$S3_ENDPOINT/$S3_BUCKET/$S3_FOLDER/$stamp/"',
    `id="$(printf "BACKUP ALL EXCEPT DATABASES system, INFORMATION_SCHEMA, information_schema TO S3('%s', '%s', '%s') ASYNC" "$(sq "$url")" "$(sq "$S3_ACCESS_KEY_ID")" "$(sq "$S3_SECRET_ACCESS_KEY")" | ch | cut -f1)"`,
    'case "$id" in ""|*[!0-9a-f-]*) echo "dump: BACKUP answered \\"$id\\"" >&2; exit 1 ;; esac',
    "while :; do",
    `  status="$(ch --query "SELECT status FROM system.backups WHERE id = '$id'")"`,
    '  case "$status" in',
    "    BACKUP_CREATED) break ;;",
    `    *FAILED|*CANCELLED) ch --query "SELECT error FROM system.backups WHERE id = '$id'" >&2; exit 1 ;;`,
    "    *) sleep 10 ;;",
    "  esac",
    "done",
    'echo "dump: ClickHouse backup $id written to $S3_FOLDER/$stamp"',
    "",
  ].join("\n");
}

function dumpEnvironment(t: DumpTarget): EnvVar[] {
  const password = secretRef(t.password.secret, t.password.key);
  const common: EnvVar[] = [
    { name: "DUMP_DIR", value: WORK },
    { name: "DB_HOST", value: `${t.host}.${t.namespace}.svc` },
    { name: "DB_PORT", value: String(t.port) },
  ];
  switch (t.kind) {
    case "redis":
      return [...common, { name: "REDISCLI_AUTH", valueFrom: password }];
    case "arangodb":
      return [...common, { name: "DB_PASSWORD", valueFrom: password }];
    case "clickhouse":
      return [
        ...common,
        { name: "DB_USER", value: t.user ?? "default" },
        { name: "DB_PASSWORD", valueFrom: password },
        { name: "S3_ENDPOINT", value: t.backups.endpoint },
        { name: "S3_BUCKET", value: t.backups.bucket },
        { name: "S3_FOLDER", value: dumpFolder(t) },
        ...tokenEnv(t, { id: "S3_ACCESS_KEY_ID", secret: "S3_SECRET_ACCESS_KEY" }),
      ];
  }
}

/** Six hours: a dump still running then is stuck, and the next night's must not queue behind it. */
const DEADLINE_SECONDS = 6 * 3600;

export function dumpCronJob(env: ResolvedEnvironment, t: DumpTarget): KubeObject {
  const volumeMounts = [{ name: "work", mountPath: WORK }];
  const resources = { requests: { memory: "64Mi", cpu: "50m" } };
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: dumpJobName(t), namespace: t.namespace, labels: labels(env, t.component) },
    spec: {
      schedule: t.backups.schedule,
      timeZone: "Etc/UTC",
      // One dump at a time; a missed run (the VPS was down) starts late rather than never.
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels: labels(env, t.component) },
        spec: {
          backoffLimit: 2,
          activeDeadlineSeconds: DEADLINE_SECONDS,
          template: {
            metadata: { labels: labels(env, t.component) },
            spec: {
              restartPolicy: "Never",
              volumes: [{ name: "work", emptyDir: {} }],
              initContainers: [
                {
                  name: "dump",
                  image: t.image,
                  command: ["sh", "-c", dumpScript(t.kind)],
                  env: dumpEnvironment(t),
                  volumeMounts,
                  resources,
                },
              ],
              containers: [
                {
                  name: "upload",
                  image: IMAGES.rclone,
                  command: ["sh", "-c", uploadScript()],
                  env: uploadEnvironment(t),
                  volumeMounts,
                  resources,
                },
              ],
            },
          },
        },
      },
    },
  };
}

/** What a component adds for its dump: the CronJob (none without backups). */
export function dumpObjects(env: ResolvedEnvironment, t: DumpTarget | undefined): KubeObject[] {
  return t ? [dumpCronJob(env, t)] : [];
}

export function dumpSecrets(t: DumpTarget | undefined): SecretSpec[] {
  return t ? [dumpCredentialsSecret(t)] : [];
}
