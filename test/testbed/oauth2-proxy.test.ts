/**
 * Smoke tests of the test bed's OAuth2-Proxy build: the binary built from the pinned Go module
 * reports the pinned version, and asking whether it is built never starts a build.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { pinnedVersion } from "../../testbed/kube/layout.js";
import { createContext } from "../../testbed/lib/context.js";
import { goBuilt } from "../../testbed/lib/gobuild.js";
import oauth2Proxy from "../../testbed/services/oauth2-proxy.js";
import { root, testbedEnv } from "./env.js";

const run = promisify(execFile);
const moduleDir = "testbed/go/oauth2-proxy";

describe("oauth2-proxy (test bed build)", () => {
  it("is the pinned v7.15.6, stamped with its version as upstream's release build is", async () => {
    const pinned = pinnedVersion(root, moduleDir, "github.com/oauth2-proxy/oauth2-proxy/v7");
    expect(pinned).toBe("v7.15.6");
    const { stdout } = await run(testbedEnv("OAUTH2_PROXY_BIN"), ["--version"]);
    expect(stdout).toMatch(/^oauth2-proxy v7\.15\.6 \(built with go/);
  });

  it("answers `running` from the cache without building", async () => {
    const ctx = createContext(root, () => {});
    expect(await oauth2Proxy.running(ctx)).toBe(true);
    expect(dirname(testbedEnv("OAUTH2_PROXY_BIN"))).toMatch(/\.testbed\/bin\/oauth2-proxy-[0-9a-f]{16}$/);
    // Another key (here: other ldflags) names a directory that was never built: no build starts.
    const started = Date.now();
    const other = await goBuilt(ctx, {
      moduleDir,
      packages: ["github.com/oauth2-proxy/oauth2-proxy/v7"],
      ldflags: `-X main.unbuilt=${randomBytes(4).toString("hex")}`,
    });
    expect(other).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
