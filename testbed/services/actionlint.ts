import { existsSync } from "node:fs";
import { join } from "node:path";
import { goBuilt } from "../lib/gobuild.js";
import { goBuild } from "../lib/proc.js";
import type { Service, TestbedContext } from "../lib/service.js";

/**
 * actionlint v1.7.12, the GitHub Actions workflow checker, built from its Go module (pinned in
 * testbed/go/actionlint/go.mod by a `tool` directive). Not a daemon: a tool the tests run on the
 * workflows `plinth init github` writes and on action.yml. It is a "service" so that `up` and the
 * tests' global setup build it and export its path like every other binary (ACTIONLINT_BIN);
 * "running" means built. Debian's shellcheck (a prerequisite) lets it check `run:` scripts too.
 */
const build = {
  moduleDir: "testbed/go/actionlint",
  packages: ["github.com/rhysd/actionlint/cmd/actionlint"],
};

async function binary(ctx: TestbedContext): Promise<string> {
  return join(await goBuild(ctx, build), "actionlint");
}

const actionlint: Service = {
  name: "actionlint",
  async build(ctx) {
    await binary(ctx);
  },
  async running(ctx) {
    // Asking must not build: `status` and `up`'s check stay quick.
    const dir = await goBuilt(ctx, build);
    return dir !== undefined && existsSync(join(dir, "actionlint"));
  },
  async start(ctx) {
    return { ACTIONLINT_BIN: await binary(ctx) };
  },
  async env(ctx) {
    return { ACTIONLINT_BIN: await binary(ctx) };
  },
  async stop() {
    // Nothing runs: the built binary stays cached in .testbed/bin.
  },
};

export default actionlint;
