import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { backedUpDatabases } from "../../catalog/backup-targets.js";
import { usesVault } from "../../catalog/vault-layout.js";
import { K3S_INSTALLER } from "../../catalog/versions.js";
import type { Config } from "../../config/schema.js";
import {
  AWS_CREDENTIAL_VARIABLES,
  PLINTH_SECRET_VARIABLES,
  referencedVariables,
} from "../../config/secret-env.js";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { drillWorkflowFile } from "../../github/drill-workflow.js";
import {
  githubWorkflows,
  kubeconfigSecret,
  liveClusters,
  standingKind,
  unsealSecret,
  type WorkflowFile,
  type WorkflowOptions,
} from "../../github/workflows.js";
import { environmentKind, mergeSettings, resolveCluster, resolveEnvironment } from "../../model/resolve.js";
import { unsealFilePath } from "../../providers/vault/unseal-file.js";
import { defineCommand } from "../command.js";
import { loadFromArgs } from "../load.js";

const TARGETS = ["github"] as const;

export const init = defineCommand({
  name: "init",
  summary: "Write the GitHub Actions workflows for pull requests, comments, drift and ci",
  usage:
    "plinth init github --action OWNER/NAME@SHA [--force] [--k3s-version V] [--drift-cron CRON] [--default-branch main]",
  options: {
    action: { type: "string" },
    force: { type: "boolean" },
    "k3s-version": { type: "string" },
    "drift-cron": { type: "string" },
    "default-branch": { type: "string" },
  },
  positionals: ["target"],
  async handler(args, ctx) {
    const target = args.positionals[0];
    if (target !== "github") {
      throw new UserError(
        error(target ? `cannot initialise ${JSON.stringify(target)}` : "needs what to initialise", {
          path: "plinth init",
          fix: `run plinth init ${TARGETS.join("|")}`,
        }),
      );
    }
    const loaded = await loadFromArgs(args, ctx);
    const root = repositoryRoot(dirname(loaded.file));
    const options = workflowOptions(loaded.config, {
      root,
      configFile: loaded.file,
      action: args.values.action ?? "",
      k3sVersion: args.values["k3s-version"],
      driftCron: args.values["drift-cron"] ?? "17 5 * * *",
      defaultBranch: args.values["default-branch"] ?? "main",
    });
    const drill = drillWorkflowFile(options);
    const files = [...githubWorkflows(options), ...(drill ? [drill] : [])];
    const written = writeWorkflows(root, files, args.values.force === true);
    for (const f of files) {
      ctx.stdout(`${written.includes(f.path) ? "wrote    " : "unchanged"} ${f.path}\n`);
    }
    ctx.stdout(`Repository secrets these workflows read (unset ones are empty):\n${secretList(options)}`);
    if ((loaded.config.state?.backend ?? "local") === "local") {
      // A runner's disk is gone when its job ends: stored plans and locks must outlive it.
      ctx.stderr(
        `warning: ${loaded.displayFile}: state: the local state backend keeps plans and locks on the runner, lost when the job ends; /apply needs the plan /plan stored (fix: set state: { backend: "s3", ... })\n`,
      );
    }
    return 0;
  },
});

/** The folder holding `.git` above the config, else the config's own folder. */
function repositoryRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".git"))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

const posix = (path: string) => path.split(sep).join("/");

/**
 * What the scheduled restore drill of an environment with backups needs: the bucket's token, the
 * cluster's own access secrets, and the Vault passphrase where its Vault is checked.
 */
function drillVariables(config: Config, name: string): string[] | undefined {
  const env = resolveEnvironment(config, name).environment;
  const db = env ? backedUpDatabases(env)[0] : undefined;
  if (!env || !db) return undefined;
  return [
    db.backups.accessKeyIdVariable,
    db.backups.secretAccessKeyVariable,
    ...referencedVariables(config.clusters[env.cluster.name]),
    ...(usesVault(env) ? ["PLINTH_VAULT_PASSPHRASE"] : []),
  ];
}

