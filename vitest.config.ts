import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Configs and examples import "plinth"; in tests that is this source tree.
  resolve: { alias: { plinth: fileURLToPath(new URL("./src/index.ts", import.meta.url)) } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/setup/testbed.ts"],
    testTimeout: 60_000,
    hookTimeout: 600_000,
  },
});
