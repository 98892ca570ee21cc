// @vitest-environment node
import { describe, expect, it, vi } from "vitest";
import { ApiError, createApiClient } from "./apiClient";

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function setup(respond: (url: string, init: RequestInit) => Response | Promise<Response>, token: string | null = "tok") {
  const fetchMock = vi.fn((input: RequestInfo | URL, init?: RequestInit) => Promise.resolve(respond(String(input), init ?? {})));
  const onUnauthorized = vi.fn();
  const client = createApiClient({ fetch: fetchMock as typeof fetch, getToken: () => token, onUnauthorized });
  return { client, fetchMock, onUnauthorized };
}

function headersOf(fetchMock: ReturnType<typeof setup>["fetchMock"]): Record<string, string> {
  return (fetchMock.mock.calls[0]![1]!.headers ?? {}) as Record<string, string>;
}

async function caught(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe("authenticated requests", () => {
  it("send the bearer token and decode the JSON body", async () => {
    const { client, fetchMock } = setup(() => jsonResponse(200, { servers: [] }));
    await expect(client.listServers()).resolves.toEqual({ servers: [] });
    expect(fetchMock.mock.calls[0]![0]).toBe("/api/servers");
    expect(headersOf(fetchMock).Authorization).toBe("Bearer tok");
  });

  it("turn the contract's error body into an ApiError", async () => {
    const { client } = setup(() => jsonResponse(404, { error: { code: "not_found", message: "no server 9" } }));
    const error = await caught(client.getServer(9));
    expect(error).toMatchObject({ status: 404, code: "not_found", message: "no server 9" });
  });

  it("report a 401 once through onUnauthorized", async () => {
    const { client, onUnauthorized } = setup(() =>
      jsonResponse(401, { error: { code: "unauthorized", message: "token expired" } }),
    );
    const error = await caught(client.me());
    expect(error.status).toBe(401);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("cope with an error body that is not JSON", async () => {
    const { client, onUnauthorized } = setup(() => new Response("<h1>Bad gateway</h1>", { status: 502, statusText: "Bad Gateway" }));
    const error = await caught(client.listServers());
    expect(error).toMatchObject({ status: 502, code: "http_502", message: "Bad Gateway" });
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it("map a network failure to status 0", async () => {
    const { client } = setup(() => {
      throw new TypeError("Failed to fetch");
    });
    const error = await caught(client.listServers());
    expect(error).toMatchObject({ status: 0, code: "network_error" });
  });

  it("build the metrics query", async () => {
    const { client, fetchMock } = setup(() => jsonResponse(200, { points: [] }));
    await client.getMetrics(3, { from: "2025-01-01T00:00:00Z", to: "2025-01-02T00:00:00Z", step: 60 });
    expect(fetchMock.mock.calls[0]![0]).toBe(
      "/api/servers/3/metrics?from=2025-01-01T00%3A00%3A00Z&to=2025-01-02T00%3A00%3A00Z&step=60",
    );
  });
});

describe("login", () => {
  it("posts the credentials without a token", async () => {
    const response = { token: "jwt", expiresAt: "2025-01-31T12:00:00Z", user: { id: 1, username: "admin", role: "admin" } };
    const { client, fetchMock } = setup(() => jsonResponse(200, response));
    await expect(client.login({ username: "admin", password: "pw" })).resolves.toEqual(response);
    const init = fetchMock.mock.calls[0]![1]!;
    expect(init.method).toBe("POST");
    expect(JSON.parse(init.body as string)).toEqual({ username: "admin", password: "pw" });
    expect(headersOf(fetchMock).Authorization).toBeUndefined();
  });

  it("does not treat bad credentials as a lost session", async () => {
    const { client, onUnauthorized } = setup(() =>
      jsonResponse(401, { error: { code: "bad_credentials", message: "bad credentials" } }),
    );
    expect((await caught(client.login({ username: "a", password: "b" }))).status).toBe(401);
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it("reads Retry-After from a 429", async () => {
    const { client } = setup(() =>
      jsonResponse(429, { error: { code: "too_many_attempts", message: "slow down" } }, { "Retry-After": "30" }),
    );
    expect((await caught(client.login({ username: "a", password: "b" }))).retryAfterSeconds).toBe(30);
  });
});

describe("aborting", () => {
  it("hands the signal to fetch; an aborted call rejects with the abort, not a network error", async () => {
    const controller = new AbortController();
    const fetchMock = vi.fn(
      (_input: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
    );
    const client = createApiClient({ fetch: fetchMock as typeof fetch, getToken: () => "tok", onUnauthorized: vi.fn() });
    const call = client.getMetrics(3, { from: "a", to: "b", step: 2 }, controller.signal);
    expect(fetchMock.mock.calls[0]![1]!.signal).toBe(controller.signal);
    controller.abort();
    const error: unknown = await call.catch((reason: unknown) => reason);
    expect(error).not.toBeInstanceOf(ApiError);
    expect((error as DOMException).name).toBe("AbortError");
  });
});
