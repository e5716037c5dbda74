/**
 * STAND-IN for GitHub's hosted REST API (api.github.com cannot run here): a node:http server that
 * answers, from in-memory state, the calls plinth makes through Octokit, and judges every request
 * and every answer against GitHub's official OpenAPI description (`@octokit/openapi`, see
 * openapi.ts). A path or method GitHub does not have, a parameter or body field of the wrong name
 * or type, or an answer that breaks GitHub's documented schema is a VIOLATION: answered 500 with
 * the reason (so plinth fails) and kept in `violations`, which a test asserts empty.
 *
 * Implemented (state in `repo`):
 *   GET    /repos/{o}/{r}/pulls/{n}                          pulls
 *   GET    /repos/{o}/{r}/pulls/{n}/reviews                  reviews
 *   GET    /repos/{o}/{r}/collaborators/{user}/permission    roles ("none" for strangers)
 *   GET    /orgs/{org}/teams/{team}/memberships/{user}       teams (404 when not a member)
 *   GET    /repos/{o}/{r}/compare/{base}...{head}            pulls' behindBy
 *   GET    /repos/{o}/{r}/commits/{ref}/check-runs           checks
 *   POST   /repos/{o}/{r}/check-runs                         checks
 *   GET    /repos/{o}/{r}/issues/{n}/comments                comments
 *   POST   /repos/{o}/{r}/issues/{n}/comments                comments (author: `botLogin`)
 *   PATCH  /repos/{o}/{r}/issues/comments/{id}               comments
 *   GET    /repos/{o}/{r}/issues?labels=&state=              issues
 *   POST   /repos/{o}/{r}/issues                             issues
 *   PATCH  /repos/{o}/{r}/issues/{n}                         issues
 *   GET    /repos/{o}/{r}/labels/{name}, POST /repos/{o}/{r}/labels   labels
 *   GET    /repos/{o}/{r}/pulls?state=&head=owner:branch     pulls (open pull requests by head)
 *   GET    /repos/{o}/{r}/actions/runs/{run_id}/artifacts    artifacts
 *   GET    /repos/{o}/{r}/actions/artifacts/{id}/zip         artifacts: 302 to the storage below
 *   POST   /graphql                                          `nodes` (IssueComment's isMinimized),
 *          `minimizeComment`: every document validated against GitHub's published GraphQL schema
 *          (`@octokit/graphql-schema`) and executed against it with graphql-js, so a field,
 *          argument, enum value or variable of the wrong name or type is a violation, as is an
 *          answer the schema does not allow
 * Others add theirs with `route(method, template, handler)`; the template must be GitHub's.
 *
 * Not GitHub's API, so not judged by its description: `GET /_storage/artifacts/{id}?sig=`, the
 * stand-in for the short-lived signed storage URL GitHub's artifact download redirects to (the
 * ZIP itself, no token needed or sent on as a credential).
 *
 * A request without `authorization: token|bearer <token>` is answered 401 like GitHub; one with
 * `readOnlyToken` may read, and its writes are answered 403 (a fork's pull request's token).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { checkGraphql, GitHubGraphqlError, runGraphql } from "./graphql-schema.js";
import {
  checkRequest,
  checkResponse,
  fill,
  type Matched,
  matchOperation,
  responseSchema,
} from "./openapi.js";

export interface StandinPull {
  number: number;
  author: string;
  state: "open" | "closed";
  merged: boolean;
  headSha: string;
  headRef: string;
  baseSha: string;
  baseRef: string;
  /** The head lives in another repository (a fork). */
  fork: boolean;
  mergeable: boolean | null;
  /** Commits of the base branch the head lacks (compare's behind_by). */
  behindBy: number;
}

export interface StandinReview {
  id: number;
  pull: number;
  user: string;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED";
  commitId: string;
}

export interface StandinComment {
  id: number;
  issue: number;
  user: string;
  body: string;
  /** Hidden by GraphQL's minimizeComment, with the reason as GitHub reports it (`outdated`). */
  minimized?: string;
}

