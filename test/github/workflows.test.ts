/**
 * `plinth init github`: the workflow files it writes, checked by the real actionlint (built from
 * its Go module by the test bed, ACTIONLINT_BIN, with shellcheck for the `run:` scripts), and its
 * refusal to overwrite, `--force` and byte-identical re-runs. The action's metadata (action.yml)
 * is linted with them: the workflows use the action as `./`, so actionlint reads action.yml,
 * checks the release tree's `runs.main` exists and every `with:` key against its inputs.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { expr } from "../../src/github/workflows.js";
import { unsealFilePath } from "../../src/providers/vault/unseal-file.js";
import { cli, EXAMPLE_PATH, projectWithConfig } from "../helpers/config.js";
import { root, testbedEnv } from "../testbed/env.js";

const run = promisify(execFile);
const EXAMPLE = readFileSync(EXAMPLE_PATH, "utf8");
const PINNED = "acme/plinth@0123456789abcdef0123456789abcdef01234567";
const FILES = [
  "plinth-pull-request.yml",
  "plinth-pull-request-closed.yml",
  "plinth-pull-request-publish.yml",
  "plinth-comment.yml",
  "plinth-drift.yml",
  "plinth-ci.yml",
];

/** actionlint's verdict on the repository at `cwd` (it finds .github/workflows itself). */
async function actionlint(cwd: string, ...files: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(testbedEnv("ACTIONLINT_BIN"), ["-oneline", "-no-color", ...files], { cwd });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, out: `${x.stdout ?? ""}${x.stderr ?? ""}` };
  }
}

/** A git repository with the example config and plinth's action at its root (action.yml + bundle). */
function repository(): string {
  const dir = projectWithConfig(EXAMPLE);
  mkdirSync(join(dir, ".git"));
  cpSync(join(root, "action.yml"), join(dir, "action.yml"));
  const main = (parse(readFileSync(join(root, "action.yml"), "utf8")) as { runs: { main: string } }).runs
    .main;
  cpSync(join(root, main), join(dir, main));
  return dir;
}

const workflow = (dir: string, name: string) =>
  parse(readFileSync(join(dir, ".github/workflows", name), "utf8")) as {
    on: Record<string, unknown>;
    permissions: Record<string, string>;
    jobs: Record<string, { permissions: Record<string, string>; steps: { uses?: string; env?: object }[] }>;
  };

beforeAll(() => {
  if (!existsSync(join(root, "dist/bundle/action.js"))) {
    throw new Error("dist/bundle/action.js is missing: run npm run build first");
  }
});

