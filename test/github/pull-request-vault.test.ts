/**
 * Vault in a pull request's `/plan` and `/apply`, end to end: `plinth github` (the built CLI, as
 * the action runs it) fed GitHub's own webhook payloads, against the STAND-IN for GitHub's API
 * (test/github/standin.ts, every call checked against GitHub's OpenAPI description; GitHub cannot
 * run here), the test bed's API server for the cluster, its S3 server for state and stored plans,
 * and a real, non-dev OpenBao from the test bed's binary (test/vault/server.ts: a private server,
 * so initializing it, its unseal file and its kubernetes auth touch no other test) as the
 * environment's Vault. The job gets what the comment workflow gives it: VAULT_ADDR,
 * PLINTH_VAULT_PASSPHRASE and the unseal file in the workspace (from PLINTH_VAULT_UNSEAL_<CLUSTER>),
 * no VAULT_TOKEN: plinth's own token comes from that file.
 *
 * The CloudNativePG operator does not run on the test bed: the test sets the platform PostgreSQL
 * Cluster's Ready condition as the operator would (bed.ts setStatus), so the apply's waits pass
 * and Vault's step runs after them as in a real cluster. k3s's helm-controller and kwok do run:
 * the HelmCharts' install Jobs complete for real.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destroyEnvironment } from "../../src/index.js";
import type { Plan } from "../../src/plan/plan.js";
import { unsealFilePath, VaultClient } from "../../src/providers/vault/index.js";
import { readUnsealFile } from "../../src/providers/vault/unseal-file.js";
import { KubeClient } from "../../testbed/kube/client.js";
import { BIN, ensureStandInCrds, kubeconfig, kubectl, plinth, setStatus } from "../engine/bed.js";
import { rawClient, s3Env } from "../state/s3-place.js";
import { testbedEnv } from "../testbed/env.js";
import { type BaoServer, startBao } from "../vault/server.js";
import { commentEvent, pullRequestEvent } from "./examples.js";
import { type GitHubStandin, startGitHubStandin } from "./standin.js";

const ENV = "ghvault";
const PR = 21;
const PLAN_KEY = randomBytes(32).toString("hex");
const PASSPHRASE = `pull request vault test ${randomBytes(4).toString("hex")}`;
const prefix = `gh-vault-test-${process.pid}-${randomBytes(3).toString("hex")}/`;
const POLICY = `plinth-${ENV}-redis`;
const SECRET_PATH = `${ENV}/redis/redis-auth`;

let gh: GitHubStandin;
let bao: BaoServer;
let repo: string;
/** The default branch's checkout: where the comment workflow runs (trusted config, the unseal file). */
let trusted: string;
let baseSha: string;
let headSha: string;
let vaultVariables: Record<string, string>;

/** Redis off in the base, on in the pull request: a new Vault policy, role and secret path. */
function config(redis: boolean): string {
  return `import { defineConfig } from "plinth";
// ${redis ? "head: redis on" : "base"}
export default defineConfig({
  project: "acme",
  // Relative, as in a repository: the comment workflow writes it into its checkout from a secret.
  clusters: { bed: { type: "existing", kubeconfig: ".plinth/kubeconfig/bed.yaml" } },
  environments: {
    // Phase 0 with Vault (and what Vault needs), plus Redis when the pull request turns it on.
    ${ENV}: {
      kind: "ci",
      cluster: "bed",
      features: { vault: true },
      components: { redis: { enabled: ${redis} }, postgres: { enabled: false } },
    },
    // A second environment on the cluster gives "${ENV}" its own namespaces.
    "${ENV}-peer": { kind: "ci", cluster: "bed" },
  },
  state: {
    backend: "s3",
    endpoint: ${JSON.stringify(testbedEnv("S3_ENDPOINT"))},
    bucket: ${JSON.stringify(testbedEnv("S3_BUCKET"))},
    prefix: ${JSON.stringify(prefix)},
    region: ${JSON.stringify(testbedEnv("AWS_REGION"))},
  },
});
`;
}

const git = (...args: string[]) =>
  execFileSync("git", ["-c", "user.email=test@example.invalid", "-c", "user.name=test", ...args], {
    cwd: repo,
    encoding: "utf8",
  }).trim();

