/**
 * Runs once before the e2e files. Without Chromium, the Python environment or the built
 * dashboard the run cannot test anything, so it fails with one line saying what is missing
 * (it never passes silently). Also clears the previous run's screenshots and logs.
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync } from "node:fs";
import { CHROMIUM, DASHBOARD_INDEX, PYTHON, RESULTS_DIR } from "./paths";

function missing(): string | null {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    return `e2e: cannot run the browser tests: no Chromium at ${CHROMIUM} (make test installs it: tools/system-deps; or set CHROMIUM=)`;
  }
  if (!existsSync(PYTHON)) return `e2e: cannot run the browser tests: no ${PYTHON} (run make install)`;
  if (!existsSync(DASHBOARD_INDEX)) {
    return `e2e: cannot run the browser tests: the dashboard is not built at ${DASHBOARD_INDEX} (run make dashboard)`;
  }
  return null;
}

export default function setup(): void {
  const reason = missing();
  if (reason !== null) {
    process.stderr.write(`${reason}\n`);
    process.exit(1);
  }
  rmSync(RESULTS_DIR, { recursive: true, force: true });
  mkdirSync(RESULTS_DIR, { recursive: true });
}
