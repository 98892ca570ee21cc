import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

/**
 * `npm run measure:list`: times the list page with 1000 servers in jsdom, with React's
 * production build (the script sets NODE_ENV=production; both React and the JSX transform
 * follow it). `npm run measure:list:dev` measures the development build `npm test` uses.
 */
export default defineConfig({
  plugins: [react()],
  test: {
    environment: "jsdom",
    include: ["bench/**/*.measure.tsx"],
    testTimeout: 300_000,
  },
});