function commit(source: string, message: string): string {
  writeFileSync(join(repo, "plinth.config.ts"), source);
  git("add", "plinth.config.ts");
  git("commit", "-q", "-m", message);
  return git("rev-parse", "HEAD");
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `plinth github` as the action runs it, with exactly the variables given (nothing of this
 * process's environment leaks in). The comment workflow's job gets the credentials, the Vault
 * ones as that workflow passes them; the autoplan job (`pull_request`, in the pull request's
 * checkout) none. The apply's waits are on (Vault's step runs only after them), health checks off
 * (nothing answers behind the test bed's Services).
 */
function plinthGithub(
  event: string,
  payload: unknown,
  o: { credentials: boolean; cwd: string },
): Promise<Run> {
  const eventPath = join(mkdtempSync(join(tmpdir(), "plinth-event-")), "event.json");
  writeFileSync(eventPath, JSON.stringify(payload));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    GITHUB_ACTIONS: "true",
    GITHUB_EVENT_NAME: event,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: `${gh.owner}/${gh.repo}`,
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_RUN_ID: "4343",
    GITHUB_TOKEN: gh.token,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...(o.credentials ? { ...s3Env(), PLINTH_PLAN_KEY: PLAN_KEY, ...vaultVariables } : {}),
  };
  return new Promise((resolve) => {
    const child = spawn(BIN, ["github", "--no-health-checks", "--timeout", "3m"], { cwd: o.cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const comment = (pr: number, body: string, commenter: string) =>
  plinthGithub("issue_comment", commentEvent({ owner: gh.owner, repo: gh.repo, pr, body, commenter }), {
    credentials: true,
    cwd: trusted,
  });

/**
 * `/apply` as a person would: other test runs share the API server and may move a cluster-wide
 * object (an operator's chart) between plan and apply; plinth refuses that plan, as documented,
 * and posts a fresh one, which is applied on the next try.
 */
async function applyAsBob(): Promise<Run> {
  for (let attempt = 1; ; attempt++) {
    const run = await comment(PR, `/apply ${ENV}`, "bob");
    if (run.code !== 2 || attempt >= 3 || !lastComment(PR).includes("The stored plan was refused at apply"))
      return run;
  }
}

function openPull(pr: number, o: { head: string; fork?: boolean }): void {
  gh.state.pulls.set(pr, {
    number: pr,
    author: "alice",
    state: "open",
    merged: false,
    headSha: o.head,
    headRef: `change-${pr}`,
    baseSha,
    baseRef: "main",
    fork: o.fork ?? false,
    mergeable: true,
    behindBy: 0,
  });
}

const lastComment = (pr: number) => gh.state.comments.filter((c) => c.issue === pr).at(-1)?.body ?? "";

/** The plan `/plan` stored for the head commit, as it lies in S3 beside the state. */
async function storedPlan(): Promise<Plan> {
  const s3 = rawClient();
  try {
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: testbedEnv("S3_BUCKET"),
        Key: `${prefix}_blobs/github/pr-${PR}/${headSha}/${ENV}.json`,
      }),
    );
    return JSON.parse(
      await (got.Body as { transformToString(): Promise<string> }).transformToString(),
    ) as Plan;
  } finally {
    s3.destroy();
  }
}

/** Vault's own changes in a plan (its configuration and secrets), no-ops left out. */
const vaultChanges = (plan: Plan) =>
  plan.phases
    .flatMap((p) => p.components)
    .flatMap((c) => c.changes)
    .filter((c) => c.provider === "vault" && c.action !== "no-op")
    .map((c) => `${c.action} ${c.kind} ${c.name}`);

/** A root client, from the unseal file plinth wrote at init (the test reads back as the operator would). */
async function asRoot(): Promise<VaultClient> {
  const material = await readUnsealFile(unsealFilePath(trusted, "bed"), {
    passphrase: PASSPHRASE,
    cluster: "bed",
    address: bao.address,
  });
  return new VaultClient({ address: bao.address, token: material.rootToken ?? "" });
}

/** Plays the CloudNativePG operator's part: the platform PostgreSQL reports Ready once it exists. */
async function platformPostgresReady(signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const exists = await kubectl("get", "clusters.postgresql.cnpg.io", "-n", "platform", "-o", "name").catch(
      () => "",
    );
    if (exists.includes("platform-postgres")) {
      await setStatus("clusters.postgresql.cnpg.io", "platform", "platform-postgres", {
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "ClusterIsReady",
            message: "set by the test: the CloudNativePG operator does not run on the test bed",
            lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
          },
        ],
      });
      return;
    }
    await sleep(500);
  }
}

