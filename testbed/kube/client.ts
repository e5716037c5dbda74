/**
 * A minimal Kubernetes REST client over `node:https` with the kubeconfig's client certificate.
 * The test bed and its smoke tests need only a handful of calls (apply, get, list, delete), and
 * Node's `fetch` cannot present a client certificate without an extra dependency.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { parse } from "yaml";

export interface KubeCredentials {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface KubeResponse<T = unknown> {
  status: number;
  body: T;
  text: string;
}

interface Kubeconfig {
  "current-context"?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
  users?: { name: string; user: { "client-certificate-data"?: string; "client-key-data"?: string } }[];
}

/** Reads the current context of a kubeconfig with embedded (`*-data`) certificates. */
export function loadKubeconfig(path: string): KubeCredentials {
  const config = parse(readFileSync(path, "utf8")) as Kubeconfig;
  const ctx = config.contexts?.find((c) => c.name === config["current-context"])?.context;
  const cluster = config.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = config.users?.find((u) => u.name === ctx?.user)?.user;
  const ca = cluster?.["certificate-authority-data"];
  const cert = user?.["client-certificate-data"];
  const key = user?.["client-key-data"];
  if (!cluster || !ca || !cert || !key) {
    throw new Error(`${path}: expected a current context with embedded CA, client certificate and key`);
  }
  return {
    server: cluster.server,
    ca: Buffer.from(ca, "base64"),
    cert: Buffer.from(cert, "base64"),
    key: Buffer.from(key, "base64"),
  };
}

export class KubeClient {
  constructor(readonly creds: KubeCredentials) {}

  static fromKubeconfig(path: string): KubeClient {
    return new KubeClient(loadKubeconfig(path));
  }

  /** One HTTP call; resolves for every status (callers decide what is an error). */
  request<T = unknown>(
    method: string,
    path: string,
    options: { body?: unknown; contentType?: string; timeoutMs?: number } = {},
  ): Promise<KubeResponse<T>> {
    const url = new URL(path, this.creds.server);
    const payload =
      options.body === undefined
        ? undefined
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.creds.ca,
          cert: this.creds.cert,
          key: this.creds.key,
          timeout: options.timeoutMs ?? 30_000,
          headers: {
            accept: "application/json",
            ...(payload === undefined ? {} : { "content-type": options.contentType ?? "application/json" }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // Health endpoints answer plain text.
            }
            resolve({ status: res.statusCode ?? 0, body: body as T, text });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Like `request`, but throws with the server's message unless the status is 2xx. */
  async call<T = unknown>(
    method: string,
    path: string,
    options: { body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const res = await this.request<T>(method, path, options);
    if (res.status < 200 || res.status > 299) {
      throw new Error(`${method} ${path}: HTTP ${res.status}: ${statusMessage(res.body) ?? res.text}`);
    }
    return res.body;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  /** A short-lived token of a ServiceAccount (the TokenRequest API), as a pod would be given. */
  async serviceAccountToken(namespace: string, name: string, seconds = 600): Promise<string> {
    const review = await this.call<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: seconds },
        },
      },
    );
    return review.status.token;
  }

  /**
   * Server-side apply (field manager given, conflicts forced, as a tool that owns its objects does).
   * `path` is the object's own URL, e.g. /apis/apps/v1/namespaces/default/deployments/web.
   */
  apply<T = unknown>(
    path: string,
    object: unknown,
    options: { fieldManager?: string; dryRun?: boolean } = {},
  ): Promise<KubeResponse<T>> {
    const query = new URLSearchParams({
      fieldManager: options.fieldManager ?? "plinth-testbed",
      force: "true",
    });
    if (options.dryRun) query.set("dryRun", "All");
    return this.request<T>("PATCH", `${path}?${query}`, {
      body: object,
      contentType: "application/apply-patch+yaml",
    });
  }
}

/** The `message` of a Kubernetes `Status` body, if that is what it is. */
export function statusMessage(body: unknown): string | undefined {
  if (body && typeof body === "object" && "message" in body && typeof body.message === "string") {
    return body.message;
  }
  return undefined;
}

/** URL path of an object from its apiVersion, resource plural, namespace and name. */
export function objectPath(apiVersion: string, plural: string, name: string, namespace?: string): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ""}/${plural}/${name}`;
}
