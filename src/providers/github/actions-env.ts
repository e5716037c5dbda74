import { error, UserError } from "../../diagnostics/diagnostic.js";
import { githubClient, type Octokit } from "./client.js";
import { parseRepo, type RepoRef } from "./repo.js";

/**
 * The repository and a client from what a GitHub Actions job sets (GITHUB_REPOSITORY,
 * GITHUB_TOKEN, GITHUB_API_URL), for every command that runs inside one. `fix` says, for that
 * command, what to do when GITHUB_REPOSITORY is not `owner/name`.
 */
export async function connectFromActions(
  env: Record<string, string | undefined>,
  fix: string,
): Promise<{ ref: RepoRef; octokit: Octokit }> {
  const ref = parseRepo(env.GITHUB_REPOSITORY);
  if (!ref) {
    throw new UserError(
      error(`is ${JSON.stringify(env.GITHUB_REPOSITORY ?? "")}, not owner/name`, {
        path: "GITHUB_REPOSITORY",
        fix,
      }),
    );
  }
  const octokit = await githubClient({
    token: env.GITHUB_TOKEN ?? "",
    ...(env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {}),
  });
  return { ref, octokit };
}
