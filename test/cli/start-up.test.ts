// What bin/plinth does to start faster must not change what it says: its settings are checked to
// take effect, and the built CLI's offline output is compared with the source tree's, run
// in-process without them. `npm test` builds dist/ first.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cli, EXAMPLE_PATH, projectWithConfig } from "../helpers/config.js";

const BIN = fileURLToPath(new URL("../../bin/plinth", import.meta.url));

const ENVIRONMENTS = ["dev", "ci", "test", "staging", "prod"];

describe("bin/plinth's start-up settings", () => {
  it("zod reads its settings from the global bin/plinth sets (so its schemas are built jitless)", () => {
    const r = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `globalThis.__zod_globalConfig = { jitless: true };
         const { config } = await import("zod");
         process.stdout.write(JSON.stringify(config()));`,
      ],
      { encoding: "utf8" },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ jitless: true });
  });

  it.each(ENVIRONMENTS)(
    "plan %s --offline: the built CLI prints byte for byte what the source tree does",
    async (env) => {
      for (const extra of [[], ["--json"]]) {
        const argv = ["plan", env, "--offline", ...extra, "--config", EXAMPLE_PATH];
        const built = spawnSync(BIN, argv, { encoding: "utf8" });
        const source = await cli(argv, process.cwd());
        expect(built.status, built.stderr).toBe(source.code);
        expect(built.stdout).toBe(source.stdout);
        expect(built.stderr).toBe(source.stderr);
      }
    },
  );

  it("a config with mistakes: the same diagnostics, in the same order, exit 2", async () => {
    const dir = projectWithConfig(`import { defineConfig } from "plinth";
export default defineConfig({
  project: "Acme Corp",
  defaults: { baseDomain: 42, internalDomain: "example.org" },
  clusters: { bed: { type: "existing", extra: 1 } },
  environments: {
    staging: { kind: "stagin", cluster: "bed", components: { kubero: { enabled: "no" }, nope: {} } },
  },
} as never);
`);
    const built = spawnSync(BIN, ["validate"], { cwd: dir, encoding: "utf8" });
    const source = await cli(["validate"], dir);
    expect(built.status).toBe(2);
    expect(source.code).toBe(2);
    expect(built.stderr).toBe(source.stderr);
    expect(built.stderr.split("\n").filter((l) => l.startsWith("error:")).length).toBeGreaterThan(3);
  });
});
