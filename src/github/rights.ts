import type { EnvironmentKind } from "../config/ids.js";
import type { GitHubSettings } from "../config/schema.js";
import type { CheckFacts, ReviewFacts, Role } from "../providers/github/index.js";
import { ROLES } from "../providers/github/index.js";

/**
 * Who may act on an environment, and what a pull request must have first. Pure: the caller asks
 * GitHub (the collaborator permission API, never `author_association`, which misreports private
 * organization membership; the teams API) and hands the answers in.
 */
export type ApplyRule = NonNullable<GitHubSettings["apply"]>[string];
export type Requirement = "approved" | "approved-by-other" | "mergeable" | "up-to-date";

/** Without `github.apply`: anyone who can push to the repository. */
export const DEFAULT_RULE: ApplyRule = "write";

/** Without `github.require`, by environment kind: prod as strict as a merge, staging reviewed. */
const DEFAULT_REQUIREMENTS: Partial<Record<EnvironmentKind, Requirement[]>> = {
  staging: ["approved"],
  prod: ["approved-by-other", "mergeable", "up-to-date"],
};

/** plinth's own checks: never part of "mergeable", or apply and merge would wait on each other. */
export const CHECK_PREFIX = "plinth/";

export function applyRule(settings: GitHubSettings | undefined, env: string): ApplyRule {
  return settings?.apply?.[env] ?? DEFAULT_RULE;
}

export function requirementsFor(
  settings: GitHubSettings | undefined,
  env: { name: string; kind: EnvironmentKind },
): Requirement[] {
  return settings?.require?.[env.name] ?? DEFAULT_REQUIREMENTS[env.kind] ?? [];
}

/** The teams a rule names, as `org/slug` (`team:slug` is in the repository owner's organization). */
export function teamsOf(rule: ApplyRule, owner: string): string[] {
  const entries = typeof rule === "string" ? [rule] : rule;
  return entries
    .filter((e) => e.startsWith("team:"))
    .map((e) => e.slice("team:".length))
    .map((t) => (t.includes("/") ? t : `${owner}/${t}`));
}

const rank = (r: Role): number => ROLES.indexOf(r);

/** Whether someone with this role and these team memberships (`org/slug`) is allowed by the rule. */
export function allowed(
  rule: ApplyRule,
  who: { login: string; role: Role; teams: ReadonlySet<string> },
  owner: string,
): boolean {
  const entries = typeof rule === "string" ? [rule] : rule;
  // Nobody without write access may act, whatever the rule lists: a team of readers is not trusted
  // to run code with the environment's credentials.
  if (rank(who.role) < rank("write")) return false;
  return entries.some((e) => {
    if (e.startsWith("user:")) return e.slice("user:".length).toLowerCase() === who.login.toLowerCase();
    if (e.startsWith("team:")) return teamsOf([e], owner).some((t) => who.teams.has(t));
    return rank(who.role) >= rank(e as Role);
  });
}

/** The rule in words, for a refusal: `write access`, or `a member of team platform, or user:alice`. */
export function describeRule(rule: ApplyRule): string {
  const entries = typeof rule === "string" ? [rule] : rule;
  return entries
    .map((e) =>
      e.startsWith("team:")
        ? `a member of team ${e.slice(5)}`
        : e.startsWith("user:")
          ? `@${e.slice(5)}`
          : `${e} access`,
    )
    .join(", or ");
}

export interface PullState {
  author: string;
  headSha: string;
  reviews: readonly ReviewFacts[];
  mergeable: boolean | null;
  behindBy: number;
  checks: readonly CheckFacts[];
}

/** Each reviewer's standing review: the last one that approved, requested changes or was dismissed. */
function standing(reviews: readonly ReviewFacts[]): Map<string, ReviewFacts> {
  const out = new Map<string, ReviewFacts>();
  for (const r of reviews) {
    if (["APPROVED", "CHANGES_REQUESTED", "DISMISSED"].includes(r.state)) out.set(r.user, r);
  }
  return out;
}

/**
 * What of the requirements the pull request does not meet, each in words (empty: all met). An
 * approval counts only for the head commit it was given on: a push after it needs a new one.
 */
export function unmet(requirements: readonly Requirement[], pull: PullState): string[] {
  const out: string[] = [];
  const reviews = [...standing(pull.reviews).values()];
  const blocking = reviews.filter((r) => r.state === "CHANGES_REQUESTED").map((r) => `@${r.user}`);
  const approvers = reviews
    .filter((r) => r.state === "APPROVED" && r.commitId === pull.headSha)
    .map((r) => r.user);
  const others = approvers.filter((u) => u.toLowerCase() !== pull.author.toLowerCase());
  if (requirements.includes("approved") || requirements.includes("approved-by-other")) {
    if (blocking.length) out.push(`changes requested by ${blocking.join(", ")}`);
  }
  if (requirements.includes("approved") && approvers.length === 0) {
    out.push(`an approving review of the head commit ${pull.headSha.slice(0, 7)}`);
  }
  if (requirements.includes("approved-by-other") && others.length === 0) {
    out.push(
      `an approving review of the head commit ${pull.headSha.slice(0, 7)} by someone other than @${pull.author}`,
    );
  }
  if (requirements.includes("mergeable")) {
    if (pull.mergeable !== true) {
      out.push(
        pull.mergeable === null
          ? "GitHub has not finished checking for conflicts (try again)"
          : "no merge conflicts",
      );
    }
    const failing = pull.checks
      .filter((c) => !c.name.startsWith(CHECK_PREFIX))
      .filter(
        (c) => c.status !== "completed" || !["success", "neutral", "skipped"].includes(c.conclusion ?? ""),
      )
      .map((c) => `${c.name} (${c.conclusion ?? c.status})`);
    if (failing.length) out.push(`passing checks: ${failing.join(", ")}`);
  }
  if (requirements.includes("up-to-date") && pull.behindBy > 0) {
    out.push(
      `a branch up to date with its base (${pull.behindBy} commit${pull.behindBy === 1 ? "" : "s"} behind)`,
    );
  }
  return out;
}
