/**
 * The objects of `plinth restore` and `plinth data clone`: a new generation of a database's
 * CloudNativePG Cluster (`<name>-r<stamp>`) bootstrapped by recovery from an ObjectStore through
 * the Barman Cloud plugin (CloudNativePG restores only into a new Cluster), and for a clone the
 * scrub Job that runs the config's SQL in it before any consumer is pointed at it. Pure: the
 * command (apply/restore.ts) applies, waits, switches and removes.
 */
import type { ResolvedBackups, RestorableDatabase } from "../model/backups.js";
import type { ResolvedEnvironment } from "../model/types.js";
import { BARMAN_PLUGIN, barmanConfiguration, CHECKSUM_ENV } from "./backups.js";
import { platformPostgresOptions } from "./components/platform-postgres.js";
import { businessPostgresOptions } from "./components/postgres.js";
import { ownerSecretName, type PostgresClusterOptions, postgresCluster } from "./postgres-cluster.js";
import type { KubeObject } from "./types.js";
import { IMAGES } from "./versions.js";

/**
 * Marks what a restore or clone created (its value: the database restored). The new Cluster keeps
 * it (it names the restore that made it); the transient objects carry it so only they are removed.
 */
export const RESTORE_LABEL = "plinth.dev/restore";
/** The field manager of the restore's own fields (the recovery bootstrap), apart from plinth's. */
export const RESTORE_FIELD_MANAGER = "plinth-restore";

/** The Cluster options of a restorable database as `env` renders it (its active generation). */
export function databaseOptions(
  env: ResolvedEnvironment,
  component: RestorableDatabase,
): PostgresClusterOptions {
  return component === "postgres" ? businessPostgresOptions(env) : platformPostgresOptions(env);
}

/** Where a restore reads from: an ObjectStore in the target's namespace and the server folder in it. */
export interface RestoreSource {
  /** The environment whose backups these are. */
  env: string;
  /** Barman's server name: the source Cluster's name, its folder under the source's prefix. */
  server: string;
  /** The ObjectStore naming the source's bucket folder (the live one's, or a transient one). */
  objectStore: string;
  /** A named base backup (Barman's backup id), else the latest. */
  backupId?: string;
  /** A point in time (RFC 3339), else the end of the archived WAL. */
  targetTime?: string;
}

const EXTERNAL = "origin";

/**
 * The new generation's Cluster as the restore creates it: exactly what plinth renders for that
 * generation (so the switch's apply adopts it unchanged and the next plan is at zero), plus the
 * recovery bootstrap and its source, which are read once at creation and owned by the restore's
 * field manager. It archives to its own server folder (its own name), never the source's.
 */
export function restoreCluster(
  next: ResolvedEnvironment,
  component: RestorableDatabase,
  source: RestoreSource,
): KubeObject {
  const o = databaseOptions(next, component);
  const rendered = postgresCluster(next, o);
  const spec = rendered.spec as Record<string, unknown>;
  const recoveryTarget = {
    ...(source.backupId ? { backupID: source.backupId } : {}),
    ...(source.targetTime ? { targetTime: source.targetTime } : {}),
  };
  return {
    ...rendered,
    metadata: { ...rendered.metadata, labels: { ...rendered.metadata.labels, [RESTORE_LABEL]: component } },
    spec: {
      ...spec,
      bootstrap: {
        recovery: {
          source: EXTERNAL,
          database: o.database,
          owner: o.owner,
          secret: { name: ownerSecretName(o) },
          ...(Object.keys(recoveryTarget).length ? { recoveryTarget } : {}),
        },
      },
      externalClusters: [
        {
          name: EXTERNAL,
          plugin: {
            name: BARMAN_PLUGIN,
            parameters: { barmanObjectName: source.objectStore, serverName: source.server },
          },
        },
      ],
      // The source's roles come with its data: the owner's password is reset from this
      // environment's own Secret by CloudNativePG's role management before anything connects.
      managed: {
        roles: [
          {
            name: o.owner,
            ensure: "present",
            login: true,
            ...(o.ownerCreatesRoles ? { createrole: true } : {}),
            passwordSecret: { name: ownerSecretName(o) },
          },
        ],
      },
    },
  };
}

export const sourceObjectStoreName = (next: string): string => `${next}-source`;
export const sourceCredentialsName = (next: string): string => `${next}-source-credentials`;

/**
 * Another environment's backups as a source (`--from prod`, `data clone prod staging`): a
 * transient ObjectStore in the target's namespace naming the source's folder, read with the
 * source's token (a Secret beside it, removed with it). The plugin only reads through it.
 */
