import { describe, expect, it } from "vitest";
import { matchRoute, navigate, safeNextPath } from "./router";

describe("matchRoute", () => {
  it.each([
    ["/", { name: "home" }],
    ["/login", { name: "login" }],
    ["/servers/42", { name: "detail", id: 42 }],
    ["/servers/42/", { name: "detail", id: 42 }],
    ["/servers/abc", { name: "notFound" }],
    ["/servers/-1", { name: "notFound" }],
    ["/api/servers", { name: "notFound" }],
  ])("%s → %o", (path, route) => {
    expect(matchRoute(path)).toEqual(route);
  });
});

describe("safeNextPath", () => {
  it("keeps same-origin paths", () => {
    expect(safeNextPath("/servers/3?x=1")).toBe("/servers/3?x=1");
  });
  it.each([null, "", "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"])(
    "refuses %s",
    (next) => {
      expect(safeNextPath(next)).toBe("/");
    },
  );
});

describe("navigate", () => {
  it("changes the URL and can replace the history entry", () => {
    const length = window.history.length;
    navigate("/servers/1");
    expect(window.location.pathname).toBe("/servers/1");
    expect(window.history.length).toBe(length + 1);
    navigate("/login", { replace: true });
    expect(window.location.pathname).toBe("/login");
    expect(window.history.length).toBe(length + 1);
  });
});
