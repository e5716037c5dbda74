/**
 * The pull-request workflow: `runGitHub` is what `plinth github` and the GitHub Action call.
 */

export { type CommentCommand, HELP, parseComment } from "./commands.js";
export type { GitHubRun } from "./context.js";
export { type GitHubEvent, parseEvent } from "./event.js";
export { type RunGitHubOptions, readEvent, runGitHub } from "./run.js";
