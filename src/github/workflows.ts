/**
 * The GitHub Actions workflow files `plinth init github` writes, as a pure function of what the
 * config says (environments, clusters, the secrets it names) and a few choices. Plain objects
 * serialised with the `yaml` package, so quoting is never hand-made and a re-run gives the same
 * bytes. Every job gets the least `permissions:` it needs; only jobs that run trusted code (the
 * default branch's workflow, after plinth's own permission check) see a secret.
 */
import { stringify } from "yaml";
import { error, UserError } from "../diagnostics/diagnostic.js";
import { parseCron } from "../util/cron.js";

/**
 * Third-party actions by full commit SHA (a tag can be moved; a commit cannot), the tag in a
 * comment for people and for Dependabot. Both run on node24.
 */
export const PINNED_ACTIONS = Object.freeze({
  checkout: { uses: "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8", tag: "v5.0.0" },
  setupNode: { uses: "actions/setup-node@2028fbc5c25fe9cf00d9f06a71cc4710d4507903", tag: "v6.0.0" },
  // github.com/actions/upload-artifact tag v6.0.0 (2025-12-12), the first on node24.
  uploadArtifact: {
    uses: "actions/upload-artifact@b7c566a772e6b6bfb58ed0dc250532a479d7789f",
    tag: "v6.0.0",
  },
});

/** The autoplan workflow's name: the workflow_run workflow that posts a fork's comment names it. */
export const PULL_REQUEST_WORKFLOW = "plinth: pull request";
/** The artifact a fork's autoplan saves its comment in, and the file in it (src/github/publish.ts). */
export const COMMENT_ARTIFACT = { name: "plinth-comment", file: "plinth-comment.json" } as const;

/** Where the workflows go, relative to the repository root. */
export const WORKFLOW_DIR = ".github/workflows";

export interface WorkflowCluster {
  name: string;
  /** The cluster's kubeconfig, relative to the repository root (POSIX separators). */
  kubeconfig: string;
  /** Where plinth reads the cluster's Vault unseal file, relative to the root; only when an environment on it has Vault. */
  unsealFile?: string;
}

export interface WorkflowEnvironment {
  name: string;
  /** The environment's kind preset (`ci`, `staging`, `prod`...). */
  kind: string;
  cluster: string;
  /** Backed up: the scheduled restore drill runs it, with these variables (drill-workflow.ts). */
  drill?: { variables: string[] };
}

export interface WorkflowOptions {
  /** plinth's action: `owner/name@<40-hex commit>` (pinned), or a local path such as `./`. */
  action: string;
  /** The release the pinned commit is, for the comment beside it (e.g. `v0.1.0`). */
  actionTag?: string;
  /** The config file, relative to the repository root. */
  configPath: string;
  environments: readonly WorkflowEnvironment[];
  clusters: readonly WorkflowCluster[];
  /** Names of the environment variables the live jobs get from secrets of the same name. */
  secretVariables: readonly string[];
  /** Of those, what the state backend needs (S3 credentials): all the close handler gets. */
  stateVariables: readonly string[];
  /** The k3s release the `ci` workflow starts on the runner (e.g. `v1.33.5+k3s1`). */
  k3sVersion?: string;
  /** The pinned k3s installer (catalog/versions.ts K3S_INSTALLER). */
  k3sInstaller: { url: string; sha256: string };
  /** When the drift check runs (cron, UTC). */
  driftCron: string;
  /** The branch merged pull requests land on (the `ci` run on push). */
  defaultBranch: string;
}

