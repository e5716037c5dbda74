/**
 * Every chart and image plinth deploys, pinned in one place so that an upgrade is one reviewed
 * line and what prod runs was first run by staging. Never `latest`.
 */
export const CHARTS = Object.freeze({
  certManager: { repo: "https://charts.jetstack.io", chart: "cert-manager", version: "v1.21.2" },
  cloudnativePg: {
    repo: "https://cloudnative-pg.github.io/charts",
    chart: "cloudnative-pg",
    version: "0.28.1",
  },
  vault: { repo: "https://helm.releases.hashicorp.com", chart: "vault", version: "0.34.0" },
  openbao: { repo: "https://openbao.github.io/openbao-helm", chart: "openbao", version: "0.29.0" },
  // Serves Vault and OpenBao alike: it only logs in (kubernetes auth) and reads KV v2.
  vaultSecretsOperator: {
    repo: "https://helm.releases.hashicorp.com",
    chart: "vault-secrets-operator",
    version: "1.4.1",
  },
  headlamp: { repo: "https://kubernetes-sigs.github.io/headlamp/", chart: "headlamp", version: "0.39.0" },
  // The chart's source moved into the operator's own repository (charts/redis-operator); its release
  // job packages it there and publishes it to this same index (chart-releaser into the helm-charts
  // repository's releases and gh-pages index) and to oci://ghcr.io/ot-container-kit/charts.
  redisOperator: {
    repo: "https://ot-container-kit.github.io/helm-charts/",
    chart: "redis-operator",
    version: "0.26.0",
  },
  kubeArangodb: {
    // kube-arangodb publishes its chart as a release archive, not a chart repository.
    repo: undefined,
    chart: "https://github.com/arangodb/kube-arangodb/releases/download/1.4.0/kube-arangodb-1.4.0.tgz",
    version: "1.4.0",
  },
  clickhouseOperator: {
    repo: "https://helm.altinity.com",
    chart: "altinity-clickhouse-operator",
    version: "0.25.0",
  },
  // 0.130.0 was never released (it exists only on an unmerged release branch; the index at
  // charts.signoz.io goes from 0.129.0 to 0.130.1).
  signoz: { repo: "https://charts.signoz.io", chart: "signoz", version: "0.130.1" },
  backstage: { repo: "https://backstage.github.io/charts", chart: "backstage", version: "2.8.0" },
} as const);

export const IMAGES = Object.freeze({
  postgres: "ghcr.io/cloudnative-pg/postgresql:17.6",
  vault: { repository: "hashicorp/vault", tag: "1.21.4" },
  openbao: { registry: "quay.io", repository: "openbao/openbao", tag: "2.6.1" },
  redis: "quay.io/opstree/redis:v7.0.15",
  redisExporter: "quay.io/opstree/redis-exporter:v1.44.0",
  arangodb: "arangodb/arangodb:3.12.4",
  clickhouse: "clickhouse/clickhouse-server:25.8",
  // SigNoz's own ClickHouse (plinth's ClickHouseInstallation in its namespace): the version SigNoz
  // chart 0.130.1 runs (clickhouse.image.tag, charts/signoz/values.yaml at SigNoz/charts 1ef0ffb),
  // with a Keeper of the same release in place of the chart's ZooKeeper.
  signozClickhouse: "clickhouse/clickhouse-server:25.5.6",
  signozKeeper: "clickhouse/clickhouse-keeper:25.5.6",
  openpanel: {
    api: "lindesvard/openpanel-api:2.0.0",
    dashboard: "lindesvard/openpanel-dashboard:2.0.0",
    worker: "lindesvard/openpanel-worker:2.0.0",
  },
  kuberoOperator: "ghcr.io/kubero-dev/kubero-operator:v0.2.1",
  kubero: "ghcr.io/kubero-dev/kubero/kubero:v3.0.0",
  // The operator manifest names gcr.io/kubebuilder/kube-rbac-proxy, which can no longer be pulled.
  kubeRbacProxy: "quay.io/brancz/kube-rbac-proxy:v0.19.1",
  // The Backstage chart's default image tag is `latest`: its image is pinned here instead.
  backstage: { registry: "ghcr.io", repository: "backstage/backstage", tag: "1.53.1" },
  // The SSO gate: the project's own image (no Bitnami); the test bed builds the same version from Go.
  oauth2Proxy: "quay.io/oauth2-proxy/oauth2-proxy:v7.15.6",
  // The Barman Cloud plugin's operator and the sidecar it adds to PostgreSQL pods (release v0.15.0).
  barmanCloudPlugin: "ghcr.io/cloudnative-pg/plugin-barman-cloud:v0.15.0",
  barmanCloudSidecar: "ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar:v0.15.0",
  // Uploads the dumps of ArangoDB and Redis and applies retention to every dump folder (Redis,
  // ArangoDB, ClickHouse): rclone's official image at release v1.60.1, the same release as
  // Debian 12's rclone package (1.60.1+dfsg), which test/backups/dumps.test.ts runs with the
  // exact script and environment the CronJob gets.
  rclone: "rclone/rclone:1.60.1",
} as const);

