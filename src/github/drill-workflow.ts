/**
 * The scheduled restore drill `plinth init github` writes for environments with backups: weekly,
 * `plinth restore-drill <env>` one environment at a time (a drill restores next to the live
 * databases, and one VPS has room for one restore), each under the environment's lock (the
 * command takes it). The job gets only what the drill needs: the state backend's credentials,
 * the backup bucket's token (the RPO is read from the bucket), the cluster's own access secrets,
 * and for a cluster with Vault its unseal file and PLINTH_VAULT_PASSPHRASE (the scratch Vault is
 * unsealed with it). No PLINTH_PLAN_KEY, no Cloudflare token, no GitHub write permission.
 */
import {
  actionName,
  checkout,
  expr,
  kubeconfigStep,
  unsealStep,
  type WorkflowEnvironment,
  type WorkflowFile,
  type WorkflowOptions,
  workflowFile,
} from "./workflows.js";

/** Sundays at 04:41 UTC: after a nightly base backup (the default schedule is 03:00), off the hour. */
export const DRILL_CRON = "41 4 * * 0";

export const DRILL_WORKFLOW = "plinth-restore-drill.yml";

/** The workflow, or none when no environment the runner can reach has backups. */
export function drillWorkflowFile(o: WorkflowOptions): WorkflowFile | undefined {
  const envs = o.environments.filter((e): e is WorkflowEnvironment & { drill: { variables: string[] } } =>
    Boolean(e.drill),
  );
  if (envs.length === 0) return undefined;
  const used = new Set(envs.map((e) => e.cluster));
  const clusters = o.clusters.filter((c) => used.has(c.name));
  const kubeconfigs = kubeconfigStep(clusters);
  const unsealFiles = unsealStep(clusters);
  // Per environment, only its own variables: an expression picks them by the matrix entry.
  const variables = [...new Set([...o.stateVariables, ...envs.flatMap((e) => e.drill.variables)])].sort();
  const env = Object.fromEntries(
    variables.map((name) => {
      const users = envs.filter((e) => e.drill.variables.includes(name)).map((e) => e.name);
      const everyone = o.stateVariables.includes(name) || users.length === envs.length;
      const condition = users.map((u) => `matrix.environment == '${u}'`).join(" || ");
      return [name, everyone ? expr(`secrets.${name}`) : expr(`(${condition}) && secrets.${name} || ''`)];
    }),
  );
  return workflowFile(DRILL_WORKFLOW, {
    name: "plinth: restore drill",
    on: { schedule: [{ cron: DRILL_CRON }], workflow_dispatch: {} },
    permissions: {},
    jobs: {
      drill: {
        name: `Restore drill of ${expr("matrix.environment")}`,
        "runs-on": "ubuntu-latest",
        // Each database may take the drill's 30-minute restore timeout, plus its checks.
        "timeout-minutes": 180,
        strategy: { "fail-fast": false, "max-parallel": 1, matrix: { environment: envs.map((e) => e.name) } },
        // Never cancelled half way: the drill removes what it created at its end.
        concurrency: {
          group: `plinth-restore-drill-${expr("matrix.environment")}`,
          "cancel-in-progress": false,
        },
        permissions: { contents: "read" },
        steps: [
          checkout(),
          ...(kubeconfigs ? [kubeconfigs] : []),
          ...(unsealFiles ? [unsealFiles] : []),
          {
            name: actionName(o),
            uses: o.action,
            env,
            with: {
              config: o.configPath,
              command: `restore-drill ${expr("matrix.environment")}`,
            },
          },
        ],
      },
    },
  });
}
