import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The daemon serves the built dashboard from its package data, so the build lands there
// (gitignored) instead of web/dist. Absolute base "/" because the daemon falls back to
// index.html for every client route, including nested ones like /servers/7.
const outDir = fileURLToPath(new URL("../monitord/static/dashboard", import.meta.url));

// `npm run dev` talks to a daemon on its default address.
const daemon = process.env.MONITORD_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
  },
  server: {
    proxy: {
      "/api": { target: daemon, changeOrigin: false },
      "/ws": { target: daemon.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    reporters: ["default", "./summaryReporter.ts"],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