/** A workflow run's artifact: its ZIP as uploaded (actions/upload-artifact's archive). */
export interface StandinArtifact {
  id: number;
  runId: number;
  name: string;
  zip: Buffer;
  expired?: boolean;
}

export interface StandinCheck {
  id: number;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  title: string;
  summary: string;
}

export interface StandinIssue {
  number: number;
  title: string;
  body: string;
  state: "open" | "closed";
  labels: string[];
}

export interface Logged {
  method: string;
  path: string;
  operationId?: string;
  status: number;
  body?: unknown;
}

export interface HandlerContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  user: string;
}

/** An answer: status and the fields that matter (the rest is filled from GitHub's schema). */
export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (ctx: HandlerContext) => Answer;

export interface GitHubStandin {
  url: string;
  token: string;
  /** A token that may only read (a fork's pull request's): every write is answered 403. */
  readOnlyToken: string;
  owner: string;
  repo: string;
  /** The login plinth's comments and check runs are made as (the workflow token's bot). */
  botLogin: string;
  state: {
    pulls: Map<number, StandinPull>;
    reviews: StandinReview[];
    comments: StandinComment[];
    checks: StandinCheck[];
    issues: StandinIssue[];
    labels: Set<string>;
    /** login → repository role (`admin`, `maintain`, `write`, `triage`, `read`); others "none". */
    roles: Map<string, string>;
    /** `org/team-slug` → active members. */
    teams: Map<string, Set<string>>;
    artifacts: StandinArtifact[];
  };
  /** GraphQL documents received (operation text and variables), in order. */
  graphql: { query: string; variables: unknown }[];
  /** Set to answer every GraphQL request with this HTTP status (GitHub's GraphQL having an outage). */
  graphqlOutage: number | undefined;
  requests: Logged[];
  /** Every contract break seen, with the request that made it. */
  violations: string[];
  route(method: string, template: string, handler: Handler): void;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(body === undefined ? "" : JSON.stringify(body));
};

async function readBody(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text;
}

/** One page of `items` and GitHub's Link header to the next, as Octokit's paginate follows it. */
function paged<T>(
  items: T[],
  query: URLSearchParams,
  url: string,
): { page: T[]; headers: Record<string, string> } {
  const perPage = Number(query.get("per_page") ?? 30);
  const page = Number(query.get("page") ?? 1);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  if (page * perPage >= items.length) return { page: slice, headers: {} };
  const next = new URL(url);
  next.searchParams.set("page", String(page + 1));
  return { page: slice, headers: { link: `<${next.toString()}>; rel="next"` } };
}

