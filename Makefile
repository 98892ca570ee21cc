# monitord: `make run` runs the daemon on the embedded defaults; `make test` runs every test.
# Both work on a fresh machine (Python 3.11+): they create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test fuzz install clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "monitord needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(INSTALLED)

run: install
	@if [ -f data/initial-admin-password ]; then \
		echo "Dashboard: http://127.0.0.1:8080  user: admin  password: $$(cat data/initial-admin-password)"; \
	fi
	$(BIN)/python -m monitord

test: install
	$(BIN)/python -m pytest

# Longer fuzzing than `make test` runs: thousands of examples per target, random seeds.
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/fuzz

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
