import { afterEach } from "vitest";

// Pure-logic test files run in the node environment (no DOM); the rest run in jsdom.
if (typeof window !== "undefined") {
  const { cleanup } = await import("@testing-library/react");
  // Testing Library registers its own cleanup only when test globals are enabled; they are not.
  afterEach(() => {
    cleanup();
    sessionStorage.clear();
    localStorage.clear();
    window.history.replaceState(null, "", "/");
  });
}