/**
 * Downloads that run with power (a manifest applied as cluster-admin, an installer run as root)
 * are pinned by an immutable commit URL and the sha256 of the exact bytes served there, so a moved
 * branch or a tampered mirror is refused instead of applied. Bumping one: take the file at a new
 * commit (`git show <commit>:<path> | sha256sum`, the bytes raw.githubusercontent.com serves).
 */
export interface PinnedDownload {
  readonly url: string;
  readonly sha256: string;
}

/** Kubero's operator ships as a manifest: the release v0.2.1 commit (tag v0.2.1) of kubero-operator. */
export const KUBERO_OPERATOR_MANIFEST: PinnedDownload = Object.freeze({
  url: "https://raw.githubusercontent.com/kubero-dev/kubero-operator/6dda0835d6e7d2bfd9d77ecc6412e13929f85138/deploy/operator.0.2.1.yaml",
  sha256: "7908df4d0a4d6c2230bd7a8ee834134adc46b7010e4a1eb80301a1d235522a9e",
});

/**
 * The k3s installer (what https://get.k3s.io serves, but at a fixed commit of k3s-io/k3s; the
 * digest is the one k3s itself commits beside it in install.sh.sha256sum at that commit, which its
 * build checks). It installs whichever pinned k3s version it is given (INSTALL_K3S_VERSION).
 */
export const K3S_INSTALLER: PinnedDownload = Object.freeze({
  url: "https://raw.githubusercontent.com/k3s-io/k3s/019b0afdd830e36f5e4b7a5b237e6a4339e6a6be/install.sh",
  sha256: "68ae766b4c4fd2c8032f712cdd346c8f9d1ae60eaeb4736a1155effda44ea23d",
});

/**
 * CloudNativePG's Barman Cloud plugin (backups), v0.15.0: needs CNPG 1.26+ (plinth runs 1.28) and
 * cert-manager. The file is the manifest.yaml committed at the v0.15.0 tag, the same bytes as in
 * the Go module proxy's checksum-verified zip of that version (its sha256 taken from there). That
 * copy names the project's `-testing:main` images, which the release job swaps for the tagged ones
 * (`task manifest`): plinth swaps them the same way (see catalog/backups.ts), so what runs is the
 * release. The tag URL is fine: a moved tag serves other bytes and is refused by the digest.
 */
export const BARMAN_CLOUD_PLUGIN_MANIFEST: PinnedDownload = Object.freeze({
  url: "https://raw.githubusercontent.com/cloudnative-pg/plugin-barman-cloud/v0.15.0/manifest.yaml",
  sha256: "a1d8c5315be2fb87d2bfebbdfd32507edba55a837e5c24a4158c5839014525e8",
});

/**
 * SigNoz's `histogramQuantile` user-defined function: the release asset SigNoz's chart and compose
 * files download into ClickHouse's user_scripts (`histogram-quantile/v0.0.1`, per architecture).
 * The release URL is not a commit, so the init container checks each archive's sha256 and refuses
 * another. The digests are those of upstream's checksum manifest for the release
 * (`histogram-quantile_0.0.1_checksums.txt`), as two independent public sources quote it (an install
 * script that pins them, and a deployment guide that downloaded the assets and compared); this
 * machine cannot reach GitHub's release downloads to recompute them.
 */
export const SIGNOZ_HISTOGRAM_QUANTILE = Object.freeze({
  version: "v0.0.1",
  url: (arch: "amd64" | "arm64"): string =>
    `https://github.com/SigNoz/signoz/releases/download/histogram-quantile%2Fv0.0.1/histogram-quantile_linux_${arch}.tar.gz`,
  sha256: Object.freeze({
    amd64: "33997073eb6d82b7be4f27f9fc8ec9e28a395e0f20674d5d54bb2fa28a75488d",
    arm64: "e5605ebffa82a450ebbcdf6cf19dad546e1e40d52dbf3e03cfd2d2d5b7394211",
  }),
});
