/**
 * What a restore drill runs against the restored database, beside its `<cluster>-drill` Cluster:
 * a Job counting the rows of every table on both sides (the live Cluster and the restore), and for
 * the platform PostgreSQL a throw-away Vault on the restored storage. Pure: the objects and the
 * counting script, which the test runs as it is with Debian's psql.
 *
 * Everything here carries the drill's label, is applied by the drill alone and is never a member
 * of the environment's ApplySet; the drill deletes it again whatever happened.
 */
import type { ResolvedEnvironment } from "../model/types.js";
import { DRILL_LABEL, drillName } from "./backups.js";
import { UNSEAL_KEY_SECRET, VAULT_PORT, vaultConfig } from "./components/vault.js";
import type { KubeObject } from "./types.js";
import { IMAGES } from "./versions.js";

/** The database a drill restores, as far as its checks need it. */
export interface DrillSubject {
  /** The live Cluster's name; the restore is `<cluster>-drill`. */
  cluster: string;
  namespace: string;
  /** The application database and its owner, whose Secret (`<cluster>-<owner>`) both sides accept. */
  database: string;
  owner: string;
}

export function drillLabels(env: ResolvedEnvironment, cluster: string): Record<string, string> {
  return {
    "app.kubernetes.io/managed-by": "plinth",
    "plinth.dev/env": env.name,
    [DRILL_LABEL]: cluster,
  };
}

export const countJobName = (s: DrillSubject): string => `${drillName(s)}-counts`;
export const ownerSecret = (s: DrillSubject): string => `${s.cluster}-${s.owner}`;

/** First line of the counting output: which format follows (a newer plinth may change it). */
export const COUNTS_FORMAT = "plinth-drill-counts/v1";

/**
 * One JSON object per table of the connected database: what the owner may read is counted, what
 * it may not is listed with `rows: null`. Ordinary and partition tables (`relkind r`), logged and
 * unlogged (an unlogged table is not in WAL, so a restore has it empty; the verdict knows), never
 * temporary ones or the catalogs. `query_to_xml` runs the per-table count inside this one
 * statement (core PostgreSQL, no function to create on a database under test).
 */
export const COUNT_SQL = [
  "SELECT json_build_object('side', :'side', 'database', current_database(), 'schema', n.nspname,",
  "  'table', c.relname, 'unlogged', c.relpersistence = 'u', 'rows',",
  "  CASE WHEN has_table_privilege(c.oid, 'SELECT') THEN (xpath('/row/n/text()',",
  "    query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint END)",
  "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
  "WHERE c.relkind = 'r' AND c.relpersistence <> 't'",
  "  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_(catalog|toast|temp_)'",
  "ORDER BY n.nspname, c.relname",
].join("\n");

/** Databases to count: every one that takes connections, except the templates. */
export const DATABASES_SQL =
  "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname";

/**
 * The counting Job's script (POSIX sh, psql from the CloudNativePG image). Both sides with the
 * same owner credentials (PGUSER/PGPASSWORD): the restore is the live Cluster's data, so the
 * owner's role and password are in it. Lines are JSON objects; anything else in the log (psql's
 * own errors on stderr) is ignored by the reader. An unreachable side prints `{"side", "error"}`
 * with psql's message stripped to plain characters, and the last line says the output is whole.
 */
export const COUNT_SCRIPT = [
  "set -u",
  `echo '{"format":"${COUNTS_FORMAT}"}'`,
  "side() {",
  "  name=$1 host=$2 port=$3",
  `  if ! dbs=$(psql -h "$host" -p "$port" -X -At -v ON_ERROR_STOP=1 -c "${DATABASES_SQL}" 2>&1); then`,
  "    why=$(printf '%s' \"$dbs\" | head -n 3 | tr -cd '[:alnum:] ._:,()/=-' | cut -c 1-300)",
  '    printf \'{"side":"%s","error":"%s"}\\n\' "$name" "$why"',
  "    return 0",
  "  fi",
  "  printf '%s\\n' \"$dbs\" | while IFS= read -r db; do",
  '    [ -n "$db" ] || continue',
  '    if ! PGDATABASE=$db psql -h "$host" -p "$port" -X -At -v ON_ERROR_STOP=1 -v side="$name" -f /dev/stdin <<\'SQL\'',
  COUNT_SQL,
  "SQL",
  "    then",
  "      why=$(printf '%s' \"$db\" | tr -cd '[:alnum:] ._-')",
  '      printf \'{"side":"%s","database":"%s","error":"not counted: no connection or no CONNECT privilege"}\\n\' "$name" "$why"',
  "    fi",
  "  done",
  '  printf \'{"side":"%s","done":true}\\n\' "$name"',
  "}",
  'side source "$PLINTH_SOURCE_HOST" "$PLINTH_SOURCE_PORT"',
  'side restore "$PLINTH_RESTORE_HOST" "$PLINTH_RESTORE_PORT"',
  "echo '{\"end\":true}'",
  "",
].join("\n");

