/**
 * GitHub at the edge: Octokit (loaded on first use) and the few REST calls plinth makes, as plain
 * answers. The pull-request workflow (src/github) and the scheduled drift check build on these.
 */
export { connectFromActions } from "./actions-env.js";
export { type GitHubConnection, githubClient, type Octokit } from "./client.js";
export {
  type ArtifactFacts,
  type CheckFacts,
  type CommentFacts,
  GitHubRepo,
  type OpenPullFacts,
  type PullFacts,
  parseRepo,
  type RepoRef,
  type ReviewFacts,
  ROLES,
  type Role,
} from "./repo.js";
