import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/** Test files that talk to the test bed's services; `TESTBED=off` (unit tests only) leaves them out. */
const NEEDS_TESTBED = [
  "test/testbed/**",
  "test/engine/**",
  "test/ssh/**",
  "test/state/s3.test.ts",
  "test/state/unlock.test.ts",
  "test/state/run-state.test.ts",
  "test/vault/**",
  // actionlint is built by the test bed (ACTIONLINT_BIN)
  "test/github/workflows.test.ts",
  "test/github/drift-bed.test.ts",
  "test/sso/gate.test.ts",
  "test/sso/vault-provider.test.ts",
  "test/github/pull-request.test.ts",
  "test/github/pull-request-vault.test.ts",
  // Barman's cloud commands (BARMAN_BIN) against the test bed's S3
  "test/backups/barman.test.ts",
  "test/backups/apiserver.test.ts",
  "test/backups/drill.test.ts",
  // redis-cli and rclone against the test bed's Redis and S3; the CronJobs on its API server
  "test/backups/dumps.test.ts",
  "test/backups/dumps-recovery.test.ts",
  // Barman, the test bed's S3 and its OpenBao binary
  "test/backups/drill-checks.test.ts",
  "test/backups/drill-canary.test.ts",
  // restore and clone: the API server and S3; Barman and Debian's PostgreSQL
  "test/backups/restore-apiserver.test.ts",
  "test/backups/clone-barman.test.ts",
  // the service proxy of the test bed's API server, and its OpenBao
  "test/owners/**",
];
/**
 * Outside test/engine but converging cluster-wide objects (kube-system HelmCharts, the
 * ClusterIssuer) on the same API server: run one file at a time with the engine tests.
 */
const SHARED_CLUSTER_OBJECTS = [
  "test/ssh/bootstrap.test.ts",
  "test/github/drift-bed.test.ts",
  "test/github/pull-request.test.ts",
  "test/github/pull-request-vault.test.ts",
];
const offline = process.env.TESTBED === "off";
const alias = { plinth: fileURLToPath(new URL("./src/index.ts", import.meta.url)) };
const exclude = ["**/node_modules/**", ...(offline ? NEEDS_TESTBED : [])];

export default defineConfig({
  test: {
    globalSetup: ["test/setup/testbed.ts"],
    projects: [
      {
        // Configs and examples import "plinth"; in tests that is this source tree.
        resolve: { alias },
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...exclude, "test/engine/**", ...SHARED_CLUSTER_OBJECTS],
          testTimeout: 60_000,
          hookTimeout: 600_000,
        },
      },
      {
        resolve: { alias },
        // Engine tests converge whole environments on one shared API server: one file at a time.
        test: {
          name: "engine",
          include: ["test/engine/**/*.test.ts", ...SHARED_CLUSTER_OBJECTS],
          exclude,
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
