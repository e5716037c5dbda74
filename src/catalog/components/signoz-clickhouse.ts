import type { ResolvedEnvironment } from "../../model/types.js";
import type { DumpTarget } from "../backup-jobs.js";
import { labels, namespaceOf, retainedDataClaim } from "../objects.js";
import type { KubeObject, SecretSpec } from "../types.js";
import { IMAGES, SIGNOZ_HISTOGRAM_QUANTILE } from "../versions.js";

/**
 * SigNoz's ClickHouse, rendered by plinth instead of SigNoz's ClickHouse subchart: that subchart
 * (clickhouse 24.1.18 in SigNoz chart 0.130.1) always brings its own Altinity operator 0.21.2 and
 * CRDs, so plinth turns it off (`clickhouse.enabled`, the subchart's condition in Chart.yaml) and
 * gives SigNoz a ClickHouseInstallation and a ClickHouseKeeperInstallation in SigNoz's namespace,
 * reconciled by plinth's one operator per cluster. What SigNoz needs from an external ClickHouse
 * (signoz.io/docs/operate/clickhouse/external-clickhouse): a cluster named `cluster` (its
 * migrations name it), a ZooKeeper-protocol coordinator for the replicated tables and
 * `ON CLUSTER` DDL, a user that may create databases, plain TCP, and the histogramQuantile UDF.
 */

/** SigNoz's namespace (`observability`, per environment where the cluster has several). */
export function signozNamespace(env: ResolvedEnvironment): string {
  return namespaceOf(env, "signoz", "observability");
}

/** The cluster name SigNoz's migrator and collector run their DDL on (hard-coded on SigNoz's side). */
export const SIGNOZ_CH_CLUSTER = "cluster";
/** One name for both installations: the operator names their Services `clickhouse-signoz`, `keeper-signoz`. */
const INSTALLATION = "signoz";
/** The operator's Service for an installation is `clickhouse-{name}` (pkg/model/chi/namer, 0.25.0). */
export const SIGNOZ_CH_HOST = `clickhouse-${INSTALLATION}`;
/** ...and `keeper-{name}` for a Keeper installation (pkg/model/chk/namer/patterns.go, 0.25.0). */
export const SIGNOZ_KEEPER_HOST = `keeper-${INSTALLATION}`;
export const SIGNOZ_CH_USER = "signoz";
/** The password Secret in SigNoz's namespace: the operator reads it for the user, SigNoz's pods for their env. */
export const SIGNOZ_CH_SECRET = "signoz-clickhouse";
export const SIGNOZ_CH_PASSWORD_KEY = "password";
const FUNCTIONS_CONFIGMAP = "signoz-clickhouse-functions";
const USER_SCRIPTS = "/var/lib/clickhouse/user_scripts";
const FUNCTIONS_DIR = "/etc/clickhouse-server/functions";

/** The chart's private ranges for its ClickHouse user (clickhouse.allowedNetworkIps, SigNoz chart 0.130.1). */
const ALLOWED_NETWORKS = [
  "10.0.0.0/8",
  "100.64.0.0/10",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "198.18.0.0/15",
  "192.168.0.0/16",
];

/**
 * The function SigNoz's query builder calls for histogram quantiles: the subchart's own
 * `custom-functions.xml` (charts/clickhouse/templates/clickhouse-instance/configmap.yaml).
 */
const CUSTOM_FUNCTIONS = `<functions>
    <function>
        <type>executable</type>
        <name>histogramQuantile</name>
        <return_type>Float64</return_type>
        <argument><type>Array(Float64)</type><name>buckets</name></argument>
        <argument><type>Array(Float64)</type><name>counts</name></argument>
        <argument><type>Float64</type><name>quantile</name></argument>
        <format>CSV</format>
        <command>./histogramQuantile</command>
    </function>
</functions>
`;

/**
 * The UDF's binary, fetched as SigNoz's chart does (its init container downloads the release asset
 * into user_scripts), but refused unless the archive has the pinned digest: the URL is a release
 * asset, not a commit.
 */
