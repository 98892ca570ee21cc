# monitord: `make run` runs the daemon on the embedded defaults with a local agent; `make test` runs every test;
# `make bench` measures it (bench/RESULTS.md).
# Both work on a fresh machine (Python 3.11+, Node.js 20): they create .venv and install what they need,
# `make test` also the system packages its tests use (tools/system-deps: as root with apt-get, else it
# stops before any test and says what to run).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test system-deps lint typecheck test-python test-web test-e2e fuzz bench install dashboard agent-bundle clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "monitord needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,test]'
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

# The wheelhouse the daemon serves at /agent/wheels/ for offline agent installs (tools/agent_bundle.py):
# the agent's wheel and its dependencies' wheels for Linux x86_64 and aarch64. Rebuilt when the
# Python sources or the pins change; needs the package index once.
AGENT_BUNDLE := monitord/static/agent-wheels/.built
$(AGENT_BUNDLE): $(INSTALLED) pyproject.toml tools/agent_bundle.py $(shell find monitord -name '*.py' -not -path '*/static/*')
	$(BIN)/python tools/agent_bundle.py
	@touch $@

agent-bundle: $(AGENT_BUNDLE)

dashboard: $(DASHBOARD)

# The daemon plus a local agent reporting this host (registered once); prints the URL and the
# admin credentials; Ctrl-C stops both (monitord/devrun.py).
run: install dashboard agent-bundle
	$(BIN)/python -m monitord.devrun

# In this order: system packages, install, lint, types, then pytest, vitest and the browser tests.
test: system-deps install lint typecheck test-python test-web test-e2e

# Chromium, promtool and shellcheck from Debian's packages (tools/system-deps says why each).
system-deps:
	@tools/system-deps

# ruff (rules in pyproject.toml) over all the Python code; the format check changes nothing.
lint: install
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet --output-format concise .
	shellcheck tools/system-deps .ci/run monitord/agent_install/install.sh

# mypy --strict over monitord/ (settings and the untyped libraries in pyproject.toml).
typecheck: install
	$(BIN)/mypy

test-python: system-deps install agent-bundle
	$(BIN)/python -m pytest

test-web: $(WEB_DEPS)
	cd web && npm run typecheck --silent && npm test --silent

# The built dashboard in headless Chromium (/usr/bin/chromium, or CHROMIUM=; system-deps installs it)
# against the real daemon and agent from .venv (web/e2e).
test-e2e: system-deps install agent-bundle $(DASHBOARD)
	cd web && npm run test:e2e --silent

# Longer fuzzing than `make test` runs: thousands of examples per target, random seeds.
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz

# Figures 1-6 of issue 9 against the real daemon, ~12 minutes on two cores; writes bench/RESULTS.md
# and exits non-zero when a target of bench/targets.toml is missed. It installs what it compares
# with: py-spy into .venv, Glances into its own venv under bench/.cache, and Debian's
# prometheus-node-exporter (only the binary is run, on a free port; no service is left running).
BENCH_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/postgres
GLANCES := bench/.cache/glances/bin/glances

$(GLANCES):
	$(PYTHON) -m venv bench/.cache/glances
	bench/.cache/glances/bin/pip install --quiet glances

$(BIN)/py-spy: $(INSTALLED)
	$(BIN)/pip install --quiet py-spy

/usr/bin/prometheus-node-exporter:
	apt-get install -y prometheus-node-exporter || { apt-get update && apt-get install -y prometheus-node-exporter; }
	-systemctl disable --now prometheus-node-exporter 2>/dev/null

bench: install agent-bundle $(DASHBOARD) $(BIN)/py-spy $(GLANCES) /usr/bin/prometheus-node-exporter
	@if pg_isready -q -d '$(BENCH_POSTGRES)' 2>/dev/null; then \
		$(BIN)/python -m bench.run --postgres '$(BENCH_POSTGRES)'; \
	else \
		echo "bench: no PostgreSQL at $(BENCH_POSTGRES) (set BENCH_POSTGRES=...): measuring SQLite only"; \
		$(BIN)/python -m bench.run; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache web/node_modules monitord/static/dashboard monitord/static/agent-wheels
