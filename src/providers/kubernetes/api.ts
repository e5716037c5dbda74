import { type ClientHttp2Session, connect as connectHttp2 } from "node:http2";
import type { RequestOptions } from "node:https";
import { createSecureContext, type SecureContext } from "node:tls";
import type { KubeConfig } from "@kubernetes/client-node";
import { limiter } from "../../util/pool.js";
import { type HttpAnswer, requestText } from "../http.js";
import { KubeApiError } from "./errors.js";
import type { ObjectRef } from "./identity.js";
import { withRetry } from "./retry.js";

/**
 * The handful of REST calls plinth makes (read, server-side apply, merge patch, delete, list by
 * label, a service-proxy GET), over one multiplexed HTTP/2 connection (a keep-alive HTTP/1.1 pool
 * where h2 is not on offer), at most `maxInFlight` at a time.
 *
 * Why not client-node's KubernetesObjectApi: loading it compiles the whole generated API (14 MB of
 * JavaScript), which alone took longer than `kubectl diff` takes for a whole plan. The official
 * client still does the part that must not be hand-written: reading the kubeconfig and every
 * authentication method it allows (client certificates, tokens, exec plugins, OIDC), through
 * `KubeConfig.applyToHTTPSOptions` on each request (so expiring exec tokens are refreshed).
 */
export class KubeApi {
  private readonly base: URL;
  private readonly resources = new Map<string, Promise<Map<string, ApiResource>>>();
  private readonly secureContexts = new Map<string, SecureContext>();
  private readonly bounded: <T>(fn: () => Promise<T>) => Promise<T>;
  private http2?: Promise<ClientHttp2Session | undefined>;
  /** Requests in flight per session: a session keeps the process alive only while it has some. */
  private readonly http2Streams = new WeakMap<ClientHttp2Session, number>();
  private http2Refused = false;

  constructor(
    private readonly config: KubeConfig,
    server: string,
    private readonly timeoutMs = 60_000,
    /** One bound for the whole process: plans run phases and components side by side. */
    maxInFlight = 32,
  ) {
    this.bounded = limiter(maxInFlight);
    // A server URL may carry a path prefix (a proxy in front of several clusters): keep it.
    this.base = new URL(server.endsWith("/") ? server : `${server}/`);
  }

  async read(ref: ObjectRef): Promise<KubeObjectJson> {
    return this.json("GET", await this.objectPath(ref));
  }

  /** Server-side apply; `dryRun` makes it the plan of the very same call. */
  async apply(
    object: KubeObjectJson,
    o: { fieldManager: string; force?: boolean; dryRun?: boolean },
  ): Promise<KubeObjectJson> {
    const query = new URLSearchParams({ fieldManager: o.fieldManager });
    if (o.force) query.set("force", "true");
    if (o.dryRun) query.set("dryRun", "All");
    return this.json("PATCH", `${await this.objectPath(refOfObject(object))}?${query}`, {
      body: JSON.stringify(object),
      contentType: "application/apply-patch+yaml",
    });
  }

  async mergePatch(ref: ObjectRef, patch: unknown, fieldManager: string): Promise<KubeObjectJson> {
    return this.json("PATCH", `${await this.objectPath(ref)}?${new URLSearchParams({ fieldManager })}`, {
      body: JSON.stringify(patch),
      contentType: "application/merge-patch+json",
    });
  }

  async delete(ref: ObjectRef, propagationPolicy: "Background" | "Foreground" = "Background"): Promise<void> {
    await this.json("DELETE", await this.objectPath(ref), {
      body: JSON.stringify({ kind: "DeleteOptions", apiVersion: "v1", propagationPolicy }),
      contentType: "application/json",
    });
  }

  /** Every object of a kind (in one namespace, or all), filtered by a label selector. */
  async list(
    apiVersion: string,
    kind: string,
    o: { namespace?: string; labelSelector?: string } = {},
  ): Promise<KubeObjectJson[]> {
    const resource = await this.resource(apiVersion, kind);
    const scope = resource.namespaced && o.namespace ? `namespaces/${encodeURIComponent(o.namespace)}/` : "";
    const query = o.labelSelector ? `?${new URLSearchParams({ labelSelector: o.labelSelector })}` : "";
    const list = await this.json("GET", `${groupPrefix(apiVersion)}/${scope}${resource.name}${query}`);
    return (list.items as KubeObjectJson[] | undefined) ?? [];
  }

