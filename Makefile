# monitord: `make run` runs the daemon on the embedded defaults with a local agent; `make test` runs every test.
# Both work on a fresh machine (Python 3.11+): they create .venv and install what they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test install clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "monitord needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(INSTALLED)

# The daemon plus a local agent reporting this host (registered once); prints the URL and the
# admin credentials; Ctrl-C stops both (monitord/devrun.py).
run: install
	$(BIN)/python -m monitord.devrun

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
