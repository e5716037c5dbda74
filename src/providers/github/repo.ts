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
  /** The GraphQL node ID (minimizing a comment is GraphQL only). */
  nodeId: string;
  user: string;
  body: string;
  htmlUrl: string;
}

/** An artifact of a workflow run, as listed (before any of it is downloaded). */
export interface ArtifactFacts {
  id: number;
  name: string;
  sizeInBytes: number;
  expired: boolean;
}

/** An open pull request as the list gives it: enough to match a workflow run's head. */
export interface OpenPullFacts {
  number: number;
  headSha: string;
  /** `owner/name` of the head's repository (null: the fork was deleted). */
  headRepo: string | null;
}

/** Whether comments are minimized, by node ID (GraphQL; checked against GitHub's schema in tests). */
const MINIMIZED_QUERY = `query plinthMinimized($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on IssueComment {
      id
      isMinimized
    }
  }
}`;

const MINIMIZE_MUTATION = `mutation plinthMinimize($id: ID!) {
  minimizeComment(input: { subjectId: $id, classifier: OUTDATED }) {
    minimizedComment {
      isMinimized
    }
  }
}`;

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
      nodeId: c.node_id,
      user: c.user?.login ?? "",
      body: c.body ?? "",
      htmlUrl: c.html_url,
    }));
  }

  async comment(issue: number, body: string): Promise<CommentFacts> {
    const { data } = await this.octokit.rest.issues.createComment({ ...this.ref, issue_number: issue, body });
    return {
      id: data.id,
      nodeId: data.node_id,
      user: data.user?.login ?? "",
      body: data.body ?? "",
      htmlUrl: data.html_url,
    };
  }

  /** Of these comments (node IDs), the ones already minimized. */
  async minimized(nodeIds: readonly string[]): Promise<Set<string>> {
    if (nodeIds.length === 0) return new Set();
    const data = await this.octokit.graphql<{ nodes: ({ id?: string; isMinimized?: boolean } | null)[] }>(
      MINIMIZED_QUERY,
      { ids: nodeIds },
    );
    return new Set(data.nodes.flatMap((n) => (n?.id && n.isMinimized ? [n.id] : [])));
  }

  /** Hides a comment as outdated ("This comment was marked as outdated"), as a person would. */
  async minimizeComment(nodeId: string): Promise<void> {
    await this.octokit.graphql(MINIMIZE_MUTATION, { id: nodeId });
  }

  /** The run's artifacts of that name (GitHub keeps one per name and run). */
  async runArtifacts(runId: number, name: string): Promise<ArtifactFacts[]> {
    const { data } = await this.octokit.rest.actions.listWorkflowRunArtifacts({
      ...this.ref,
      run_id: runId,
      name,
      per_page: 100,
    });
    return data.artifacts.map((a) => ({
      id: a.id,
      name: a.name,
      sizeInBytes: a.size_in_bytes,
      expired: a.expired,
    }));
  }

  /** The artifact's ZIP archive (GitHub answers with a redirect to short-lived storage, followed). */
  async downloadArtifact(id: number): Promise<Buffer> {
    const { data } = await this.octokit.rest.actions.downloadArtifact({
      ...this.ref,
      artifact_id: id,
      archive_format: "zip",
    });
    return Buffer.from(data as ArrayBuffer);
  }

  /** Open pull requests whose head is `owner:branch` (a fork's included). */
  async openPullsFrom(headOwner: string, headBranch: string): Promise<OpenPullFacts[]> {
    const list = await this.octokit.paginate(this.octokit.rest.pulls.list, {
      ...this.ref,
      state: "open",
      head: `${headOwner}:${headBranch}`,
      per_page: 100,
    });
    return list.map((p) => ({
      number: p.number,
      headSha: p.head.sha,
      headRepo: p.head.repo?.full_name ?? null,
    }));
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