/** What the workflows need from the config: environments, clusters and the secrets it names. */
export function workflowOptions(
  config: Config,
  o: {
    root: string;
    configFile: string;
    action: string;
    k3sVersion: string | undefined;
    driftCron: string;
    defaultBranch: string;
  },
): WorkflowOptions {
  const configDir = dirname(o.configFile);
  const environments = Object.keys(config.environments)
    .sort()
    .map((name) => {
      const kind = environmentKind(config, name) ?? name;
      const drill = standingKind(kind) ? drillVariables(config, name) : undefined;
      return {
        name,
        kind,
        cluster: mergeSettings(config.defaults ?? {}, config.environments[name] ?? {}).cluster ?? name,
        ...(drill ? { drill: { variables: drill } } : {}),
      };
    });
  // Clusters whose Vault plinth unseals and configures: a runner needs the unseal file.
  const vaultClusters = new Set(
    Object.keys(config.environments).flatMap((name) => {
      const env = resolveEnvironment(config, name).environment;
      return env && usesVault(env) ? [env.cluster.name] : [];
    }),
  );
  const clusters = Object.keys(config.clusters)
    .sort()
    .map((name) => {
      const kubeconfig = resolveCluster(config, name).kubeconfig;
      const absolute = isAbsolute(kubeconfig) ? kubeconfig : resolve(configDir, kubeconfig);
      return {
        name,
        kubeconfig: posix(relative(o.root, absolute)),
        ...(vaultClusters.has(name)
          ? { unsealFile: posix(relative(o.root, unsealFilePath(configDir, name))) }
          : {}),
      };
    });
  // Long-lived keys as secrets; a session token expires before any workflow would use it.
  const stateVariables =
    config.state?.backend === "s3" ? AWS_CREDENTIAL_VARIABLES.filter((v) => v !== "AWS_SESSION_TOKEN") : [];
  const secretVariables = [
    ...PLINTH_SECRET_VARIABLES.filter((v) => v !== "PLINTH_PLAN_KEY"),
    ...stateVariables,
    ...referencedVariables(config),
  ];
  const k3sVersion = o.k3sVersion ?? Object.values(config.clusters).find((c) => c.k3s?.version)?.k3s?.version;
  if (!o.action) {
    throw new UserError(
      error("needs plinth's action pinned by commit", {
        path: "plinth init github --action",
        fix: "pass --action OWNER/NAME@<40-hex commit of the release tag> (git ls-remote https://github.com/OWNER/NAME refs/tags/action-vX.Y.Z), or --action ./ where this repository holds the action",
      }),
    );
  }
  return {
    action: o.action,
    configPath: posix(relative(o.root, o.configFile)),
    environments,
    clusters,
    secretVariables,
    stateVariables,
    ...(k3sVersion ? { k3sVersion } : {}),
    k3sInstaller: K3S_INSTALLER,
    driftCron: o.driftCron,
    defaultBranch: o.defaultBranch,
  };
}

/**
 * Writes every file that differs, after checking them all: a file that exists with other content
 * stops the whole run (nothing written) unless `force`. Returns the paths written.
 */
export function writeWorkflows(root: string, files: readonly WorkflowFile[], force: boolean): string[] {
  const differing = files.filter((f) => {
    const path = join(root, f.path);
    return !existsSync(path) || readFileSync(path, "utf8") !== f.content;
  });
  const clobbered = differing.filter((f) => existsSync(join(root, f.path)));
  if (clobbered.length > 0 && !force) {
    throw new UserError(
      clobbered.map((f) =>
        error("exists with other content", {
          file: f.path,
          fix: "compare it with what plinth writes, then run plinth init github --force to replace it (or move it away)",
        }),
      ),
    );
  }
  for (const f of differing) {
    const path = join(root, f.path);
    mkdirSync(dirname(path), { recursive: true });
    // Whole or not at all: a half-written workflow would run on the next event.
    const temporary = `${path}.plinth-${process.pid}`;
    writeFileSync(temporary, f.content);
    renameSync(temporary, path);
  }
  return differing.map((f) => f.path);
}

/** Each secret's name and what it is for, one a line. */
function secretList(o: WorkflowOptions): string {
  const lines = [
    ["PLINTH_PLAN_KEY", "signs and checks stored plans: openssl rand -hex 32"],
    ...[...new Set(o.secretVariables)]
      .sort()
      .map((n) => [n, "passed to plinth as the variable of that name"]),
    ...liveClusters(o).map((c) => [
      kubeconfigSecret(c.name),
      `optional: the kubeconfig written to ${c.kubeconfig}`,
    ]),
    ...liveClusters(o).flatMap((c) =>
      c.unsealFile
        ? [
            [
              unsealSecret(c.name),
              `optional: Vault's unseal file (plinth's own token in it), written to ${c.unsealFile}; read with PLINTH_VAULT_PASSPHRASE`,
            ],
          ]
        : [],
    ),
  ];
  return lines.map(([name, why]) => `  ${name}: ${why}\n`).join("");
}