async function deletePrefix(): Promise<void> {
  const s3 = rawClient();
  try {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: testbedEnv("S3_BUCKET"), Prefix: prefix }),
    );
    for (const o of listed.Contents ?? [])
      await s3.send(new DeleteObjectCommand({ Bucket: testbedEnv("S3_BUCKET"), Key: o.Key }));
  } finally {
    s3.destroy();
  }
}

describe.sequential("plinth github: Vault in a pull request's /plan and /apply", { timeout: 600_000 }, () => {
  beforeAll(async () => {
    await ensureStandInCrds();
    gh = await startGitHubStandin();
    gh.state.roles.set("bob", "write");
    gh.state.roles.set("carol", "maintain");
    bao = await startBao();
    repo = mkdtempSync(join(tmpdir(), "plinth-pr-vault-repo-"));
    git("init", "-q", "-b", "main");
    baseSha = commit(config(false), "base: Vault, no Redis");
    git("checkout", "-q", "-b", `change-${PR}`);
    headSha = commit(config(true), "turn Redis on");
    trusted = join(mkdtempSync(join(tmpdir(), "plinth-pr-vault-main-")), "main");
    git("worktree", "add", "-q", trusted, "main");
    // What the comment workflow's "Kubeconfigs from secrets" step does with PLINTH_KUBECONFIG_BED:
    // the pull request's worktree has no such file, plinth finds it in the workspace.
    mkdirSync(join(trusted, ".plinth", "kubeconfig"), { recursive: true, mode: 0o700 });
    writeFileSync(join(trusted, ".plinth", "kubeconfig", "bed.yaml"), readFileSync(kubeconfig()), {
      mode: 0o600,
    });
    // Vault runs outside the cluster here: where its kubernetes auth reaches the API server.
    const kube = KubeClient.fromKubeconfig(kubeconfig());
    const caFile = join(mkdtempSync(join(tmpdir(), "plinth-pr-vault-ca-")), "ca.pem");
    writeFileSync(caFile, kube.creds.ca);
    vaultVariables = {
      VAULT_ADDR: bao.address,
      PLINTH_VAULT_PASSPHRASE: PASSPHRASE,
      PLINTH_VAULT_KUBE_HOST: kube.creds.server,
      PLINTH_VAULT_KUBE_CA_FILE: caFile,
    };
    // The default branch, applied from the operator's checkout: Vault initialized, unsealed and
    // configured, its unseal file where the comment workflow writes it (the workspace).
    await plinth(["unlock", ENV], trusted, { env: s3Env() });
    const operator = new AbortController();
    const ready = platformPostgresReady(operator.signal);
    const base = await plinth(["apply", ENV, "--yes", "--no-health-checks", "--timeout", "3m"], trusted, {
      env: { ...s3Env(), ...vaultVariables },
    });
    operator.abort();
    await ready;
    expect(base.code, `${base.stdout}\n${base.stderr}`).toBe(0);
    expect((await (await asRoot()).request("GET", `sys/policies/acl/${POLICY}`)).status).toBe(404);
    openPull(PR, { head: headSha });
  });

  afterAll(async () => {
    // The reservation /apply took would refuse the clean-up: the stored state goes first.
    await deletePrefix().catch(() => undefined);
    await destroyEnvironment({
      env: ENV,
      cwd: trusted,
      variables: s3Env(),
      deleteData: true,
      holder: "gh-vault@bed",
    }).catch((e: unknown) => console.error(`cleanup of ${ENV}: ${String(e)}`));
    await deletePrefix().catch(() => undefined);
    await bao?.stop();
    await gh?.close();
  });

  it("autoplan shows the Vault policy, role and secret path with no credential, and reaches no Vault", async () => {
    const audit = readFileSync(bao.auditLog, "utf8").length;
    const run = await plinthGithub(
      "pull_request",
      pullRequestEvent("opened", {
        owner: gh.owner,
        repo: gh.repo,
        pr: PR,
        headSha,
        baseSha,
        author: "alice",
      }),
      { credentials: false, cwd: repo },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const sticky = lastComment(PR);
    expect(sticky.startsWith("<!-- plinth:pull-request -->")).toBe(true);
    expect(sticky).toContain(`+ create VaultPolicy ${POLICY} (redis)`);
    expect(sticky).toContain(`+ create VaultSecret secret/${SECRET_PATH} (redis)`);
    expect(readFileSync(bao.auditLog, "utf8").length).toBe(audit);
  });

  it("never reaches Vault for a fork's pull request, even when someone with apply rights asks", async () => {
    openPull(PR + 1, { head: headSha, fork: true });
    const audit = readFileSync(bao.auditLog, "utf8").length;
    const run = await comment(PR + 1, `/plan ${ENV}`, "carol");
    expect(run.code).toBe(2);
    expect(lastComment(PR + 1)).toMatch(
      /comes from a fork: its code never runs with this repository's credentials/,
    );
    // Not one request reached Vault: its audit device logs every one.
    expect(readFileSync(bao.auditLog, "utf8").length).toBe(audit);
  });

  it("/plan shows the Vault changes the pull request makes, in the table and the stored plan", async () => {
    const run = await comment(PR, `/plan ${ENV}`, "bob");
    expect(run.stderr).toBe("");
    expect(run.code, lastComment(PR)).toBe(0);
    const body = lastComment(PR);
    expect(body).toMatch(/live plan of [0-9a-f]{7}/);
    // The table's Vault column counts them: a policy, a kubernetes role and a secret path.
    expect(body).toMatch(new RegExp(`\\| \\*\\*${ENV}\\*\\* \\|( [^|]+ \\|){6} [3-9] \\| live plan`));
    expect(body).toContain(`+ create VaultPolicy ${POLICY} (vault)`);
    expect(body).toMatch(new RegExp(`\\+ create VaultSecret [^\\n]*${SECRET_PATH}`));
    const plan = await storedPlan();
    expect(vaultChanges(plan)).toEqual(
      expect.arrayContaining([`create VaultPolicy ${POLICY}`, expect.stringMatching(/^create VaultRole /)]),
    );
    expect(gh.violations).toEqual([]);
  });

  it("/apply refuses the stored plan once Vault moved since /plan, changing nothing, and posts a fresh one", async () => {
    // A hand edit in Vault after /plan: the policy the plan would create now exists, otherwise.
    const hand = 'path "secret/data/elsewhere" { capabilities = ["read"] }';
    await (await asRoot()).call("PUT", `sys/policies/acl/${POLICY}`, { policy: hand });
    const run = await comment(PR, `/apply ${ENV}`, "bob");
    expect(run.code).toBe(2);
    const body = lastComment(PR);
    expect(body).toContain("The stored plan was refused at apply, nothing was changed");
    expect(body).toContain(`VaultPolicy ${POLICY}`);
    expect(body).toMatch(/live plan of/);
    const policy = await (await asRoot()).call<{ data: { policy: string } }>(
      "GET",
      `sys/policies/acl/${POLICY}`,
    );
    expect(policy.data.policy).toBe(hand);
    // The fresh plan takes the policy over (plinth's mark is not on it) and writes what the config says.
    const fresh = vaultChanges(await storedPlan());
    expect(fresh, fresh.join("\n")).toContain(`adopt VaultPolicy ${POLICY}`);
  });

  it("/apply converges Vault as plinth apply does: policy, role and secret read back from OpenBao", async () => {
    const run = await applyAsBob();
    expect(run.stderr).toBe("");
    expect(run.code, lastComment(PR)).toBe(0);
    expect(lastComment(PR)).toMatch(new RegExp(`applied to ${ENV} at [0-9a-f]{7}`));
    expect(gh.state.checks.at(-1)).toMatchObject({
      name: `plinth/${ENV}`,
      status: "completed",
      conclusion: "success",
    });
    const root = await asRoot();
    const policy = await root.call<{ data: { policy: string } }>("GET", `sys/policies/acl/${POLICY}`);
    expect(policy.data.policy).toContain(`secret/data/${SECRET_PATH}`);
    const role = await root.call<{ data: { token_policies: string[] } }>(
      "GET",
      `auth/kubernetes/role/${POLICY}`,
    );
    expect(role.data.token_policies).toContain(POLICY);
    const secret = await root.call<{
      data: { custom_metadata: Record<string, string>; current_version: number };
    }>("GET", `secret/metadata/${SECRET_PATH}`);
    expect(secret.data.custom_metadata).toMatchObject({ "managed-by": "plinth", env: ENV });
    expect(secret.data.current_version).toBe(1);
    expect(gh.violations).toEqual([]);
  });

  it("a second /plan is at zero for Vault", async () => {
    const run = await comment(PR, `/plan ${ENV}`, "bob");
    expect(run.code, lastComment(PR)).toBe(0);
    expect(vaultChanges(await storedPlan())).toEqual([]);
    expect(lastComment(PR)).toMatch(new RegExp(`\\| \\*\\*${ENV}\\*\\* \\|( [^|]+ \\|){6} · \\| live plan`));
    expect(lastComment(PR)).not.toMatch(/VaultServer/);
  });
});
