import { join } from "node:path";
import { pinnedVersion } from "../kube/layout.js";
import { goBuild, goBuilt } from "../lib/gobuild.js";
import type { Service, TestbedContext } from "../lib/service.js";

const moduleDir = "testbed/go/oauth2-proxy";
const upstream = "github.com/oauth2-proxy/oauth2-proxy/v7";

/** Upstream's release build stamps its version the same way (its Makefile's -ldflags). */
function build(ctx: TestbedContext) {
  const version = pinnedVersion(ctx.root, moduleDir, upstream);
  return {
    moduleDir,
    packages: [upstream],
    ldflags: `-s -w -X ${upstream}/pkg/version.VERSION=${version}`,
  };
}

async function binary(ctx: TestbedContext): Promise<string> {
  return join(await goBuild(ctx, build(ctx)), "oauth2-proxy");
}

/**
 * OAuth2-Proxy v7.15.6, the gate plinth's `sso` component deploys, built from its Go module
 * (pinned in testbed/go/oauth2-proxy/go.mod by a `tool` directive). Not a daemon: each SSO test
 * starts its own instances (with the configuration plinth renders, and restarts them), so this
 * "service" only builds it and exports its path (OAUTH2_PROXY_BIN); "running" means built.
 */
const oauth2Proxy: Service = {
  name: "oauth2-proxy",
  async build(ctx) {
    await binary(ctx);
  },
  async running(ctx) {
    // Built or not, without building: `status` must answer in a second.
    return (await goBuilt(ctx, build(ctx))) !== undefined;
  },
  async start(ctx) {
    return { OAUTH2_PROXY_BIN: await binary(ctx) };
  },
  async env(ctx) {
    return { OAUTH2_PROXY_BIN: await binary(ctx) };
  },
  async stop() {
    // Nothing runs: the built binary stays cached in .testbed/bin.
  },
};

export default oauth2Proxy;
