import type { Octokit } from "@octokit/rest";
import { error, UserError } from "../../diagnostics/diagnostic.js";
import { version } from "../../util/version.js";

export type { Octokit };

export interface GitHubConnection {
  /** GITHUB_TOKEN (or an app token), read at the CLI edge only; never logged or put in a message. */
  token: string;
  /** GITHUB_API_URL: `https://api.github.com` unless GitHub Enterprise Server (or a test's stand-in). */
  baseUrl?: string;
}

/** Octokit's logger, silenced: its debug and warning lines would land in the job log unasked. */
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The official REST client, configured for plinth. Loaded on first use: only `plinth github`
 * needs it, and every other command's cold start stays free of it.
 */
export async function githubClient(c: GitHubConnection): Promise<Octokit> {
  if (!c.token) {
    throw new UserError(
      error("no GitHub token", {
        path: "GITHUB_TOKEN",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow expression, shown as written
        fix: "pass the workflow's token: env: GITHUB_TOKEN: ${{ github.token }}",
      }),
    );
  }
  const { Octokit } = await import("@octokit/rest");
  return new Octokit({
    auth: c.token,
    baseUrl: (c.baseUrl ?? "https://api.github.com").replace(/\/+$/, ""),
    userAgent: `plinth/${version()}`,
    log: SILENT,
  });
}