export function udfInstallScript(): string {
  const { sha256 } = SIGNOZ_HISTOGRAM_QUANTILE;
  return [
    "set -eu",
    `case "$(uname -m)" in`,
    `  x86_64|amd64) url="${SIGNOZ_HISTOGRAM_QUANTILE.url("amd64")}"; sum="${sha256.amd64}" ;;`,
    `  aarch64|arm64) url="${SIGNOZ_HISTOGRAM_QUANTILE.url("arm64")}"; sum="${sha256.arm64}" ;;`,
    `  *) echo "histogramQuantile: no pinned build for $(uname -m)" >&2; exit 1 ;;`,
    "esac",
    "cd /tmp",
    `wget -q -O histogram-quantile.tar.gz "$url"`,
    `echo "$sum  histogram-quantile.tar.gz" | sha256sum -c -`,
    "tar -xzf histogram-quantile.tar.gz",
    "chmod +x histogram-quantile",
    `mv histogram-quantile ${USER_SCRIPTS}/histogramQuantile`,
    "",
  ].join("\n");
}

/** The password SigNoz logs in with, generated per environment (Vault or a plain Secret, as every secret). */
export function signozClickhouseSecret(namespace: string): SecretSpec {
  return {
    name: SIGNOZ_CH_SECRET,
    namespace,
    keys: { [SIGNOZ_CH_PASSWORD_KEY]: { length: 32, alphabet: "alphanumeric" } },
    consumers: ["signoz"],
  };
}

/** The chart's `externalClickhouse` block pointing at the installation below (keys of values.yaml at 1ef0ffb). */
export function externalClickhouseValues(): Record<string, unknown> {
  return {
    host: SIGNOZ_CH_HOST,
    cluster: SIGNOZ_CH_CLUSTER,
    user: SIGNOZ_CH_USER,
    // The chart then reads the password from this Secret (secretKeyRef), never from values.
    existingSecret: SIGNOZ_CH_SECRET,
    existingSecretPasswordKey: SIGNOZ_CH_PASSWORD_KEY,
    // SigNoz does not support TLS to ClickHouse (its external-ClickHouse docs); in-cluster only.
    secure: false,
    verify: false,
    httpPort: 8123,
    tcpPort: 9000,
  };
}

function keeper(env: ResolvedEnvironment, namespace: string): KubeObject {
  return {
    apiVersion: "clickhouse-keeper.altinity.com/v1",
    kind: "ClickHouseKeeperInstallation",
    metadata: { name: INSTALLATION, namespace, labels: labels(env, "signoz") },
    spec: {
      defaults: { templates: { podTemplate: "keeper", dataVolumeClaimTemplate: "data" } },
      configuration: { clusters: [{ name: "keeper", layout: { replicasCount: 1 } }] },
      templates: {
        podTemplates: [
          {
            name: "keeper",
            spec: {
              securityContext: { fsGroup: 101 },
              containers: [
                {
                  name: "clickhouse-keeper",
                  image: IMAGES.signozKeeper,
                  // What the chart's ZooKeeper asked for (clickhouse.zookeeper.resources).
                  resources: { requests: { memory: "256Mi", cpu: "100m" } },
                },
              ],
            },
          },
        ],
        // The replicated tables' metadata lives here: losing it makes them read-only. The size is
        // the chart's ZooKeeper volume (clickhouse.zookeeper.persistence.size).
        volumeClaimTemplates: [retainedDataClaim("8Gi")],
      },
    },
  };
}