describe("plinth init github writes workflows that actionlint passes", () => {
  it("with the action in the repository (./): workflows and action.yml pass, inputs checked", async () => {
    const dir = repository();
    const r = await cli(["init", "github", "--action", "./"], dir);
    expect(r.code, r.stderr).toBe(0);
    for (const f of FILES) expect(r.stdout).toContain(`wrote     .github/workflows/${f}`);
    const lint = await actionlint(dir);
    expect(lint.out).toBe("");
    expect(lint.code).toBe(0);

    // The check has teeth: an input action.yml does not declare is an error.
    const path = join(dir, ".github/workflows/plinth-drift.yml");
    writeFileSync(path, readFileSync(path, "utf8").replace("plan-key:", "plan-keys:"));
    const bad = await actionlint(dir);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/plinth-drift\.yml:\d+:\d+: input "plan-keys" is not defined in action "plinth"/);
  });

  it("with the action pinned by commit; plinth's own release workflow", async () => {
    const dir = repository();
    const r = await cli(["init", "github", "--action", PINNED], dir);
    expect(r.code, r.stderr).toBe(0);
    // The secrets to set, by name; and the local state a runner would lose is pointed out.
    expect(r.stdout).toContain("  PLINTH_PLAN_KEY: signs and checks stored plans: openssl rand -hex 32\n");
    expect(r.stdout).toContain("  STAGING_SSH_KEY: passed to plinth as the variable of that name\n");
    expect(r.stdout).toContain(
      "  PLINTH_KUBECONFIG_STAGING: optional: the kubeconfig written to .plinth/kubeconfig/staging.yaml\n",
    );
    expect(r.stdout).not.toContain("PLINTH_KUBECONFIG_CI");
    expect(r.stderr).toContain(
      "warning: plinth.config.ts: state: the local state backend keeps plans and locks on the runner",
    );
    const lint = await actionlint(dir);
    expect(lint.out).toBe("");
    const own = await actionlint(root, ".github/workflows/release-action.yml");
    expect(own.out).toBe("");
    expect(own.code).toBe(0);
  });

  it("least permissions: no secret reaches the pull request's code; every action pinned", async () => {
    const dir = repository();
    expect((await cli(["init", "github", "--action", PINNED], dir)).code).toBe(0);
    const pr = readFileSync(join(dir, ".github/workflows/plinth-pull-request.yml"), "utf8");
    expect(pr).not.toMatch(/\$\{\{[^}]*secrets\./);
    expect(pr).not.toMatch(/pull_request_target/);
    const ci = readFileSync(join(dir, ".github/workflows/plinth-ci.yml"), "utf8");
    expect(ci).not.toMatch(/\$\{\{[^}]*secrets\./);

    for (const f of FILES) {
      const w = workflow(dir, f);
      // Nothing by default at the top; each job names what it needs.
      expect(w.permissions).toEqual({});
      for (const job of Object.values(w.jobs)) {
        expect(job.permissions).toBeDefined();
        for (const step of job.steps) {
          if (step.uses && !step.uses.startsWith("./")) expect(step.uses).toMatch(/@[0-9a-f]{40}$/);
        }
      }
    }
    expect(workflow(dir, "plinth-pull-request.yml").jobs.autoplan?.permissions).toEqual({
      contents: "read",
      "pull-requests": "write",
    });
    const comment = workflow(dir, "plinth-comment.yml");
    expect(comment.jobs.route?.permissions).toEqual({});
    expect(comment.jobs.plinth?.permissions).toEqual({
      contents: "read",
      "pull-requests": "write",
      checks: "write",
    });
    expect(workflow(dir, "plinth-drift.yml").jobs.drift?.permissions).toEqual({
      contents: "read",
      issues: "write",
    });
    // The secrets the config names (secret.env) reach the live jobs, with the plan key.
    const live = readFileSync(join(dir, ".github/workflows/plinth-comment.yml"), "utf8");
    for (const name of ["STAGING_SSH_KEY", "PROD_SSH_KEY", "PLINTH_PLAN_KEY", "CLOUDFLARE_API_TOKEN"]) {
      expect(live).toContain(`secrets.${name} }}`);
    }
    const drift = readFileSync(join(dir, ".github/workflows/plinth-drift.yml"), "utf8");
    expect(drift).toContain("secrets.PLINTH_PLAN_KEY }}");
    // Drift covers the standing environments: not ci (its cluster lives in its own job) nor dev.
    expect(
      (workflow(dir, "plinth-drift.yml").jobs.drift as unknown as { strategy: unknown }).strategy,
    ).toEqual({
      "fail-fast": false,
      matrix: { environment: ["prod", "staging", "test"] },
    });
  });
});

describe("the close handler", () => {
  it("runs the default branch's workflow (pull_request_target) with the state's credentials only, checking out nothing of the pull request", async () => {
    const dir = projectWithConfig(
      EXAMPLE.replace(
        "  environments: {\n",
        '  state: { backend: "s3", endpoint: "https://s3.example.com", bucket: "plinth-state" },\n  environments: {\n',
      ),
    );
    mkdirSync(join(dir, ".git"));
    expect((await cli(["init", "github", "--action", PINNED], dir)).code).toBe(0);
    const closed = workflow(dir, "plinth-pull-request-closed.yml");
    expect(closed.on).toEqual({ pull_request_target: { types: ["closed"] } });
    const [checkoutStep, plinthStep] = closed.jobs.release?.steps ?? [];
    // No ref: actions/checkout takes the default branch under pull_request_target.
    expect(checkoutStep).toMatchObject({ with: { "persist-credentials": false, "fetch-depth": 0 } });
    expect(JSON.stringify(checkoutStep)).not.toMatch(/ref|head/);
    expect(plinthStep?.env).toEqual({
      AWS_ACCESS_KEY_ID: `\${{ secrets.AWS_ACCESS_KEY_ID }}`,
      AWS_SECRET_ACCESS_KEY: `\${{ secrets.AWS_SECRET_ACCESS_KEY }}`,
    });
    expect(closed.jobs.release?.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    // The live jobs get the state's credentials too; the autoplan still none.
    expect(readFileSync(join(dir, ".github/workflows/plinth-comment.yml"), "utf8")).toContain(
      "secrets.AWS_SECRET_ACCESS_KEY }}",
    );
    expect(readFileSync(join(dir, ".github/workflows/plinth-pull-request.yml"), "utf8")).not.toMatch(
      /\$\{\{[^}]*secrets\./,
    );
    expect(await actionlint(dir)).toEqual({ code: 0, out: "" });
  });
});

describe("a fork's comment: saved by the autoplan run, posted by workflow_run", () => {
  it("the publish job runs the default branch's file with no secret and checks out nothing of the pull request", async () => {
    const dir = repository();
    expect((await cli(["init", "github", "--action", PINNED], dir)).code).toBe(0);
    const publish = workflow(dir, "plinth-pull-request-publish.yml");
    expect(publish.on).toEqual({
      workflow_run: { workflows: ["plinth: pull request"], types: ["completed"] },
    });
    const job = publish.jobs.publish as unknown as {
      if: string;
      permissions: Record<string, string>;
      steps: { uses?: string; with?: Record<string, string> }[];
    };
    expect(job.permissions).toEqual({ actions: "read", "pull-requests": "write" });
    expect(job.if).toBe(
      "github.event.workflow_run.event == 'pull_request' && github.event.workflow_run.head_repository.full_name != github.repository",
    );
    // One step, plinth's pinned action: no checkout at all, so nothing of the fork is on disk.
    expect(job.steps.map((s) => s.uses)).toEqual([PINNED]);
    const text = readFileSync(join(dir, ".github/workflows/plinth-pull-request-publish.yml"), "utf8");
    expect(text).not.toMatch(/\$\{\{[^}]*secrets\.|head_sha|checkout/);
    // The autoplan uploads the saved comment only on a fork's pull_request run, even a failed one.
    const upload = workflow(dir, "plinth-pull-request.yml").jobs.autoplan?.steps.at(-1) as {
      if: string;
      uses: string;
      with: Record<string, unknown>;
    };
    expect(upload.uses).toBe("actions/upload-artifact@b7c566a772e6b6bfb58ed0dc250532a479d7789f");
    expect(upload.if).toBe(
      "!cancelled() && github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name != github.repository",
    );
    expect(upload.with).toEqual({
      name: "plinth-comment",
      path: `\${{ runner.temp }}/plinth-comment/plinth-comment.json`,
      "if-no-files-found": "ignore",
      "retention-days": 1,
    });
    expect(await actionlint(dir)).toEqual({ code: 0, out: "" });
    // With the action in this repository, the publish job checks out the default branch only.
    const local = repository();
    expect((await cli(["init", "github", "--action", "./"], local)).code).toBe(0);
    const steps = workflow(local, "plinth-pull-request-publish.yml").jobs.publish?.steps ?? [];
    expect(steps.map((s) => s.uses)).toEqual([
      expect.stringMatching(/^actions\/checkout@[0-9a-f]{40}$/),
      "./",
    ]);
    expect(JSON.stringify(steps[0])).not.toMatch(/ref|head/);
    expect(await actionlint(local)).toEqual({ code: 0, out: "" });
  });
});

describe("a config in a subfolder of the repository", () => {
  it("workflows at the repository's root, paths relative to it", async () => {
    const dir = repository();
    mkdirSync(join(dir, "infra"));
    cpSync(join(dir, "plinth.config.ts"), join(dir, "infra/plinth.config.ts"));
    rmSync(join(dir, "plinth.config.ts"));
    const r = await cli(["init", "github", "--action", "./"], join(dir, "infra"));
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, ".github/workflows/plinth-ci.yml"))).toBe(true);
    expect(existsSync(join(dir, "infra/.github"))).toBe(false);
    const ci = readFileSync(join(dir, ".github/workflows/plinth-ci.yml"), "utf8");
    expect(ci).toContain("config: infra/plinth.config.ts");
    expect(ci).toContain("KUBECONFIG_PATH: infra/.plinth/kubeconfig/ci.yaml");
    expect(await actionlint(dir)).toEqual({ code: 0, out: "" });
  });
});

describe("the comment workflow's route job (its bash, run for real)", () => {
  it("names the environment of /apply and /unlock for the concurrency group; anything else is per pull request", async () => {
    const dir = repository();
    expect((await cli(["init", "github", "--action", PINNED], dir)).code).toBe(0);
    const comment = parse(readFileSync(join(dir, ".github/workflows/plinth-comment.yml"), "utf8")) as {
      jobs: { route: { steps: { run: string }[] } };
    };
    const script = comment.jobs.route.steps[0]?.run ?? "";
    const canary = join(dir, "canary");
    const group = async (body: string) => {
      const output = join(dir, "github-output");
      writeFileSync(output, "");
      await run("bash", ["-e", "-c", script], {
        env: { PATH: "/usr/bin:/bin", BODY: body, PR: "7", GITHUB_OUTPUT: output },
      });
      return readFileSync(output, "utf8");
    };
    expect(await group("/apply staging")).toBe("group=env-staging\n");
    expect(await group("\r\n  \r\n/plinth unlock prod\r\nthanks")).toBe("group=env-prod\n");
    expect(await group("/apply nowhere")).toBe("group=pr-7\n");
    expect(await group("/plan staging prod")).toBe("group=pr-7\n");
    expect(await group("looks good to me")).toBe("group=pr-7\n");
    // The body is data: nothing in it runs.
    expect(await group(`/apply staging;touch ${canary}`)).toBe("group=pr-7\n");
    expect(await group(`/apply $(touch ${canary}) \`touch ${canary}\``)).toBe("group=pr-7\n");
    expect(existsSync(canary)).toBe(false);
  });
});

describe("Vault's credentials (threat model)", () => {
  it("reach only the live jobs after the route job: never autoplan, the close handler, ci or the route job", async () => {
    const dir = repository();
    const r = await cli(["init", "github", "--action", PINNED], dir);
    expect(r.code, r.stderr).toBe(0);
    // The example's staging and prod have Vault, on clusters of those names.
    expect(r.stdout).toContain(
      "  PLINTH_VAULT_UNSEAL_STAGING: optional: Vault's unseal file (plinth's own token in it), written to .plinth/vault/staging.unseal.enc; read with PLINTH_VAULT_PASSPHRASE\n",
    );
    expect(r.stdout).not.toContain("PLINTH_VAULT_UNSEAL_CI");
    const vault = /VAULT_TOKEN|PLINTH_VAULT_/;
    for (const f of ["plinth-pull-request.yml", "plinth-pull-request-closed.yml", "plinth-ci.yml"]) {
      expect(readFileSync(join(dir, ".github/workflows", f), "utf8"), f).not.toMatch(vault);
    }
    type Step = { name?: string; uses?: string; env?: Record<string, string>; run?: string };
    const jobs = (f: string) =>
      (
        parse(readFileSync(join(dir, ".github/workflows", f), "utf8")) as {
          jobs: Record<string, { steps: Step[] }>;
        }
      ).jobs;
    const comment = jobs("plinth-comment.yml");
    expect(JSON.stringify(comment.route)).not.toMatch(vault);
    for (const job of [comment.plinth, jobs("plinth-drift.yml").drift]) {
      const steps = job?.steps ?? [];
      const action = steps.find((s) => s.uses === PINNED);
      expect(action?.env).toMatchObject({
        VAULT_TOKEN: `\${{ secrets.VAULT_TOKEN }}`,
        PLINTH_VAULT_PASSPHRASE: `\${{ secrets.PLINTH_VAULT_PASSPHRASE }}`,
      });
      const unseal = steps.find((s) => s.name === "Vault unseal files from secrets");
      expect(unseal?.env).toEqual({
        PLINTH_VAULT_UNSEAL_PROD: `\${{ secrets.PLINTH_VAULT_UNSEAL_PROD }}`,
        PLINTH_VAULT_UNSEAL_STAGING: `\${{ secrets.PLINTH_VAULT_UNSEAL_STAGING }}`,
      });
      // Written before plinth runs, which reads it from the workspace.
      expect(steps.indexOf(unseal as Step)).toBeLessThan(steps.indexOf(action as Step));
    }
    expect(await actionlint(dir)).toEqual({ code: 0, out: "" });
  });

  it("the unseal step (its bash, run for real) writes the file where plinth reads it, mode 0600; an unset secret writes nothing", async () => {
    const dir = repository();
    expect((await cli(["init", "github", "--action", PINNED], dir)).code).toBe(0);
    const steps = (
      parse(readFileSync(join(dir, ".github/workflows/plinth-comment.yml"), "utf8")) as {
        jobs: { plinth: { steps: { name?: string; run?: string }[] } };
      }
    ).jobs.plinth.steps;
    const script = steps.find((s) => s.name === "Vault unseal files from secrets")?.run ?? "";
    const envelope = '{"format":"plinth-vault-unseal/v1","cluster":"staging"}';
    await run("bash", ["-e", "-c", script], {
      cwd: dir,
      env: { PATH: "/usr/bin:/bin", PLINTH_VAULT_UNSEAL_STAGING: envelope, PLINTH_VAULT_UNSEAL_PROD: "" },
    });
    const file = unsealFilePath(dir, "staging");
    expect(readFileSync(file, "utf8")).toBe(`${envelope}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(unsealFilePath(dir, "prod"))).toBe(false);
  });
});

describe("the scheduled restore drill", () => {
  /** The example with backups for staging and prod (README "Backups and restores"). */
  const WITH_BACKUPS = EXAMPLE.replace(
    "export default defineConfig({",
    `const backups = {
  schedule: "0 3 * * *",
  destination: {
    bucket: "acme-backups",
    endpoint: "https://0123456789abcdef.r2.cloudflarestorage.com",
    credentials: { accessKeyId: secret.env("BACKUP_S3_KEY_ID"), secretAccessKey: secret.env("BACKUP_S3_SECRET") },
  },
};
export default defineConfig({`,
  )
    .replace('staging: { cluster: "staging",', 'staging: { backups, cluster: "staging",')
    .replace('cluster: "prod",', 'backups, cluster: "prod",');

  it("weekly for the environments with backups, one at a time, with only the secrets a drill needs", async () => {
    const dir = repository();
    writeFileSync(join(dir, "plinth.config.ts"), WITH_BACKUPS);
    const r = await cli(["init", "github", "--action", PINNED], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("wrote     .github/workflows/plinth-restore-drill.yml");
    const wf = parse(readFileSync(join(dir, ".github/workflows/plinth-restore-drill.yml"), "utf8")) as {
      on: Record<string, unknown>;
      permissions: Record<string, string>;
      jobs: {
        drill: {
          strategy: { "max-parallel": number; matrix: { environment: string[] } };
          concurrency: { "cancel-in-progress": boolean };
          permissions: Record<string, string>;
          steps: {
            name?: string;
            uses?: string;
            env?: Record<string, string>;
            with?: Record<string, string>;
          }[];
        };
      };
    };
    expect(wf.on).toEqual({ schedule: [{ cron: "41 4 * * 0" }], workflow_dispatch: {} });
    expect(wf.permissions).toEqual({});
    const job = wf.jobs.drill;
    expect(job.strategy.matrix.environment).toEqual(["prod", "staging"]);
    expect(job.strategy["max-parallel"]).toBe(1);
    expect(job.concurrency["cancel-in-progress"]).toBe(false);
    expect(job.permissions).toEqual({ contents: "read" });
    const step = job.steps.find((x) => x.uses === PINNED);
    expect(step?.with).toEqual({
      config: "plinth.config.ts",
      command: `restore-drill ${expr("matrix.environment")}`,
    });
    // The bucket's token, each cluster's own SSH key (for its environment only), the passphrase
    // of the unseal file; never the plan key, Cloudflare's or the SSO client's secret.
    expect(step?.env).toEqual({
      BACKUP_S3_KEY_ID: expr("secrets.BACKUP_S3_KEY_ID"),
      BACKUP_S3_SECRET: expr("secrets.BACKUP_S3_SECRET"),
      PLINTH_VAULT_PASSPHRASE: expr("secrets.PLINTH_VAULT_PASSPHRASE"),
      PROD_SSH_KEY: expr("(matrix.environment == 'prod') && secrets.PROD_SSH_KEY || ''"),
      STAGING_SSH_KEY: expr("(matrix.environment == 'staging') && secrets.STAGING_SSH_KEY || ''"),
    });
    expect(job.steps.map((x) => x.name)).toContain("Vault unseal files from secrets");
    expect(await actionlint(dir)).toEqual({ code: 0, out: "" });

    // Without backups (the example as it is), no drill workflow.
    const plain = repository();
    expect((await cli(["init", "github", "--action", PINNED], plain)).code).toBe(0);
    expect(existsSync(join(plain, ".github/workflows/plinth-restore-drill.yml"))).toBe(false);
  });
});

describe("plinth init github never clobbers", () => {
  it("re-run is byte-identical and writes nothing", async () => {
    const dir = repository();
    expect((await cli(["init", "github", "--action", PINNED], dir)).code).toBe(0);
    const before = FILES.map((f) => statSync(join(dir, ".github/workflows", f)).mtimeMs);
    const bytes = FILES.map((f) => readFileSync(join(dir, ".github/workflows", f)));
    const again = await cli(["init", "github", "--action", PINNED], dir);
    expect(again.code).toBe(0);
    for (const f of FILES) expect(again.stdout).toContain(`unchanged .github/workflows/${f}`);
    expect(FILES.map((f) => statSync(join(dir, ".github/workflows", f)).mtimeMs)).toEqual(before);
    expect(FILES.map((f) => readFileSync(join(dir, ".github/workflows", f)))).toEqual(bytes);
  });

  it("refuses a different existing file (exit 2, nothing written), replaces it with --force", async () => {
    const dir = repository();
    expect((await cli(["init", "github", "--action", PINNED], dir)).code).toBe(0);
    const edited = join(dir, ".github/workflows/plinth-comment.yml");
    writeFileSync(edited, "# mine\n");
    const missing = join(dir, ".github/workflows/plinth-drift.yml");
    rmSync(missing);

    const refused = await cli(["init", "github", "--action", PINNED], dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(".github/workflows/plinth-comment.yml: exists with other content");
    expect(refused.stderr).toContain("--force");
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(edited, "utf8")).toBe("# mine\n");
    // Checked before anything is written: the missing file is not written either.
    expect(existsSync(missing)).toBe(false);

    const forced = await cli(["init", "github", "--action", PINNED, "--force"], dir);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(edited, "utf8")).toMatch(/^# Written by `plinth init github`/);
    expect(existsSync(missing)).toBe(true);
    expect((await actionlint(dir)).out).toBe("");
  });

  it("bad input: no --action, an unpinned one, an unknown target", async () => {
    const dir = repository();
    const none = await cli(["init", "github"], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("plinth init github --action: needs plinth's action pinned by commit");
    const tag = await cli(["init", "github", "--action", "acme/plinth@v1"], dir);
    expect(tag.code).toBe(2);
    expect(tag.stderr).toContain('--action: "acme/plinth@v1" is not an action pinned by commit');
    const gitlab = await cli(["init", "gitlab", "--action", PINNED], dir);
    expect(gitlab.code).toBe(2);
    expect(gitlab.stderr).toContain('cannot initialise "gitlab"');
    const several = await cli(
      [
        "init",
        "github",
        "--action",
        PINNED,
        "--drift-cron",
        "every day",
        "--k3s-version",
        "latest",
        "--default-branch",
        "main branch",
      ],
      dir,
    );
    expect(several.code).toBe(2);
    // Every problem at once, each naming its flag and the fix.
    expect(several.stderr).toContain('--drift-cron: "every day" has 2 fields');
    expect(several.stderr).toContain(
      '--k3s-version: "latest" is not a pinned k3s release (give one such as v1.33.5+k3s1)',
    );
    expect(several.stderr).toContain('--default-branch: "main branch" is not a branch name');
    expect(existsSync(join(dir, ".github"))).toBe(false);
  });
});
