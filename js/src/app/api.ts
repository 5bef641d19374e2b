/**
 * The JSON API, from the page or a worker: the session cookie authenticates, and every
 * state-changing call carries the session's CSRF token in `X-CSRF-Token` (http/policy.py).
 * Errors come back as custody's envelope; they become {@link ApiError}s with the
 * server's message and hint.
 */

import { CustodyError } from "../errors.js";

export class ApiError extends CustodyError {
  constructor(
    message: string,
    hint: string | undefined,
    readonly status: number,
    readonly errorCode: string,
  ) {
    super(message, hint);
  }
}

export class Api {
  constructor(private readonly csrf: string) {}

  async request(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (method !== "GET" && method !== "HEAD") headers.set("X-CSRF-Token", this.csrf);
    let response: Response;
    try {
      response = await fetch(path, { ...init, method, headers, credentials: "same-origin" });
    } catch {
      throw new ApiError(
        "the custody server could not be reached",
        "check your connection and try again: nothing was lost",
        0,
        "server_unavailable",
      );
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async get<T>(path: string): Promise<T> {
    return (await (await this.request("GET", path)).json()) as T;
  }

  async post<T>(path: string, body?: unknown): Promise<T> {
    const init: RequestInit =
      body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "Content-Type": "application/json" } };
    const response = await this.request("POST", path, init);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

/** The error a failed answer carries (custody's envelope), as an {@link ApiError}. */
export async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string; hint?: string } };
    const error = body.error;
    if (error && typeof error.message === "string") {
      return new ApiError(error.message, error.hint, response.status, error.code ?? "error");
    }
  } catch {
    // not custody's envelope: say what the status was
  }
  return new ApiError(`the server answered ${response.status}`, undefined, response.status, "error");
}
