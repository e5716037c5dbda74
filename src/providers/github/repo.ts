import type { Octokit } from "@octokit/rest";

/** `owner/name`, as GITHUB_REPOSITORY gives it. */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** What plinth needs of a pull request: who, which commits, and whether it could merge. */
export interface PullFacts {
  number: number;
  author: string;
  state: "open" | "closed";
  merged: boolean;
  headSha: string;
  headRef: string;
  baseSha: string;
  baseRef: string;
  /** Head branch in another repository: a fork, whose code never runs with credentials. */
  fromFork: boolean;
  /** GitHub's answer on conflicts alone (null while it computes). Checks are not in it. */
  mergeable: boolean | null;
}

export interface ReviewFacts {
  user: string;
  state: string;
  /** The commit the review was made on: an approval of an older head is not one of this head. */
  commitId: string;
  submittedAt: string;
}

export interface CheckFacts {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
}

export interface CommentFacts {
  id: number;
  user: string;
  body: string;
  htmlUrl: string;
}

/** Repository roles, lowest first, as the collaborator permission API names them. */
export const ROLES = ["none", "read", "triage", "write", "maintain", "admin"] as const;
export type Role = (typeof ROLES)[number];

/**
 * The REST calls plinth makes, as small plain answers. Everything else of GitHub's large objects
 * stays here at the edge; the pull-request workflow (src/github) sees only these.
 */
export class GitHubRepo {
  constructor(
    readonly octokit: Octokit,
    readonly ref: RepoRef,
  ) {}

  async pull(number: number): Promise<PullFacts> {
    const { data } = await this.octokit.rest.pulls.get({ ...this.ref, pull_number: number });
    const baseRepo = data.base.repo.full_name;
    return {
      number: data.number,
      author: data.user.login,
      state: data.state === "closed" ? "closed" : "open",
      merged: data.merged,
      headSha: data.head.sha,
      headRef: data.head.ref,
      baseSha: data.base.sha,
      baseRef: data.base.ref,
      // A deleted fork has no repo: still not this repository's code.
      fromFork: data.head.repo?.full_name !== baseRepo,
      mergeable: data.mergeable,
    };
  }

  async reviews(number: number): Promise<ReviewFacts[]> {
    const list = await this.octokit.paginate(this.octokit.rest.pulls.listReviews, {
      ...this.ref,
      pull_number: number,
      per_page: 100,
    });
    return list.map((r) => ({
      user: r.user?.login ?? "",
      state: r.state,
      commitId: r.commit_id ?? "",
      submittedAt: r.submitted_at ?? "",
    }));
  }

  /** The user's role on the repository (`maintain` and `triage` included, from `role_name`). */
  async role(username: string): Promise<Role> {
    const { data } = await this.octokit.rest.repos.getCollaboratorPermissionLevel({
      ...this.ref,
      username,
    });
    const named = (ROLES as readonly string[]).includes(data.role_name)
      ? (data.role_name as Role)
      : undefined;
    const level = (ROLES as readonly string[]).includes(data.permission) ? (data.permission as Role) : "none";
    // Custom roles have their own names: their base permission is what counts then.
    return named ?? level;
  }

  /** Whether the user is an active member of the organization's team (a pending invitation is not). */
  async inTeam(org: string, teamSlug: string, username: string): Promise<boolean> {
    try {
      const { data } = await this.octokit.rest.teams.getMembershipForUserInOrg({
        org,
        team_slug: teamSlug,
        username,
      });
      return data.state === "active";
    } catch (e) {
      if ((e as { status?: number }).status === 404) return false;
      throw e;
    }
  }

  /** How far the head is behind its base branch: 0 is up to date. */
  async behindBy(baseRef: string, headSha: string): Promise<number> {
    const { data } = await this.octokit.rest.repos.compareCommitsWithBasehead({
      ...this.ref,
      basehead: `${baseRef}...${headSha}`,
      per_page: 1,
    });
    return data.behind_by;
  }

  async checks(ref: string): Promise<CheckFacts[]> {
    const list = await this.octokit.paginate(this.octokit.rest.checks.listForRef, {
      ...this.ref,
      ref,
      per_page: 100,
    });
    return list.map((c) => ({ id: c.id, name: c.name, status: c.status, conclusion: c.conclusion }));
  }

  async setCheck(o: {
    name: string;
    headSha: string;
    status: "queued" | "in_progress" | "completed";
    conclusion?: "success" | "failure" | "neutral" | "cancelled";
    title: string;
    summary: string;
  }): Promise<number> {
    const { data } = await this.octokit.rest.checks.create({
      ...this.ref,
      name: o.name,
      head_sha: o.headSha,
      status: o.status,
      ...(o.conclusion ? { conclusion: o.conclusion } : {}),
      output: { title: o.title, summary: o.summary },
    });
    return data.id;
  }

  async comments(issue: number): Promise<CommentFacts[]> {
    const list = await this.octokit.paginate(this.octokit.rest.issues.listComments, {
      ...this.ref,
      issue_number: issue,
      per_page: 100,
    });
    return list.map((c) => ({
      id: c.id,
      user: c.user?.login ?? "",
      body: c.body ?? "",
      htmlUrl: c.html_url,
    }));
  }

  async comment(issue: number, body: string): Promise<CommentFacts> {
    const { data } = await this.octokit.rest.issues.createComment({ ...this.ref, issue_number: issue, body });
    return { id: data.id, user: data.user?.login ?? "", body: data.body ?? "", htmlUrl: data.html_url };
  }

  async editComment(id: number, body: string): Promise<void> {
    await this.octokit.rest.issues.updateComment({ ...this.ref, comment_id: id, body });
  }
}

/** `owner/name` → its parts; undefined when it is not that shape. */
export function parseRepo(fullName: string | undefined): RepoRef | undefined {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(fullName ?? "");
  return m?.[1] && m[2] ? { owner: m[1], repo: m[2] } : undefined;
}
