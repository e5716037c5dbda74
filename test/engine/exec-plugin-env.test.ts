import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { kubeTarget } from "../../src/cli/session.js";
import { AWS_CREDENTIAL_VARIABLES, PLINTH_SECRET_VARIABLES } from "../../src/config/secret-env.js";
import { resolveEnvironment } from "../../src/model/resolve.js";
import { connectTo } from "../../src/providers/kubernetes/connect.js";
import { exampleConfig, tempDir } from "../helpers/config.js";
import { kubeconfig } from "./bed.js";

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, string> }[];
}

/**
 * A kubeconfig for the test bed's API server whose user is an exec plugin: a Node script that
 * writes the environment it was given to a file and hands back the test bed's own client
 * certificate as its ExecCredential, so the request it authenticates really succeeds.
 */
function execPluginKubeconfig(dir: string): { file: string; dump: string } {
  const bed = parse(readFileSync(kubeconfig(), "utf8")) as Kubeconfig;
  const user = bed.users[0]?.user ?? {};
  const pem = (b64: string | undefined) => Buffer.from(b64 ?? "", "base64").toString("utf8");
  const dump = join(dir, "plugin-env.json");
  const plugin = join(dir, "plugin.mjs");
  writeFileSync(
    plugin,
    `import { writeFileSync } from "node:fs";
writeFileSync(${JSON.stringify(dump)}, JSON.stringify(process.env));
process.stdout.write(JSON.stringify({
  apiVersion: "client.authentication.k8s.io/v1",
  kind: "ExecCredential",
  status: ${JSON.stringify({
    clientCertificateData: pem(user["client-certificate-data"]),
    clientKeyData: pem(user["client-key-data"]),
  })},
}));
`,
  );
  const file = join(dir, "kubeconfig.yaml");
  writeFileSync(
    file,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: bed.clusters,
      users: [
        {
          name: "plugin",
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1",
              command: process.execPath,
              args: [plugin],
              env: [{ name: "PLUGIN_OWN_SETTING", value: "kept" }],
              interactiveMode: "Never",
            },
          },
        },
      ],
      contexts: [{ name: "plugin", context: { cluster: bed.clusters[0]?.name, user: "plugin" } }],
      "current-context": "plugin",
    }),
  );
  return { file, dump };
}

describe("kubeconfig exec plugins get no plinth secrets", () => {
  it("the plugin's environment lacks plinth's and the config's secrets, keeps AWS credentials and its own env", async () => {
    const dir = tempDir("plinth-exec-plugin-");
    const { file, dump } = execPluginKubeconfig(dir);
    const config = exampleConfig();
    const env = resolveEnvironment(config, "staging").environment;
    if (!env) throw new Error("the example has a staging environment");
    // The target a live command builds: the config's secret.env names travel with it.
    const target = {
      ...kubeTarget({ loaded: { file: join(dir, "plinth.config.ts"), displayFile: "x", config }, env }),
      kubeconfig: file,
    };
    expect(target.configVariables).toContain("STAGING_SSH_KEY");
    expect(target.configVariables).toContain("SSO_GITHUB_CLIENT_SECRET");

    const hidden = [
      ...PLINTH_SECRET_VARIABLES,
      "STAGING_SSH_KEY",
      "PROD_SSH_KEY",
      "SSO_GITHUB_CLIENT_SECRET",
    ];
    const all = [...hidden, ...AWS_CREDENTIAL_VARIABLES, "PLINTH_TEST_HARMLESS"];
    const saved = Object.fromEntries(all.map((n) => [n, process.env[n]]));
    for (const name of all) process.env[name] = `value-of-${name}`;
    try {
      const { api } = connectTo(target);
      const version = JSON.parse(await api.getText("/version")) as { gitVersion?: string };
      expect(version.gitVersion).toMatch(/^v1\./);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const seen = JSON.parse(readFileSync(dump, "utf8")) as Record<string, string>;
    for (const name of hidden) expect(seen[name], name).toBeUndefined();
    for (const name of AWS_CREDENTIAL_VARIABLES) expect(seen[name]).toBe(`value-of-${name}`);
    expect(seen.PLINTH_TEST_HARMLESS).toBe("value-of-PLINTH_TEST_HARMLESS");
    expect(seen.PLUGIN_OWN_SETTING).toBe("kept");
  });
});
