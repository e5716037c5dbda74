import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/** Test files that talk to the test bed's services; `TESTBED=off` (unit tests only) leaves them out. */
const NEEDS_TESTBED = [
  "test/testbed/**",
  "test/engine/**",
  "test/state/s3.test.ts",
  "test/state/unlock.test.ts",
];
const offline = process.env.TESTBED === "off";

export default defineConfig({
  // Configs and examples import "plinth"; in tests that is this source tree.
  resolve: { alias: { plinth: fileURLToPath(new URL("./src/index.ts", import.meta.url)) } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", ...(offline ? NEEDS_TESTBED : [])],
    globalSetup: ["test/setup/testbed.ts"],
    testTimeout: 60_000,
    hookTimeout: 600_000,
  },
});
