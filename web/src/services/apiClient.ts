/**
 * The REST client: JSON in and out, `Authorization: Bearer` on every call but login, the
 * contract's error body turned into an {@link ApiError}. A 401 on an authenticated call means
 * the session is over, so it reports that once through `onUnauthorized`.
 */
import type {
  ApiErrorBody,
  LoginRequest,
  LoginResponse,
  MetricsResponse,
  ServerListResponse,
  User,
  VpsListItemResponse,
} from "../types";

export class ApiError extends Error {
  /** HTTP status; 0 when the daemon could not be reached at all. */
  readonly status: number;
  /** The daemon's error code, or "network_error" / "http_<status>" when it sent none. */
  readonly code: string;
  /** From a Retry-After header in seconds (sent with 429), else null. */
  readonly retryAfterSeconds: number | null;

  constructor(status: number, code: string, message: string, retryAfterSeconds: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

function isApiErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== "object" || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

function parseRetryAfter(header: string | null): number | null {
  if (header === null) return null;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : null;
}

/** Reads a non-2xx response into an ApiError, whatever its body holds. */
export async function toApiError(response: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // A proxy's HTML page or an empty body: fall through to the generic error.
  }
  if (isApiErrorBody(body)) {
    return new ApiError(response.status, body.error.code, body.error.message, retryAfter);
  }
  return new ApiError(
    response.status,
    `http_${response.status}`,
    response.statusText || `HTTP ${response.status}`,
    retryAfter,
  );
}

export interface ApiClientOptions {
  getToken(): string | null;
  /** Called when an authenticated request is refused with 401. */
  onUnauthorized(): void;
  fetch?: typeof fetch;
  /** Prefix for every path; "" means this page's origin. */
  baseUrl?: string;
}

interface RequestOptions {
  body?: unknown;
  /** Send the bearer token (everything but login and health). */
  authenticated?: boolean;
  /** Aborts the request; the call then rejects with the signal's reason, not an ApiError. */
  signal?: AbortSignal;
}

export function createApiClient(options: ApiClientOptions) {
  const baseUrl = options.baseUrl ?? "";
  // Resolved per call so tests that stub the global fetch after import still work.
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function request<T>(method: string, path: string, requestOptions: RequestOptions = {}): Promise<T> {
    const authenticated = requestOptions.authenticated ?? true;
    const headers: Record<string, string> = { Accept: "application/json" };
    if (requestOptions.body !== undefined) headers["Content-Type"] = "application/json";
    if (authenticated) {
      const token = options.getToken();
      if (token !== null) headers.Authorization = `Bearer ${token}`;
    }
    let response: Response;
    try {
      response = await doFetch(baseUrl + path, {
        method,
        headers,
        body: requestOptions.body === undefined ? null : JSON.stringify(requestOptions.body),
        credentials: "omit",
        signal: requestOptions.signal ?? null,
      });
    } catch (cause) {
      // The caller gave up on purpose: not a network failure to report.
      if (requestOptions.signal?.aborted === true) throw requestOptions.signal.reason;
      const message = cause instanceof Error ? cause.message : String(cause);
      throw new ApiError(0, "network_error", message);
    }
    if (!response.ok) {
      const error = await toApiError(response);
      if (authenticated && response.status === 401) options.onUnauthorized();
      throw error;
    }
    // DELETE and friends answer 204 with no body.
    if (response.status === 204) return null as T;
    return (await response.json()) as T;
  }

  return {
    request,
    login: (credentials: LoginRequest) =>
      request<LoginResponse>("POST", "/api/auth/login", { body: credentials, authenticated: false }),
    me: () => request<User>("GET", "/api/auth/me"),
    listServers: () => request<ServerListResponse>("GET", "/api/servers"),
    getServer: (id: number) => request<VpsListItemResponse>("GET", `/api/servers/${id}`),
    getMetrics: (id: number, query: { from: string; to: string; step: number }, signal?: AbortSignal) => {
      const params = new URLSearchParams({ from: query.from, to: query.to, step: String(query.step) });
      return request<MetricsResponse>("GET", `/api/servers/${id}/metrics?${params.toString()}`, {
        ...(signal === undefined ? {} : { signal }),
      });
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
