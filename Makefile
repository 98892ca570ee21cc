# monitord: `make run` runs the daemon on the embedded defaults with a local agent; `make test` runs every test.
# Both work on a fresh machine (Python 3.11+): they create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test test-python test-web test-e2e fuzz install dashboard clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "monitord needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

WEB_DEPS := web/node_modules/.installed
DASHBOARD := monitord/static/dashboard/index.html
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts \
	web/tsconfig.json web/tsconfig.app.json web/package-lock.json

$(WEB_DEPS): web/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20+ and npm to build the dashboard"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Rebuilt whenever a dashboard source is newer than the build.
$(DASHBOARD): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build --silent

install: $(INSTALLED)

dashboard: $(DASHBOARD)

# The daemon plus a local agent reporting this host (registered once); prints the URL and the
# admin credentials; Ctrl-C stops both (monitord/devrun.py).
run: install dashboard
	$(BIN)/python -m monitord.devrun

test: test-python test-web test-e2e

test-python: install
	$(BIN)/python -m pytest

test-web: $(WEB_DEPS)
	cd web && npm run typecheck --silent && npm test --silent

# The built dashboard in headless Chromium (/usr/bin/chromium; .ci/run installs it) against the
# real daemon and agent from .venv (web/e2e). Fails in one line if Chromium is missing.
test-e2e: install $(DASHBOARD)
	cd web && npm run test:e2e --silent

# Longer fuzzing than `make test` runs: thousands of examples per target, random seeds.
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis web/node_modules monitord/static/dashboard