export async function startGitHubStandin(
  o: { owner?: string; repo?: string; token?: string; botLogin?: string } = {},
): Promise<GitHubStandin> {
  const owner = o.owner ?? "acme";
  const repo = o.repo ?? "platform";
  const token = o.token ?? "ghs_standin_token_not_real";
  const readOnlyToken = `${token}_read_only`;
  const botLogin = o.botLogin ?? "github-actions[bot]";
  const state: GitHubStandin["state"] = {
    pulls: new Map(),
    reviews: [],
    comments: [],
    checks: [],
    issues: [],
    labels: new Set(),
    roles: new Map(),
    teams: new Map(),
    artifacts: [],
  };
  const graphqlLog: GitHubStandin["graphql"] = [];
  const requests: Logged[] = [];
  const violations: string[] = [];
  const handlers = new Map<string, Handler>();
  let nextId = 1000;
  const id = () => nextId++;
  const route = (method: string, template: string, handler: Handler) =>
    handlers.set(`${method.toLowerCase()} ${template}`, handler);
  const base = `http://127.0.0.1`;
  let url = "";
  const repoUrl = () => `${url}/repos/${owner}/${repo}`;
  const user = (login: string) => ({
    login,
    id: login.length,
    type: login.endsWith("[bot]") ? "Bot" : "User",
  });
  const repository = (full: string) => ({
    full_name: full,
    name: full.split("/")[1],
    owner: user(full.split("/")[0] ?? ""),
  });
  const mine = (p: Record<string, string>) => p.owner === owner && p.repo === repo;
  const notFound: Answer = {
    status: 404,
    body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" },
  };

  const pullBody = (p: StandinPull) => ({
    number: p.number,
    state: p.state,
    merged: p.merged,
    mergeable: p.mergeable,
    user: user(p.author),
    html_url: `https://github.invalid/${owner}/${repo}/pull/${p.number}`,
    head: {
      sha: p.headSha,
      ref: p.headRef,
      label: `${p.fork ? "contributor" : owner}:${p.headRef}`,
      repo: repository(p.fork ? `contributor/${repo}` : `${owner}/${repo}`),
      user: user(p.fork ? "contributor" : owner),
    },
    base: {
      sha: p.baseSha,
      ref: p.baseRef,
      label: `${owner}:${p.baseRef}`,
      repo: repository(`${owner}/${repo}`),
      user: user(owner),
    },
  });
  const commentBody = (c: StandinComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    body: c.body,
    user: user(c.user),
    html_url: `https://github.invalid/${owner}/${repo}/pull/${c.issue}#issuecomment-${c.id}`,
    issue_url: `${repoUrl()}/issues/${c.issue}`,
    url: `${repoUrl()}/issues/comments/${c.id}`,
  });
  const checkBody = (c: StandinCheck) => ({
    id: c.id,
    name: c.name,
    head_sha: c.headSha,
    status: c.status,
    conclusion: c.conclusion,
    output: {
      title: c.title,
      summary: c.summary,
      text: null,
      annotations_count: 0,
      annotations_url: "https://github.invalid/",
    },
  });
  const issueBody = (i: StandinIssue) => ({
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    labels: i.labels.map((name) => ({ name })),
    html_url: `https://github.invalid/${owner}/${repo}/issues/${i.number}`,
  });

  const R = "/repos/{owner}/{repo}";
  route("get", `${R}/pulls/{pull_number}`, ({ params }) => {
    const p = mine(params) && state.pulls.get(Number(params.pull_number));
    return p ? { status: 200, body: pullBody(p) } : notFound;
  });
  route("get", `${R}/pulls/{pull_number}/reviews`, ({ params, query }) => {
    const list = state.reviews
      .filter((r) => r.pull === Number(params.pull_number))
      .map((r) => ({
        id: r.id,
        user: user(r.user),
        state: r.state,
        commit_id: r.commitId,
        body: "",
        submitted_at: "2026-01-01T00:00:00Z",
      }));
    const { page, headers } = paged(list, query, `${repoUrl()}/pulls/${params.pull_number}/reviews?${query}`);
    return { status: 200, body: page, headers };
  });
  route("get", `${R}/collaborators/{username}/permission`, ({ params }) => {
    const role = state.roles.get(params.username ?? "") ?? "none";
    // role_name carries maintain/triage; permission folds them into write/read as GitHub does.
    const permission = role === "maintain" ? "write" : role === "triage" ? "read" : role;
    return {
      status: 200,
      body: { permission, role_name: role, user: role === "none" ? null : user(params.username ?? "") },
    };
  });
  route("get", "/orgs/{org}/teams/{team_slug}/memberships/{username}", ({ params }) => {
    const members = state.teams.get(`${params.org}/${params.team_slug}`);
    return members?.has(params.username ?? "")
      ? {
          status: 200,
          body: {
            role: "member",
            state: "active",
            url: `${url}/orgs/${params.org}/teams/${params.team_slug}/memberships/${params.username}`,
          },
        }
      : notFound;
  });
  route("get", `${R}/compare/{basehead}`, ({ params }) => {
    const [, head] = (params.basehead ?? "").split("...");
    const p = [...state.pulls.values()].find((x) => x.headSha === head);
    if (!p) return notFound;
    return {
      status: 200,
      body: {
        status: p.behindBy > 0 ? "diverged" : "ahead",
        ahead_by: 1,
        behind_by: p.behindBy,
        total_commits: 1,
        commits: [],
        files: [],
      },
    };
  });
  route("get", `${R}/commits/{ref}/check-runs`, ({ params, query }) => {
    const list = state.checks.filter((c) => c.headSha === params.ref).map(checkBody);
    const { page, headers } = paged(list, query, `${repoUrl()}/commits/${params.ref}/check-runs?${query}`);
    return { status: 200, body: { total_count: list.length, check_runs: page }, headers };
  });
  route("post", `${R}/check-runs`, ({ body }) => {
    const b = body as {
      name: string;
      head_sha: string;
      status?: string;
      conclusion?: string;
      output?: { title: string; summary: string };
    };
    const check: StandinCheck = {
      id: id(),
      name: b.name,
      headSha: b.head_sha,
      status: b.conclusion ? "completed" : (b.status ?? "queued"),
      conclusion: b.conclusion ?? null,
      title: b.output?.title ?? "",
      summary: b.output?.summary ?? "",
    };
    state.checks.push(check);
    return { status: 201, body: checkBody(check) };
  });
  route("get", `${R}/issues/{issue_number}/comments`, ({ params, query }) => {
    const list = state.comments.filter((c) => c.issue === Number(params.issue_number)).map(commentBody);
    const { page, headers } = paged(
      list,
      query,
      `${repoUrl()}/issues/${params.issue_number}/comments?${query}`,
    );
    return { status: 200, body: page, headers };
  });
  route("post", `${R}/issues/{issue_number}/comments`, ({ params, body, user: who }) => {
    const c: StandinComment = {
      id: id(),
      issue: Number(params.issue_number),
      user: who,
      body: (body as { body: string }).body,
    };
    state.comments.push(c);
    return { status: 201, body: commentBody(c) };
  });
  route("patch", `${R}/issues/comments/{comment_id}`, ({ params, body }) => {
    const c = state.comments.find((x) => x.id === Number(params.comment_id));
    if (!c) return notFound;
    c.body = (body as { body: string }).body;
    return { status: 200, body: commentBody(c) };
  });
  route("get", `${R}/issues`, ({ query }) => {
    const labels = query.get("labels")?.split(",").filter(Boolean) ?? [];
    const want = query.get("state") ?? "open";
    const list = state.issues
      .filter((i) => want === "all" || i.state === want)
      .filter((i) => labels.every((l) => i.labels.includes(l)))
      .map(issueBody);
    const { page, headers } = paged(list, query, `${repoUrl()}/issues?${query}`);
    return { status: 200, body: page, headers };
  });
  route("post", `${R}/issues`, ({ body }) => {
    const b = body as { title: string; body?: string; labels?: (string | { name?: string })[] };
    const issue: StandinIssue = {
      number: id(),
      title: b.title,
      body: b.body ?? "",
      state: "open",
      labels: (b.labels ?? []).map((l) => (typeof l === "string" ? l : (l.name ?? ""))),
    };
    state.issues.push(issue);
    return { status: 201, body: issueBody(issue) };
  });
  route("patch", `${R}/issues/{issue_number}`, ({ params, body }) => {
    const issue = state.issues.find((i) => i.number === Number(params.issue_number));
    if (!issue) return notFound;
    const b = body as Partial<{ title: string; body: string; state: "open" | "closed" }>;
    Object.assign(
      issue,
      Object.fromEntries(Object.entries(b).filter(([k]) => ["title", "body", "state"].includes(k))),
    );
    return { status: 200, body: issueBody(issue) };
  });
  route("get", `${R}/pulls`, ({ params, query }) => {
    if (!mine(params)) return notFound;
    const want = query.get("state") ?? "open";
    const head = query.get("head");
    const list = [...state.pulls.values()]
      .filter((p) => want === "all" || p.state === want)
      .filter((p) => !head || pullBody(p).head.label === head)
      .map(pullBody);
    const { page, headers } = paged(list, query, `${repoUrl()}/pulls?${query}`);
    return { status: 200, body: page, headers };
  });
  route("get", `${R}/actions/runs/{run_id}/artifacts`, ({ params, query }) => {
    const name = query.get("name");
    const list = state.artifacts
      .filter((a) => mine(params) && a.runId === Number(params.run_id) && (!name || a.name === name))
      .map((a) => ({
        id: a.id,
        node_id: `MDg6QXJ0aWZhY3Q${a.id}`,
        name: a.name,
        size_in_bytes: a.zip.length,
        url: `${repoUrl()}/actions/artifacts/${a.id}`,
        archive_download_url: `${repoUrl()}/actions/artifacts/${a.id}/zip`,
        expired: a.expired ?? false,
        created_at: "2026-01-01T00:00:00Z",
        expires_at: "2026-01-02T00:00:00Z",
        updated_at: "2026-01-01T00:00:00Z",
      }));
    return { status: 200, body: { total_count: list.length, artifacts: list } };
  });
  route("get", `${R}/actions/artifacts/{artifact_id}/{archive_format}`, ({ params }) => {
    const a = state.artifacts.find((x) => x.id === Number(params.artifact_id));
    if (!mine(params) || !a || params.archive_format !== "zip") return notFound;
    if (a.expired) return { status: 410, body: { message: "Artifact has expired" } };
    return {
      status: 302,
      headers: { location: `${url}/_storage/artifacts/${a.id}?sig=${storageSig(a.id)}` },
    };
  });
  route("get", `${R}/labels/{name}`, ({ params }) =>
    state.labels.has(params.name ?? "")
      ? { status: 200, body: { name: params.name, color: "ededed" } }
      : notFound,
  );
  route("post", `${R}/labels`, ({ body }) => {
    const name = (body as { name: string }).name;
    state.labels.add(name);
    return { status: 201, body: { name, color: (body as { color?: string }).color ?? "ededed" } };
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const full = new URL(req.url ?? "/", base);
    const method = req.method ?? "GET";
    const text = await readBody(req);
    const logged: Logged = { method, path: full.pathname, status: 0 };
    requests.push(logged);
    const fail = (why: string) => {
      violations.push(`${method} ${full.pathname}${full.search}: ${why}`);
      logged.status = 500;
      json(res, 500, { message: `GitHub stand-in: ${why}` });
    };
    const storage = /^\/_storage\/artifacts\/(\d+)$/.exec(full.pathname);
    if (storage) {
      // The signed URL is the credential, as GitHub's storage URLs are.
      const a = state.artifacts.find((x) => x.id === Number(storage[1]));
      if (method !== "GET" || !a || full.searchParams.get("sig") !== storageSig(a.id)) {
        logged.status = 403;
        res.writeHead(403).end();
        return;
      }
      logged.status = 200;
      res.writeHead(200, { "content-type": "application/zip", "content-length": a.zip.length });
      res.end(a.zip);
      return;
    }
    const auth = req.headers.authorization ?? "";
    const bearer = auth.replace(/^(token|bearer|Bearer) /, "");
    if (full.pathname === "/graphql" && (bearer === token || bearer === readOnlyToken)) {
      if (standin.graphqlOutage) {
        logged.status = standin.graphqlOutage;
        json(res, standin.graphqlOutage, { message: "GitHub stand-in: GraphQL outage, as asked" });
        return;
      }
      const answer = await answerGraphql(method, text, bearer === readOnlyToken);
      if (typeof answer === "string") return fail(answer);
      logged.status = 200;
      logged.body = answer.request;
      json(res, 200, answer.response);
      return;
    }
    // A fork's pull_request run gets a read-only token: GitHub refuses its writes.
    if (bearer === readOnlyToken && method !== "GET") {
      logged.status = 403;
      json(res, 403, {
        message: "Resource not accessible by integration",
        documentation_url: "https://docs.github.com/rest",
      });
      return;
    }
    if (bearer !== token && bearer !== readOnlyToken) {
      logged.status = 401;
      json(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
      return;
    }
    const found = matchOperation(method, full.pathname);
    if (typeof found === "string") return fail(found);
    const matched: Matched =
      found.find((m) => handlers.has(`${m.method} ${m.template}`)) ?? (found[0] as Matched);
    logged.operationId = matched.operation.operationId;
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return fail("the body is not JSON");
      }
      logged.body = body;
    }
    const wrong = checkRequest(matched, full.searchParams, body);
    if (wrong.length) return fail(`${matched.operation.operationId}: ${wrong.join("; ")}`);
    const handler = handlers.get(`${matched.method} ${matched.template}`);
    if (!handler)
      return fail(
        `${matched.operation.operationId} (${matched.template}) is not implemented by the stand-in`,
      );
    const answer = handler({ params: matched.params, query: full.searchParams, body, user: botLogin });
    const schema = responseSchema(matched, answer.status);
    // An answer GitHub documents without a body (some 404s) is sent without one.
    const out = answer.body === undefined || !schema ? undefined : fill(schema, answer.body);
    const broken = checkResponse(matched, answer.status, out);
    if (broken) return fail(`the stand-in's own answer breaks GitHub's schema: ${broken}`);
    logged.status = answer.status;
    json(res, answer.status, out, answer.headers);
  };

  const storageSig = (artifactId: number) => `sig-${artifactId}-${token.length}`;

  /** GitHub's GraphQL root for the few fields plinth uses (graphql-js resolves the rest by name). */
  const commentNode = (c: StandinComment) => ({
    __typename: "IssueComment",
    id: `IC_${c.id}`,
    isMinimized: c.minimized !== undefined,
    minimizedReason: c.minimized ?? null,
    viewerCanMinimize: true,
  });
  const byNodeId = (nodeId: string) => state.comments.find((c) => `IC_${c.id}` === nodeId);
  const root = (readOnly: boolean) => ({
    nodes: ({ ids }: { ids: string[] }) =>
      ids.map((nodeId) => {
        const c = byNodeId(nodeId);
        return c ? commentNode(c) : null;
      }),
    minimizeComment: ({
      input,
    }: {
      input: { subjectId: string; classifier: string; clientMutationId?: string };
    }) => {
      if (readOnly) throw new GitHubGraphqlError("Resource not accessible by integration");
      const c = byNodeId(input.subjectId);
      if (!c)
        throw new GitHubGraphqlError(
          `Could not resolve to a node with the global id of '${input.subjectId}'`,
        );
      // GitHub reports the reason in lower case, with dashes (`off-topic`).
      c.minimized = input.classifier.toLowerCase().replaceAll("_", "-");
      return { clientMutationId: input.clientMutationId ?? null, minimizedComment: commentNode(c) };
    },
  });

  /** A POST /graphql: the document judged against GitHub's schema, then run against it. */
  const answerGraphql = async (
    method: string,
    text: string,
    readOnly: boolean,
  ): Promise<string | { request: unknown; response: unknown }> => {
    if (method !== "POST") return `${method} /graphql: GitHub's GraphQL endpoint takes POST`;
    let request: { query?: unknown; variables?: unknown };
    try {
      request = JSON.parse(text);
    } catch {
      return "the GraphQL request is not JSON";
    }
    if (typeof request.query !== "string") return "the GraphQL request has no query";
    const query = request.query;
    graphqlLog.push({ query, variables: request.variables });
    const invalid = await checkGraphql(query);
    if (invalid.length) return `the GraphQL document breaks GitHub's schema: ${invalid.join("; ")}`;
    const { result, broken } = await runGraphql(query, request.variables, root(readOnly));
    if (broken.length) return `the GraphQL request or answer breaks GitHub's schema: ${broken.join("; ")}`;
    return { request, response: result };
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      violations.push(`${req.method} ${req.url}: stand-in crashed: ${String(e)}`);
      if (!res.headersSent) json(res, 500, { message: String(e) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `${base}:${(server.address() as AddressInfo).port}`;
  const standin: GitHubStandin = {
    url,
    token,
    readOnlyToken,
    owner,
    repo,
    botLogin,
    state,
    requests,
    violations,
    graphql: graphqlLog,
    graphqlOutage: undefined,
    route,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return standin;
}