const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * The Job that counts both sides from inside the cluster (plinth reaches only the API server).
 * Its result is its pod's log, read through the API. No retries: a failed count is the drill's
 * finding. `ttlSecondsAfterFinished` cleans up after a drill that was killed before its own delete.
 */
export function countJob(
  env: ResolvedEnvironment,
  s: DrillSubject,
  o: { deadlineSeconds: number },
): KubeObject {
  const labels = drillLabels(env, s.cluster);
  const fromOwner = (key: string) => ({ secretKeyRef: { name: ownerSecret(s), key } });
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: countJobName(s), namespace: s.namespace, labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: o.deadlineSeconds,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          // The image's postgres user (uid 26 in CloudNativePG's images).
          securityContext: { runAsNonRoot: true, runAsUser: 26, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "count",
              image: IMAGES.postgres,
              command: ["/bin/sh", "-c", COUNT_SCRIPT],
              env: [
                { name: "PGUSER", valueFrom: fromOwner("username") },
                { name: "PGPASSWORD", valueFrom: fromOwner("password") },
                { name: "PGDATABASE", value: s.database },
                { name: "PGSSLMODE", value: "require" },
                { name: "PGCONNECT_TIMEOUT", value: "10" },
                { name: "PLINTH_SOURCE_HOST", value: `${s.cluster}-rw` },
                { name: "PLINTH_SOURCE_PORT", value: "5432" },
                { name: "PLINTH_RESTORE_HOST", value: `${drillName(s)}-rw` },
                { name: "PLINTH_RESTORE_PORT", value: "5432" },
              ],
              resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
              securityContext: restricted,
            },
          ],
        },
      },
    },
  };
}

export const scratchVaultName = (s: DrillSubject): string => `${drillName(s)}-vault`;

/** The Vault engine's binary and environment variable prefix in its image. */
function engine(env: ResolvedEnvironment) {
  return env.vaultEngine === "openbao"
    ? { image: IMAGES.openbao, command: "bao", prefix: "BAO" }
    : { image: IMAGES.vault, command: "vault", prefix: "VAULT" };
}

function imageRef(image: string | { registry?: string; repository: string; tag: string }): string {
  if (typeof image === "string") return image;
  return `${image.registry ? `${image.registry}/` : ""}${image.repository}:${image.tag}`;
}

/**
 * A throw-away Vault on the restored platform database: the live server's own config (the same
 * `storage "postgresql"` stanza, listener, audit device and, with OpenBao's static seal, the seal
 * reading the same key Secret), its connection URL pointed at the `-drill` Cluster. It comes up
 * sealed (Shamir) or unseals itself (static); the drill then unseals it and reads the canary
 * through the API server's service proxy. Three objects: the config, the pod, its Service.
 */
export function scratchVault(env: ResolvedEnvironment, s: DrillSubject): KubeObject[] {
  const name = scratchVaultName(s);
  const labels = drillLabels(env, s.cluster);
  const e = engine(env);
  const podLabels = { ...labels, "plinth.dev/drill-vault": name };
  const staticSeal = env.vaultEngine === "openbao" && env.vaultUnseal === "static";
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: s.namespace, labels },
      // Vault (not OpenBao, which has no mlock) refuses to start without IPC_LOCK unless told
      // not to lock: the scratch server lives minutes and holds one restored key ring.
      data: {
        "config.hcl": `${vaultConfig(env)}${env.vaultEngine === "openbao" ? "" : "disable_mlock = true\n"}`,
      },
    },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: s.namespace, labels: podLabels },
      spec: {
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 100, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "vault",
            image: imageRef(e.image),
            command: [e.command, "server", "-config=/etc/plinth-drill/config.hcl"],
            env: [
              {
                name: "DRILL_PG_PASSWORD",
                valueFrom: { secretKeyRef: { name: ownerSecret(s), key: "password" } },
              },
              {
                // Kubernetes expands $(VAR) from the variables above: the password never sits in the spec.
                name: `${e.prefix}_PG_CONNECTION_URL`,
                value: `postgresql://${s.owner}:$(DRILL_PG_PASSWORD)@${drillName(s)}-rw.${s.namespace}.svc:5432/${s.database}?sslmode=require`,
              },
              // The image's entrypoint is bypassed; these keep it from needing IPC_LOCK or setcap.
              { name: "SKIP_SETCAP", value: "true" },
              ...(staticSeal
                ? [
                    {
                      name: "BAO_STATIC_UNSEAL_KEY",
                      valueFrom: { secretKeyRef: { name: UNSEAL_KEY_SECRET, key: "key" } },
                    },
                  ]
                : []),
            ],
            ports: [{ name: "http", containerPort: VAULT_PORT }],
            volumeMounts: [{ name: "config", mountPath: "/etc/plinth-drill", readOnly: true }],
            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "256Mi" } },
            securityContext: restricted,
          },
        ],
        volumes: [{ name: "config", configMap: { name } }],
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: s.namespace, labels },
      spec: {
        selector: { "plinth.dev/drill-vault": name },
        ports: [{ name: "http", port: VAULT_PORT, targetPort: "http" }],
      },
    },
  ];
}