export interface WorkflowFile {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

/** A GitHub Actions expression, `${{ e }}`. */
export const expr = (e: string): string => `\${{ ${e} }}`;

const ACTION_REF = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(\/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$/;
const LOCAL_ACTION = /^\.\/[A-Za-z0-9_./-]*$/;
/** GitHub's rule for secret names (and a valid shell variable): no GITHUB_ prefix, no leading digit. */
const SECRET_NAME = /^[A-Z_][A-Z0-9_]*$/;
const K3S_RELEASE = /^v1\.[0-9]+\.[0-9]+\+k3s[0-9]+$/;
const file = (name: string, workflow: Record<string, unknown>) => workflowFile(name, workflow);
const BRANCH = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;

/** Every workflow file, in a fixed order. Throws one UserError listing every bad input. */
export function githubWorkflows(o: WorkflowOptions): WorkflowFile[] {
  checkOptions(o);
  const ci = o.environments.find((e) => e.kind === "ci");
  const files: WorkflowFile[] = [
    file("plinth-pull-request.yml", pullRequestWorkflow(o)),
    file("plinth-pull-request-closed.yml", closedWorkflow(o)),
    file("plinth-pull-request-publish.yml", publishWorkflow(o)),
    file("plinth-comment.yml", commentWorkflow(o)),
    file("plinth-drift.yml", driftWorkflow(o)),
  ];
  if (ci) files.push(file("plinth-ci.yml", ciWorkflow(o, ci)));
  return files;
}

function checkOptions(o: WorkflowOptions): void {
  const problems = [];
  if (!ACTION_REF.test(o.action) && !LOCAL_ACTION.test(o.action)) {
    problems.push(
      error(`${JSON.stringify(o.action)} is not an action pinned by commit`, {
        path: "--action",
        fix: "give owner/name@<the 40-hex commit of plinth's release tag> (git ls-remote https://github.com/OWNER/NAME refs/tags/action-vX.Y.Z), or ./ for the action in this repository",
      }),
    );
  }
  for (const name of [...o.secretVariables, ...o.stateVariables]) {
    if (!SECRET_NAME.test(name) || name.startsWith("GITHUB_")) {
      problems.push(
        error(`${JSON.stringify(name)} cannot be a GitHub Actions secret name`, {
          path: `secret.env(${JSON.stringify(name)})`,
          fix: "use upper-case letters, digits and underscores, not starting with a digit or GITHUB_ (e.g. STAGING_SSH_KEY)",
        }),
      );
    }
  }
  const cron = parseCron(o.driftCron);
  if (typeof cron === "string") {
    problems.push(
      error(`${JSON.stringify(o.driftCron)} ${cron}`, {
        path: "--drift-cron",
        fix: 'give a five-field cron in UTC, e.g. "17 5 * * *" (daily at 05:17)',
      }),
    );
  }
  if (o.k3sVersion !== undefined && !K3S_RELEASE.test(o.k3sVersion)) {
    problems.push(
      error(`${JSON.stringify(o.k3sVersion)} is not a pinned k3s release`, {
        path: "--k3s-version",
        fix: "give one such as v1.33.5+k3s1",
      }),
    );
  }
  if (!BRANCH.test(o.defaultBranch) || o.defaultBranch.includes("..")) {
    problems.push(
      error(`${JSON.stringify(o.defaultBranch)} is not a branch name`, {
        path: "--default-branch",
        fix: "give the branch pull requests merge into, e.g. main",
      }),
    );
  }
  if (o.environments.some((e) => e.kind === "ci") && !o.k3sVersion) {
    problems.push(
      error("the ci environment's workflow needs a pinned k3s release for the runner", {
        path: "--k3s-version",
        fix: "pass --k3s-version v1.33.5+k3s1 (or give one k3s-vps cluster a k3s.version, which is then used)",
      }),
    );
  }
  if (problems.length > 0) throw new UserError(problems);
}

export function workflowFile(name: string, workflow: Record<string, unknown>): WorkflowFile {
  const header = [
    "# Written by `plinth init github`; re-run it after changing environments, clusters or secrets.",
    "# Edits by hand are kept only until the next `plinth init github --force`.",
  ].join("\n");
  return {
    path: `${WORKFLOW_DIR}/${name}`,
    content: `${header}\n${stringify(workflow, { lineWidth: 0, aliasDuplicateObjects: false })}`,
  };
}

export const checkout = (extra: Record<string, unknown> = {}) => ({
  name: `Check out (actions/checkout ${PINNED_ACTIONS.checkout.tag})`,
  uses: PINNED_ACTIONS.checkout.uses,
  // The token stays out of .git/config: the steps after it need no git credentials.
  with: { "persist-credentials": false, ...extra },
});

export const actionName = (o: WorkflowOptions) => (o.actionTag ? `plinth ${o.actionTag}` : "plinth");

/** The secret-holding environment of a live job: every variable from the secret of its name. */
function secretEnv(o: WorkflowOptions): Record<string, string> {
  const names = [...new Set(o.secretVariables)].sort();
  return Object.fromEntries(names.map((n) => [n, expr(`secrets.${n}`)]));
}

export const kubeconfigSecret = (cluster: string) =>
  `PLINTH_KUBECONFIG_${cluster.toUpperCase().replaceAll("-", "_")}`;

/** A step writing files from secrets (folder 0700, file 0600); an unset secret writes nothing. */
function filesFromSecrets(
  name: string,
  files: readonly { secret: string; path: string }[],
): Record<string, unknown> | undefined {
  if (files.length === 0) return undefined;
  return {
    name,
    env: Object.fromEntries(files.map((f) => [f.secret, expr(`secrets.${f.secret}`)])),
    run: [
      "write() {",
      '  [ -n "$1" ] || return 0',
      '  install -d -m 700 "$(dirname "$2")"',
      '  (umask 077 && printf \'%s\\n\' "$1" > "$2")',
      "}",
      ...files.map((f) => `write "$${f.secret}" ${shellQuote(f.path)}`),
    ].join("\n"),
  };
}

/**
 * Kubeconfigs of clusters plinth does not reach over SSH come from secrets (one per cluster,
 * optional: a k3s-vps cluster's is fetched by plinth itself when the secret is unset).
 */
export const kubeconfigStep = (clusters: readonly WorkflowCluster[]) =>
  filesFromSecrets(
    "Kubeconfigs from secrets",
    clusters.map((c) => ({ secret: kubeconfigSecret(c.name), path: c.kubeconfig })),
  );

export const unsealSecret = (cluster: string) =>
  `PLINTH_VAULT_UNSEAL_${cluster.toUpperCase().replaceAll("-", "_")}`;

/**
 * Vault's unseal files from secrets (one per cluster with Vault, optional): a runner starts with
 * none, and plinth's own Vault token is in it with the unseal keys, encrypted to
 * PLINTH_VAULT_PASSPHRASE. Only the live jobs (comment commands, drift) get them, never autoplan.
 */
export const unsealStep = (clusters: readonly WorkflowCluster[]) =>
  filesFromSecrets(
    "Vault unseal files from secrets",
    clusters.flatMap((c) => (c.unsealFile ? [{ secret: unsealSecret(c.name), path: c.unsealFile }] : [])),
  );

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/**
 * Environments whose cluster outlives a workflow run and is reachable from a runner, the ones the
 * drift workflow and `plinth drift` watch: not ci (its cluster exists only inside its own job) and
 * not dev (a developer's laptop).
 */
export const standingKind = (kind: string | undefined): boolean => kind !== "ci" && kind !== "dev";

const standing = (o: WorkflowOptions) => o.environments.filter((e) => standingKind(e.kind));

export const liveClusters = (o: WorkflowOptions): WorkflowCluster[] => {
  const used = new Set(standing(o).map((e) => e.cluster));
  return o.clusters.filter((c) => used.has(c.name));
};

/**
 * Autoplan: `pull_request` (never `pull_request_target`), so the pull request's code runs with a
 * read-only checkout and no secret at all; for a fork GitHub makes the token read-only too.
 */
function pullRequestWorkflow(o: WorkflowOptions): Record<string, unknown> {
  return {
    name: PULL_REQUEST_WORKFLOW,
    on: {
      pull_request: { types: ["opened", "synchronize", "reopened"] },
      pull_request_review: { types: ["submitted", "dismissed"] },
    },
    permissions: {},
    // A newer push supersedes an older autoplan; a review must never cancel one.
    concurrency: {
      group: `plinth-pr-${expr("github.event.pull_request.number")}-${expr("github.event_name")}`,
      "cancel-in-progress": true,
    },
    jobs: {
      autoplan: {
        name: "Plan the desired state (no credentials)",
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 15,
        permissions: { contents: "read", "pull-requests": "write" },
        steps: [
          // Base and head both: the plan compares the environments' desired state between them.
          checkout({ "fetch-depth": 0 }),
          {
            name: actionName(o),
            uses: o.action,
            with: { config: o.configPath, "github-token": expr("github.token") },
          },
          {
            // A fork's token may not comment: plinth saved the comment for the workflow_run job.
            name: `Save the comment for the publish workflow (actions/upload-artifact ${PINNED_ACTIONS.uploadArtifact.tag})`,
            if: `!cancelled() && github.event_name == 'pull_request' && ${FORK_RUN("github.event.pull_request.head.repo.full_name")}`,
            uses: PINNED_ACTIONS.uploadArtifact.uses,
            with: {
              name: COMMENT_ARTIFACT.name,
              path: `${expr("runner.temp")}/${COMMENT_ARTIFACT.name}/${COMMENT_ARTIFACT.file}`,
              "if-no-files-found": "ignore",
              "retention-days": 1,
            },
          },
        ],
      },
    },
  };
}

/** A head repository other than this one: a fork's run. */
const FORK_RUN = (headRepo: string) => `${headRepo} != github.repository`;

/**
 * A fork's comment, posted: `workflow_run` runs the default branch's workflow file when the
 * autoplan run ends, with a token that may write. It checks out nothing of the pull request and
 * runs none of its code (no checkout at all, unless the action itself lives in this repository:
 * then the default branch's); plinth reads the saved comment from the run's artifact as
 * untrusted data and checks its pull request and head commit against GitHub's API.
 */
function publishWorkflow(o: WorkflowOptions): Record<string, unknown> {
  return {
    name: "plinth: pull request comment from a fork",
    on: { workflow_run: { workflows: [PULL_REQUEST_WORKFLOW], types: ["completed"] } },
    permissions: {},
    concurrency: {
      group: `plinth-publish-${expr("github.event.workflow_run.head_repository.full_name")}-${expr("github.event.workflow_run.head_branch")}`,
      "cancel-in-progress": false,
    },
    jobs: {
      publish: {
        name: "Post the fork's plan comment",
        if: `github.event.workflow_run.event == 'pull_request' && ${FORK_RUN("github.event.workflow_run.head_repository.full_name")}`,
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 5,
        permissions: { actions: "read", "pull-requests": "write" },
        steps: [
          ...(LOCAL_ACTION.test(o.action) ? [checkout()] : []),
          {
            name: actionName(o),
            uses: o.action,
            with: { config: o.configPath, "github-token": expr("github.token") },
          },
        ],
      },
    },
  };
}

/**
 * A closed (or merged) pull request gives back the environments it reserved and its stored plans
 * are deleted: that needs the state's credentials. `pull_request_target` runs the default
 * branch's workflow file, and nothing of the pull request is checked out or run: plinth reads
 * the config of the base commit. Only the state's credentials are given, nothing else.
 */
function closedWorkflow(o: WorkflowOptions): Record<string, unknown> {
  const env = Object.fromEntries([...o.stateVariables].sort().map((n) => [n, expr(`secrets.${n}`)]));
  return {
    name: "plinth: pull request closed",
    on: { pull_request_target: { types: ["closed"] } },
    permissions: {},
    concurrency: {
      group: `plinth-pr-${expr("github.event.pull_request.number")}-closed`,
      "cancel-in-progress": false,
    },
    jobs: {
      release: {
        name: "Release what the pull request held",
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 10,
        permissions: { contents: "read", "pull-requests": "write" },
        steps: [
          // The default branch (what pull_request_target checks out), with history for the base commit.
          checkout({ "fetch-depth": 0 }),
          {
            name: actionName(o),
            uses: o.action,
            ...(Object.keys(env).length > 0 ? { env } : {}),
            with: { config: o.configPath, "github-token": expr("github.token") },
          },
        ],
      },
    },
  };
}

/**
 * Comment commands: `issue_comment` runs the default branch's workflow file, so a pull request
 * cannot change what runs here. A first job without any permission reads which environment the
 * command names, for the per-environment concurrency group; the second holds the secrets, and
 * plinth checks the commenter's permission before it evaluates the pull request's config.
 */
function commentWorkflow(o: WorkflowOptions): Record<string, unknown> {
  const envs = o.environments.map((e) => e.name).sort();
  const kubeconfigs = kubeconfigStep(liveClusters(o));
  const unsealFiles = unsealStep(liveClusters(o));
  return {
    name: "plinth: comment",
    on: { issue_comment: { types: ["created"] } },
    permissions: {},
    jobs: {
      route: {
        name: "Which environment",
        // A cheap first sieve (plinth's grammar allows leading blank space); plinth decides the rest.
        if: "github.event.issue.pull_request && contains(github.event.comment.body, '/')",
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 2,
        permissions: {},
        outputs: { group: expr("steps.route.outputs.group") },
        steps: [
          {
            id: "route",
            name: "Read the command's environment",
            // The body is data: it reaches the script only through the environment, never spliced in.
            env: { BODY: expr("github.event.comment.body"), PR: expr("github.event.issue.number") },
            run: [
              `known=" ${envs.join(" ")} "`,
              // The first line that is not blank, as plinth reads it; GitHub's web editor ends
              // lines with CRLF, whose CR would stick to the last word.
              "read -r first second third _ <<< \"$(printf '%s\\n' \"$BODY\" | tr -d '\\r' | awk 'NF { print; exit }')\"",
              'if [ "$first" = "/plinth" ]; then first="/$second"; second="$third"; fi',
              'group="pr-$PR"',
              'case "$first" in',
              "  /apply|/unlock)",
              '    if [[ "$known" == *" $second "* ]]; then group="env-$second"; fi',
              "    ;;",
              "esac",
              'echo "group=$group" >> "$GITHUB_OUTPUT"',
            ].join("\n"),
          },
        ],
      },
      plinth: {
        name: "Run the command",
        needs: "route",
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 60,
        // One apply or unlock per environment at a time (plinth's state lock is the real guard).
        concurrency: { group: `plinth-${expr("needs.route.outputs.group")}`, "cancel-in-progress": false },
        permissions: { contents: "read", "pull-requests": "write", checks: "write" },
        steps: [
          checkout({ "fetch-depth": 0 }),
          ...(kubeconfigs ? [kubeconfigs] : []),
          ...(unsealFiles ? [unsealFiles] : []),
          {
            name: actionName(o),
            uses: o.action,
            env: secretEnv(o),
            with: {
              config: o.configPath,
              "github-token": expr("github.token"),
              "plan-key": expr("secrets.PLINTH_PLAN_KEY"),
            },
          },
        ],
      },
    },
  };
}

/** The scheduled drift check: every environment planned against its cluster, one job each. */
function driftWorkflow(o: WorkflowOptions): Record<string, unknown> {
  const envs = standing(o).map((e) => e.name);
  const kubeconfigs = kubeconfigStep(liveClusters(o));
  const unsealFiles = unsealStep(liveClusters(o));
  return {
    name: "plinth: drift",
    on: {
      schedule: [{ cron: o.driftCron }],
      workflow_dispatch: {},
    },
    permissions: {},
    jobs: {
      drift: {
        name: `Drift of ${expr("matrix.environment")}`,
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 30,
        strategy: { "fail-fast": false, matrix: { environment: envs } },
        // A newer check of the same environment makes an older one pointless.
        concurrency: { group: `plinth-drift-${expr("matrix.environment")}`, "cancel-in-progress": true },
        permissions: { contents: "read", issues: "write" },
        steps: [
          checkout(),
          ...(kubeconfigs ? [kubeconfigs] : []),
          ...(unsealFiles ? [unsealFiles] : []),
          {
            name: actionName(o),
            uses: o.action,
            env: secretEnv(o),
            with: {
              config: o.configPath,
              "github-token": expr("github.token"),
              "plan-key": expr("secrets.PLINTH_PLAN_KEY"),
              environments: expr("matrix.environment"),
            },
          },
        ],
      },
    },
  };
}

/**
 * The blueprint's `ci` environment: k3s on the runner (the pinned installer, its sha256 checked),
 * `plinth apply ci`, and k3s removed again even when apply failed. No secret: the cluster exists
 * only inside this job, so a pull request's config may run here.
 */
function ciWorkflow(o: WorkflowOptions, ci: WorkflowEnvironment): Record<string, unknown> {
  const cluster = o.clusters.find((c) => c.name === ci.cluster);
  const kubeconfig = cluster?.kubeconfig ?? `.plinth/kubeconfig/${ci.cluster}.yaml`;
  return {
    name: `plinth: ${ci.name} environment`,
    on: {
      pull_request: { types: ["opened", "synchronize", "reopened"] },
      push: { branches: [o.defaultBranch] },
      workflow_dispatch: {},
    },
    permissions: {},
    jobs: {
      [ci.name]: {
        name: `plinth apply ${ci.name} on k3s ${o.k3sVersion}`,
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 30,
        concurrency: {
          group: `plinth-${ci.name}-${expr("github.event.pull_request.number || github.ref")}`,
          "cancel-in-progress": true,
        },
        permissions: { contents: "read" },
        steps: [
          checkout(),
          {
            name: `k3s ${o.k3sVersion} (pinned installer, sha256 checked)`,
            env: {
              INSTALLER_URL: o.k3sInstaller.url,
              INSTALLER_SHA256: o.k3sInstaller.sha256,
              K3S_VERSION: o.k3sVersion,
              KUBECONFIG_PATH: kubeconfig,
            },
            run: [
              'curl -fsSL --retry 3 -o "$RUNNER_TEMP/k3s-install.sh" "$INSTALLER_URL"',
              'echo "$INSTALLER_SHA256  $RUNNER_TEMP/k3s-install.sh" | sha256sum -c -',
              'sudo env INSTALL_K3S_VERSION="$K3S_VERSION" sh "$RUNNER_TEMP/k3s-install.sh" --write-kubeconfig-mode 600',
              'install -d -m 700 "$(dirname "$KUBECONFIG_PATH")"',
              'sudo install -m 600 -o "$(id -u)" -g "$(id -g)" /etc/rancher/k3s/k3s.yaml "$KUBECONFIG_PATH"',
              "sudo k3s kubectl wait --for=condition=Ready node --all --timeout=180s",
            ].join("\n"),
          },
          {
            name: `${actionName(o)}: apply ${ci.name}`,
            uses: o.action,
            with: { config: o.configPath, command: `apply ${ci.name} --yes` },
          },
          {
            name: "Remove k3s",
            if: "always()",
            run: "if [ -x /usr/local/bin/k3s-uninstall.sh ]; then sudo /usr/local/bin/k3s-uninstall.sh; fi",
          },
        ],
      },
    },
  };
}