  /** A GET returning text, e.g. a service's health endpoint through the API server's proxy. */
  async getText(path: string): Promise<string> {
    return (await this.send("GET", path.replace(/^\//, ""))).body;
  }

  private async json(
    method: string,
    path: string,
    o?: { body: string; contentType: string },
  ): Promise<KubeObjectJson> {
    const { body } = await this.send(method, path, o);
    return body ? (JSON.parse(body) as KubeObjectJson) : {};
  }

  private async objectPath(ref: ObjectRef): Promise<string> {
    const resource = await this.resource(ref.apiVersion, ref.kind);
    const scope =
      resource.namespaced && ref.namespace ? `namespaces/${encodeURIComponent(ref.namespace)}/` : "";
    return `${groupPrefix(ref.apiVersion)}/${scope}${resource.name}/${encodeURIComponent(ref.name)}`;
  }

  /**
   * The REST resource serving a kind, from the group-version's discovery document (one GET per
   * group-version per run, shared by concurrent callers). A kind missing from a cached document is
   * looked up once more: its CRD may have been established since.
   */
  private async resource(apiVersion: string, kind: string): Promise<ApiResource> {
    const builtIn = BUILT_IN[`${apiVersion}/${kind}`];
    if (builtIn) return builtIn;
    let known = this.resources.get(apiVersion);
    if (!known) {
      known = this.discover(apiVersion);
      this.resources.set(apiVersion, known);
    }
    let resource = (await known).get(kind);
    if (!resource) {
      // Asked again once, by the first caller to miss; the others wait for that same answer.
      if (this.resources.get(apiVersion) === known) this.resources.set(apiVersion, this.discover(apiVersion));
      resource = (await this.resources.get(apiVersion))?.get(kind);
    }
    if (!resource) {
      throw new KubeApiError(404, `the server has no resource for kind ${kind} in ${apiVersion}`, {
        reason: "NotFound",
        message: `no matches for kind "${kind}" in version "${apiVersion}"`,
      });
    }
    return resource;
  }

  private async discover(apiVersion: string): Promise<Map<string, ApiResource>> {
    try {
      const doc = (await withRetry(`discover ${apiVersion}`, () =>
        this.json("GET", groupPrefix(apiVersion)),
      )) as {
        resources?: { name: string; kind: string; namespaced: boolean }[];
      };
      const out = new Map<string, ApiResource>();
      for (const r of doc.resources ?? []) {
        if (!r.name.includes("/")) out.set(r.kind, { name: r.name, namespaced: r.namespaced });
      }
      return out;
    } catch (e) {
      // A group-version not served (yet): no kinds; a later lookup asks again. Any other failure
      // has had its retries and stays the answer for this run, shared by every caller.
      if (e instanceof KubeApiError && e.code === 404) return new Map();
      throw e;
    }
  }

  private async send(
    method: string,
    path: string,
    o?: { body: string; contentType: string },
  ): Promise<{ body: string }> {
    return this.bounded(() => this.sendNow(method, path, o));
  }

  /**
   * One TLS context per credential set: built for every new connection otherwise, parsing the CA,
   * certificate and key each time (a third of a no-op plan's CPU).
   */
  private secureContextOf(o: RequestOptions & { secureContext?: SecureContext }): SecureContext {
    const parts = [o.ca, o.cert, o.key, o.pfx, o.passphrase].map((v) => String(v ?? ""));
    const key = parts.join("\0");
    let context = this.secureContexts.get(key);
    if (!context) {
      context = createSecureContext({
        ...(o.ca ? { ca: o.ca } : {}),
        ...(o.cert ? { cert: o.cert } : {}),
        ...(o.key ? { key: o.key } : {}),
        ...(o.pfx ? { pfx: o.pfx } : {}),
        ...(o.passphrase ? { passphrase: o.passphrase } : {}),
      });
      this.secureContexts.set(key, context);
    }
    return context;
  }

  /**
   * A request through the API server answered as it came, any status: a Service's own API behind
   * the service proxy (a sign-up refused is an answer to read, not a failure of the call).
   */
  async exchange(
    method: "GET" | "POST",
    path: string,
    json?: string,
    /** For the service behind the proxy (e.g. Vault's X-Vault-Token); never the API server's own. */
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const url = new URL(path.replace(/^\//, ""), this.base);
    const body = json === undefined ? undefined : { body: json, contentType: "application/json" };
    return this.bounded(() => this.answerOf(method, url, body, headers));
  }

  private async sendNow(
    method: string,
    path: string,
    o?: { body: string; contentType: string },
  ): Promise<{ body: string }> {
    const url = new URL(path, this.base);
    const answer = await this.answerOf(method, url, o);
    if (answer.code >= 200 && answer.code < 300) return { body: answer.body };
    let status: { reason?: string; message?: string } = {};
    try {
      status = JSON.parse(answer.body);
    } catch {
      status = { message: answer.body.slice(0, 500) };
    }
    throw new KubeApiError(
      answer.code,
      `${method} ${url.pathname}: HTTP ${answer.code} ${status.message ?? ""}`.trim(),
      status,
      answer.headers,
    );
  }

  private async answerOf(
    method: string,
    url: URL,
    o?: { body: string; contentType: string },
    extraHeaders: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    const options: RequestOptions & { secureContext?: SecureContext } = {
      method,
      headers: {
        ...extraHeaders,
        Accept: "application/json",
        ...(o ? { "Content-Type": o.contentType, "Content-Length": Buffer.byteLength(o.body) } : {}),
      },
    };
    await this.config.applyToHTTPSOptions(options);
    if (url.protocol === "https:") options.secureContext = this.secureContextOf(options);
    const session = await this.http2Session(url, options);
    return session
      ? await this.viaHttp2(session, url, options, o?.body)
      : await this.viaHttp1(url, options, o?.body);
  }

  /**
   * One multiplexed HTTP/2 connection, as kubectl uses: a plan's hundred requests share one TLS
   * handshake instead of making one per pooled socket. Undefined, and HTTP/1.1 from then on, for a
   * plain-HTTP server, a proxy, or a server that does not offer h2.
   */
  private async http2Session(
    url: URL,
    options: RequestOptions & { secureContext?: SecureContext },
  ): Promise<ClientHttp2Session | undefined> {
    if (this.http2Refused || url.protocol !== "https:" || this.config.getCurrentCluster()?.proxyUrl) {
      return undefined;
    }
    const current = this.http2 && (await this.http2);
    if (this.http2 && (!current || (!current.closed && !current.destroyed))) return current;
    this.http2 = new Promise((resolve) => {
      const session = connectHttp2(url.origin, {
        ...(options.secureContext ? { secureContext: options.secureContext } : {}),
        ...(options.servername ? { servername: options.servername } : {}),
        ...(options.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
      });
      let connected = false;
      session.once("connect", () => {
        connected = true;
        session.unref(); // held open only while a request is in flight (see viaHttp2)
        resolve(session);
      });
      session.on("error", () => {
        // Later errors reach the requests in flight (retried, on a new session); one before the
        // connection is up means no h2 here (or no server: HTTP/1.1 then reports the real error).
        if (connected) return;
        this.http2Refused = true;
        resolve(undefined);
      });
    });
    return this.http2;
  }

  private viaHttp2(
    session: ClientHttp2Session,
    url: URL,
    options: RequestOptions,
    body: string | undefined,
  ): Promise<HttpAnswer> {
    const headers: Record<string, string | number> = {
      ":method": options.method ?? "GET",
      ":path": `${url.pathname}${url.search}`,
    };
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
    }
    if (options.auth) headers.authorization = `Basic ${Buffer.from(options.auth).toString("base64")}`;
    return new Promise((resolve, reject) => {
      const streams = (this.http2Streams.get(session) ?? 0) + 1;
      this.http2Streams.set(session, streams);
      if (streams === 1) session.ref();
      // Node ends a DELETE's stream at once unless told it carries a body (DeleteOptions here).
      const stream = session.request(headers, { endStream: body === undefined });
      stream.once("close", () => {
        const left = (this.http2Streams.get(session) ?? 1) - 1;
        this.http2Streams.set(session, left);
        if (left === 0 && !session.destroyed) session.unref();
      });
      let code = 0;
      let answerHeaders: Record<string, string> = {};
      const chunks: Buffer[] = [];
      stream.on("response", (h) => {
        code = Number(h[":status"] ?? 0);
        answerHeaders = Object.fromEntries(
          Object.entries(h)
            .filter(([k]) => !k.startsWith(":"))
            .map(([k, v]) => [k, String(v)]),
        );
      });
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        resolve({ code, headers: answerHeaders, body: Buffer.concat(chunks).toString("utf8") });
      });
      stream.on("error", reject);
      stream.setTimeout(this.timeoutMs, () =>
        stream.destroy(Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" })),
      );
      stream.end(body);
    });
  }

  private viaHttp1(url: URL, options: RequestOptions, body: string | undefined): Promise<HttpAnswer> {
    return requestText(url, options, body, this.timeoutMs);
  }
}

export type KubeObjectJson = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
};

interface ApiResource {
  name: string;
  namespaced: boolean;
}

/**
 * Kinds plinth applies whose REST names are fixed (by Kubernetes itself, or by the CRD of an
 * operator pinned in the catalog): no discovery round trip before the first request. Any other
 * kind is discovered.
 */
const BUILT_IN: Readonly<Record<string, ApiResource>> = Object.freeze(
  Object.fromEntries(
    (
      [
        ["v1", "Namespace", "namespaces", false],
        ["v1", "ConfigMap", "configmaps", true],
        ["v1", "Secret", "secrets", true],
        ["v1", "Service", "services", true],
        ["v1", "ServiceAccount", "serviceaccounts", true],
        ["v1", "PersistentVolumeClaim", "persistentvolumeclaims", true],
        ["v1", "PersistentVolume", "persistentvolumes", false],
        ["v1", "Pod", "pods", true],
        ["apps/v1", "Deployment", "deployments", true],
        ["apps/v1", "StatefulSet", "statefulsets", true],
        ["apps/v1", "DaemonSet", "daemonsets", true],
        ["batch/v1", "Job", "jobs", true],
        ["batch/v1", "CronJob", "cronjobs", true],
        ["networking.k8s.io/v1", "Ingress", "ingresses", true],
        ["storage.k8s.io/v1", "StorageClass", "storageclasses", false],
        ["rbac.authorization.k8s.io/v1", "Role", "roles", true],
        ["rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true],
        ["rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false],
        ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false],
        ["apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false],
        // The pinned operators' kinds the catalog renders: a plan lists them at once instead of
        // waiting a round trip for each group's discovery. A CRD not installed yet answers 404
        // either way.
        ["helm.cattle.io/v1", "HelmChart", "helmcharts", true],
        ["helm.cattle.io/v1", "HelmChartConfig", "helmchartconfigs", true],
        ["postgresql.cnpg.io/v1", "Cluster", "clusters", true],
        ["redis.redis.opstreelabs.in/v1beta2", "Redis", "redis", true],
        ["cert-manager.io/v1", "Certificate", "certificates", true],
        ["cert-manager.io/v1", "ClusterIssuer", "clusterissuers", false],
        ["database.arangodb.com/v1", "ArangoDeployment", "arangodeployments", true],
        ["clickhouse.altinity.com/v1", "ClickHouseInstallation", "clickhouseinstallations", true],
        [
          "clickhouse-keeper.altinity.com/v1",
          "ClickHouseKeeperInstallation",
          "clickhousekeeperinstallations",
          true,
        ],
        ["secrets.hashicorp.com/v1beta1", "VaultConnection", "vaultconnections", true],
        ["secrets.hashicorp.com/v1beta1", "VaultAuth", "vaultauths", true],
        ["secrets.hashicorp.com/v1beta1", "VaultStaticSecret", "vaultstaticsecrets", true],
        // k3s's bundled Traefik: the SSO gate's ForwardAuth middleware.
        ["traefik.io/v1alpha1", "Middleware", "middlewares", true],
      ] as const
    ).map(([apiVersion, kind, name, namespaced]) => [`${apiVersion}/${kind}`, { name, namespaced }]),
  ),
);

function groupPrefix(apiVersion: string): string {
  return apiVersion.includes("/") ? `apis/${apiVersion}` : `api/${apiVersion}`;
}

function refOfObject(o: KubeObjectJson): ObjectRef {
  const meta = (o.metadata ?? {}) as { name?: string; namespace?: string };
  return {
    apiVersion: o.apiVersion ?? "",
    kind: o.kind ?? "",
    name: meta.name ?? "",
    ...(meta.namespace ? { namespace: meta.namespace } : {}),
  };
}
