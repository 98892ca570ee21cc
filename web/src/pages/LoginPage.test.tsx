import { fireEvent, render, screen } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { useLocaleStore } from "../i18n/i18n";
import { useAuthStore } from "../store/authStore";
import { LoginPage } from "./LoginPage";

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

async function submitWith(response: Response | Error) {
  const fetchMock = vi.fn<typeof fetch>();
  if (response instanceof Error) fetchMock.mockRejectedValue(response);
  else fetchMock.mockResolvedValue(response);
  vi.stubGlobal("fetch", fetchMock);
  render(<LoginPage next="/" />);
  fireEvent.change(document.querySelector('input[name="username"]')!, { target: { value: "admin" } });
  fireEvent.change(document.querySelector('input[name="password"]')!, { target: { value: "wrong" } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
  return (await screen.findByTestId("login-error")).textContent;
}

beforeEach(() => {
  useAuthStore.setState(useAuthStore.getInitialState(), true);
  useLocaleStore.setState({ locale: "en" });
});

describe("LoginPage errors", () => {
  it("401 says the credentials are wrong", async () => {
    expect(await submitWith(jsonResponse(401, { error: { code: "bad_credentials", message: "x" } }))).toBe(
      "Incorrect username or password.",
    );
    expect(useAuthStore.getState().session).toBeNull();
  });

  it("429 says to wait, with the time when the daemon gives one", async () => {
    expect(
      await submitWith(
        jsonResponse(429, { error: { code: "too_many_attempts", message: "x" } }, { "Retry-After": "42" }),
      ),
    ).toBe("Too many failed attempts. Try again in 42 s.");
  });

  it("429 without Retry-After still explains", async () => {
    expect(await submitWith(jsonResponse(429, { error: { code: "too_many_attempts", message: "x" } }))).toBe(
      "Too many failed attempts. Please wait and try again.",
    );
  });

  it("another error shows the daemon's message as text", async () => {
    expect(await submitWith(jsonResponse(500, { error: { code: "internal", message: "<i>db down</i>" } }))).toBe(
      "Sign-in failed: <i>db down</i>",
    );
    expect(document.querySelector("i")).toBeNull();
  });

  it("an unreachable daemon is named as such", async () => {
    expect(await submitWith(new TypeError("Failed to fetch"))).toBe("Cannot reach the monitord daemon.");
  });

  it("the button is re-enabled after a failure", async () => {
    await submitWith(jsonResponse(401, { error: { code: "bad_credentials", message: "x" } }));
    expect(screen.getByRole("button", { name: "Sign in" }).hasAttribute("disabled")).toBe(false);
  });
});
