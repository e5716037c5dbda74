import { type HttpAnswer, requestText } from "../http.js";

/**
 * A small client for Vault's (and OpenBao's, which keeps the same API) HTTP API over Node's HTTP client.
 * There is no official Vault client for Node.js (HashiCorp ships Go, Ruby, C# and Java ones), and
 * the community `node-vault` adds nothing plinth needs, so plinth speaks the documented API itself.
 *
 * Errors carry the method, the path and Vault's own error strings, never a request body: bodies
 * hold secret values, unseal keys and tokens.
 */
export interface VaultClientOptions {
  /** `https://secrets.example.org` or `http://127.0.0.1:8200`, without `/v1`. */
  address: string;
  token?: string;
  /** Per-request timeout; default 30s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface VaultResponse<T> {
  status: number;
  body: T;
}

export class VaultApiError extends Error {
  readonly status: number;
  readonly errors: string[];
  constructor(method: string, path: string, status: number, errors: string[]) {
    super(`vault ${method} /v1/${path}: ${status}${errors.length ? ` ${errors.join("; ")}` : ""}`);
    this.name = "VaultApiError";
    this.status = status;
    this.errors = errors;
  }
}

/** Vault refused to connect or did not answer: the address is wrong or the server is down. */
export class VaultUnreachableError extends Error {
  constructor(address: string, cause: unknown) {
    super(`cannot reach Vault at ${address}: ${(cause as Error).message ?? String(cause)}`);
    this.name = "VaultUnreachableError";
  }
}

export class VaultClient {
  readonly address: string;
  private token: string | undefined;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;

  constructor(o: VaultClientOptions) {
    this.address = o.address.replace(/\/+$/, "");
    this.token = o.token;
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.signal = o.signal;
  }

  withToken(token: string): VaultClient {
    return new VaultClient({
      address: this.address,
      token,
      timeoutMs: this.timeoutMs,
      ...(this.signal ? { signal: this.signal } : {}),
    });
  }

  hasToken(): boolean {
    return Boolean(this.token);
  }

  setToken(token: string): void {
    this.token = token;
  }

  /** One call; resolves for every HTTP status (callers decide what is an error). */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<VaultResponse<T>> {
    const url = new URL(`${this.address}/v1/${path}`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let answer: HttpAnswer;
    try {
      answer = await requestText(
        url,
        {
          method,
          headers: {
            ...(this.token ? { "x-vault-token": this.token } : {}),
            ...(payload === undefined
              ? {}
              : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
          },
          ...(this.signal ? { signal: this.signal } : {}),
        },
        payload,
        this.timeoutMs,
      );
    } catch (e) {
      throw new VaultUnreachableError(this.address, e);
    }
    const text = answer.body;
    let parsed: unknown = {};
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { errors: [`non-JSON answer (${text.length} bytes)`] };
      }
    }
    return { status: answer.code, body: parsed as T };
  }

  /** A call that must succeed (2xx); 404 resolves to undefined when `allowMissing`. */
  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request<T & { errors?: string[] }>(method, path, body);
    if (r.status >= 200 && r.status < 300) return r.body;
    throw new VaultApiError(method, path, r.status, r.body?.errors ?? []);
  }

  /** GET that resolves to undefined on 404. */
  async read<T = Record<string, unknown>>(path: string): Promise<T | undefined> {
    const r = await this.request<T & { errors?: string[] }>("GET", path);
    if (r.status === 404) return undefined;
    if (r.status >= 200 && r.status < 300) return r.body;
    throw new VaultApiError("GET", path, r.status, r.body?.errors ?? []);
  }

  /** LIST (as GET ?list=true); a missing folder is an empty list. */
  async list(path: string): Promise<string[]> {
    const r = await this.request<{ data?: { keys?: string[] }; errors?: string[] }>(
      "GET",
      `${path}?list=true`,
    );
    if (r.status === 404) return [];
    if (r.status >= 200 && r.status < 300) return r.body.data?.keys ?? [];
    throw new VaultApiError("LIST", path, r.status, r.body?.errors ?? []);
  }
}
