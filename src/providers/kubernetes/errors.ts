/** How a call to the API server fails, as plinth reads it: status code, reason and message. */

/** A failed call: the HTTP status, the Kubernetes `Status` body, and the headers (Retry-After). */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly body: { reason?: string; message?: string },
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "KubeApiError";
  }
}

export interface ApiError {
  code: number;
  reason?: string;
  message: string;
}

/** The status code and Kubernetes `Status` message of a failed call (or a network error as code 0). */
export function apiError(e: unknown): ApiError {
  if (e instanceof KubeApiError) {
    return {
      code: e.code,
      ...(e.body.reason ? { reason: e.body.reason } : {}),
      message: e.body.message ?? e.message,
    };
  }
  return { code: 0, message: (e as Error).message ?? String(e) };
}
