import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { AWS_CREDENTIAL_VARIABLES, PLINTH_SECRET_VARIABLES } from "../../src/config/secret-env.js";
import { tempDir } from "../helpers/config.js";

/** This process's child processes running the esbuild binary, by pid (Linux /proc). */
function esbuildChildren(): string[] {
  return readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing paren.
        const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
        return ppid === String(process.pid) && stat.includes("(esbuild)");
      } catch {
        return false; // exited while listed
      }
    });
}

function environOf(pid: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

describe("esbuild's service process gets no secrets", () => {
  it("is started without plinth's, cloud or the config's secret variables, which plinth itself keeps", async () => {
    const secrets = [...PLINTH_SECRET_VARIABLES, ...AWS_CREDENTIAL_VARIABLES, "STAGING_SSH_KEY"];
    const saved = Object.fromEntries(secrets.map((n) => [n, process.env[n]]));
    for (const name of secrets) process.env[name] = `secret-value-of-${name}`;
    const before = new Set(esbuildChildren());
    try {
      const dir = tempDir("plinth-esbuild-env-");
      writeFileSync(
        join(dir, "plinth.config.ts"),
        `import { defineConfig, secret } from "plinth";
export default defineConfig({
  project: "envcheck",
  clusters: { c: { type: "k3s-vps", vps: { host: "203.0.113.9", sshKey: secret.env("STAGING_SSH_KEY"), memory: "16Gi", cores: 8 } } },
  environments: { staging: { cluster: "c" } },
});
`,
      );
      expect((await loadConfig({ cwd: dir })).config.project).toBe("envcheck");
      const started = esbuildChildren().filter((pid) => !before.has(pid));
      expect(started).toHaveLength(1);
      const env = environOf(started[0] as string);
      for (const name of secrets) expect(env[name], name).toBeUndefined();
      expect(JSON.stringify(env)).not.toContain("secret-value-of-");
      expect(env.PATH).toBe(process.env.PATH);
      // Taken away for the spawn only: plinth's own process still has every one.
      for (const name of secrets) expect(process.env[name]).toBe(`secret-value-of-${name}`);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
