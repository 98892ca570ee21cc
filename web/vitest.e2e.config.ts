import { defineConfig } from "vitest/config";

/**
 * `npm run test:e2e`: the dashboard in headless Chromium against the real daemon and a real
 * agent, each started as a process by the tests (e2e/support). One file at a time, because
 * every file runs its own daemon and browser; timeouts are long enough for daemon restarts
 * and the reconnect backoff, while every wait inside a test polls for a state.
 */
export default defineConfig({
  test: {
    environment: "node",
    include: ["e2e/**/*.e2e.ts"],
    globalSetup: ["e2e/support/globalSetup.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: ["default", "./summaryReporter.ts"],
  },
});