function installation(env: ResolvedEnvironment, namespace: string): KubeObject {
  return {
    apiVersion: "clickhouse.altinity.com/v1",
    kind: "ClickHouseInstallation",
    metadata: { name: INSTALLATION, namespace, labels: labels(env, "signoz") },
    spec: {
      defaults: { templates: { podTemplate: "clickhouse", dataVolumeClaimTemplate: "data" } },
      configuration: {
        zookeeper: { nodes: [{ host: SIGNOZ_KEEPER_HOST, port: 2181 }] },
        users: {
          [`${SIGNOZ_CH_USER}/k8s_secret_password`]: `${namespace}/${SIGNOZ_CH_SECRET}/${SIGNOZ_CH_PASSWORD_KEY}`,
          [`${SIGNOZ_CH_USER}/networks/ip`]: ALLOWED_NETWORKS,
          [`${SIGNOZ_CH_USER}/profile`]: "default",
          [`${SIGNOZ_CH_USER}/quota`]: "default",
        },
        // The chart's defaultProfiles ("DO NOT override"), for the profile SigNoz's user runs in.
        profiles: {
          "default/allow_experimental_window_functions": "1",
          "default/allow_nondeterministic_mutations": "1",
          "default/secondary_indices_enable_bulk_filtering": "0",
          "default/query_plan_max_limit_for_lazy_materialization": "0",
        },
        // The chart's defaultSettings: where the UDF's binary and its declaration are found.
        settings: {
          format_schema_path: "/etc/clickhouse-server/config.d/",
          user_scripts_path: `${USER_SCRIPTS}/`,
          user_defined_executable_functions_config: `${FUNCTIONS_DIR}/custom-functions.xml`,
        },
        clusters: [{ name: SIGNOZ_CH_CLUSTER, layout: { shardsCount: 1, replicasCount: 1 } }],
      },
      templates: {
        podTemplates: [
          {
            name: "clickhouse",
            spec: {
              securityContext: {
                runAsUser: 101,
                runAsGroup: 101,
                fsGroup: 101,
                fsGroupChangePolicy: "OnRootMismatch",
              },
              volumes: [
                { name: "user-scripts", emptyDir: {} },
                { name: "custom-functions", configMap: { name: FUNCTIONS_CONFIGMAP } },
              ],
              initContainers: [
                {
                  name: "histogram-quantile",
                  // The server image has wget and sha256sum (SigNoz's compose file uses it alike).
                  image: IMAGES.signozClickhouse,
                  command: ["sh", "-c", udfInstallScript()],
                  volumeMounts: [{ name: "user-scripts", mountPath: USER_SCRIPTS }],
                },
              ],
              containers: [
                {
                  name: "clickhouse",
                  image: IMAGES.signozClickhouse,
                  volumeMounts: [
                    { name: "user-scripts", mountPath: USER_SCRIPTS },
                    { name: "custom-functions", mountPath: FUNCTIONS_DIR },
                  ],
                  // The chart's clickhouse.resources (requests only, no limit).
                  resources: { requests: { memory: "200Mi", cpu: "100m" } },
                },
              ],
            },
          },
        ],
        volumeClaimTemplates: [retainedDataClaim(env.storage.signoz)],
      },
    },
  };
}

/** With backups, ClickHouse's own BACKUP of SigNoz's databases (traces, logs, metrics) to the bucket. */
export function signozDumpTarget(env: ResolvedEnvironment): DumpTarget | undefined {
  if (!env.backups) return undefined;
  return {
    component: "signoz",
    kind: "clickhouse",
    name: "signoz-clickhouse",
    namespace: signozNamespace(env),
    host: SIGNOZ_CH_HOST,
    port: 9000,
    user: SIGNOZ_CH_USER,
    password: { secret: SIGNOZ_CH_SECRET, key: SIGNOZ_CH_PASSWORD_KEY },
    image: IMAGES.signozClickhouse,
    backups: env.backups,
  };
}

/** Keeper first, then the ConfigMap the server mounts, then the server that needs both. */
export function signozClickhouseObjects(env: ResolvedEnvironment, namespace: string): KubeObject[] {
  return [
    keeper(env, namespace),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: FUNCTIONS_CONFIGMAP, namespace, labels: labels(env, "signoz") },
      data: { "custom-functions.xml": CUSTOM_FUNCTIONS },
    },
    installation(env, namespace),
  ];
}
