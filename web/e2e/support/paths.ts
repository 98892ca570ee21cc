/** Where the e2e run finds the repository's parts, and where it writes its results. */
import { fileURLToPath } from "node:url";

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

export const WEB_DIR = here("../../");
export const REPO_DIR = here("../../../");
/** The interpreter `make install` sets up, with monitord installed in editable mode. */
export const PYTHON = here("../../../.venv/bin/python");
/** This folder: helper scripts the tests run with {@link PYTHON}. */
export const SUPPORT_DIR = here("./");
/** The built dashboard the daemon serves (`make dashboard` / `npm run build`). */
export const DASHBOARD_INDEX = here("../../../monitord/static/dashboard/index.html");
/** Debian's chromium (`make test` installs it: tools/system-deps); CHROMIUM= points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
/** Screenshots and process logs of the run (gitignored). */
export const RESULTS_DIR = here("../../test-results/e2e/");