export function sourceObjectStore(
  target: { namespace: string; next: string; component: RestorableDatabase },
  sourceBackups: ResolvedBackups,
  sourceServer: string,
): KubeObject {
  const configuration = barmanConfiguration(sourceBackups, {
    cluster: sourceServer,
    namespace: target.namespace,
    component: target.component,
  });
  const secret = sourceCredentialsName(target.next);
  return {
    apiVersion: "barmancloud.cnpg.io/v1",
    kind: "ObjectStore",
    metadata: {
      name: sourceObjectStoreName(target.next),
      namespace: target.namespace,
      labels: { "app.kubernetes.io/managed-by": "plinth", [RESTORE_LABEL]: target.component },
    },
    spec: {
      configuration: {
        ...configuration,
        s3Credentials: {
          accessKeyId: { ...configuration.s3Credentials.accessKeyId, name: secret },
          secretAccessKey: { ...configuration.s3Credentials.secretAccessKey, name: secret },
          region: { ...configuration.s3Credentials.region, name: secret },
        },
      },
      instanceSidecarConfiguration: {
        env: Object.entries(CHECKSUM_ENV).map(([name, value]) => ({ name, value })),
      },
    },
  };
}

/** The source token's Secret: values from the operator's environment, never rendered or logged. */
export function sourceCredentials(
  target: { namespace: string; next: string; component: RestorableDatabase },
  sourceBackups: ResolvedBackups,
  values: { accessKeyId: string; secretAccessKey: string },
): KubeObject & { stringData: Record<string, string> } {
  const { s3Credentials } = barmanConfiguration(sourceBackups, {
    cluster: target.next,
    namespace: target.namespace,
    component: target.component,
  });
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: sourceCredentialsName(target.next),
      namespace: target.namespace,
      labels: { "app.kubernetes.io/managed-by": "plinth", [RESTORE_LABEL]: target.component },
    },
    stringData: {
      [s3Credentials.accessKeyId.key]: values.accessKeyId,
      [s3Credentials.secretAccessKey.key]: values.secretAccessKey,
      [s3Credentials.region.key]: sourceBackups.region,
    },
  };
}

/**
 * The SQL a clone runs in the restored copy, as its owner, in one transaction: first every other
 * login role of the source is made unable to log in (their passwords are the source's), then the
 * config's statements. Any error rolls all of it back and fails the clone.
 */
export function scrubScript(statements: readonly string[], o: { source: string; target: string }): string {
  const lock = `DO $plinth$
DECLARE r record;
BEGIN
  FOR r IN SELECT rolname FROM pg_roles
           WHERE rolcanlogin AND NOT rolsuper
             AND rolname NOT IN (current_user, 'postgres', 'streaming_replica')
  LOOP
    EXECUTE format('ALTER ROLE %I NOLOGIN', r.rolname);
  END LOOP;
END
$plinth$;`;
  const body = statements.map((s) => (/;\s*$/.test(s) ? s.trim() : `${s.trim()};`));
  return [
    `-- plinth data clone ${o.source} ${o.target}: run once in the copy before anything connects`,
    lock,
    ...body,
    "",
  ].join("\n");
}

export const scrubName = (next: string): string => `${next}-scrub`;

/** psql as the scrub Job runs it: the whole file in one transaction, stopping at the first error. */
export const SCRUB_PSQL_ARGS = ["-X", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f"] as const;

/**
 * The scrub: a ConfigMap with the script and a Job that runs it as the database's owner (this
 * environment's password: it connects only once CloudNativePG has reset it, retrying until then)
 * against the new generation's own Service, which no consumer uses before the switch.
 */
export function scrubObjects(
  next: ResolvedEnvironment,
  component: RestorableDatabase,
  script: string,
): [KubeObject, KubeObject] {
  const o = databaseOptions(next, component);
  const name = scrubName(o.name);
  const labels = { "app.kubernetes.io/managed-by": "plinth", [RESTORE_LABEL]: component };
  const secret = ownerSecretName(o);
  const fromSecret = (key: string) => ({ valueFrom: { secretKeyRef: { name: secret, key } } });
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: o.namespace, labels },
      data: { "scrub.sql": script },
    } as KubeObject,
    {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, namespace: o.namespace, labels },
      spec: {
        // Each try waits for the owner's password to be this environment's (about 10 s apart).
        backoffLimit: 12,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: "Never",
            securityContext: { runAsNonRoot: true, runAsUser: 26, runAsGroup: 26 },
            containers: [
              {
                name: "scrub",
                image: IMAGES.postgres,
                command: ["psql", ...SCRUB_PSQL_ARGS, "/scrub/scrub.sql"],
                env: [
                  { name: "PGHOST", value: `${o.name}-rw.${o.namespace}.svc` },
                  { name: "PGDATABASE", value: o.database },
                  { name: "PGUSER", ...fromSecret("username") },
                  { name: "PGPASSWORD", ...fromSecret("password") },
                  { name: "PGSSLMODE", value: "require" },
                ],
                volumeMounts: [{ name: "scrub", mountPath: "/scrub", readOnly: true }],
                resources: { requests: { memory: "64Mi", cpu: "50m" }, limits: { memory: "128Mi" } },
              },
            ],
            volumes: [{ name: "scrub", configMap: { name } }],
          },
        },
      },
    } as KubeObject,
  ];
}
