# One entry point for people and CI. `make run` and `make test` do all set-up themselves.
# The first interpreter that runs and is 3.11 or newer.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint typecheck pytest bench soak fuzz clean browser

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "pushd needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/pushd serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report --include='mfa_core/*' --fail-under=100

# Debian's Chromium for the browser tests, when this machine can install it (root + apt).
browser:
	@[ -x /usr/bin/chromium ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; } || \
		echo "make: no /usr/bin/chromium: the browser tests will be skipped"

test: browser lint typecheck pytest

bench: setup
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get install -y -qq wrk >/dev/null 2>&1; } || echo "bench: no wrk; using the aiohttp client"
	$(BIN)/python -m bench

# Ten minutes of mixed traffic, reconciled at the end (CI runs two minutes of it).
soak: setup
	$(BIN)/python -m bench.soak --duration $(or $(SOAK_SECONDS),600) $(SOAK_ARGS)

# Coverage-guided fuzzing of every untrusted-input parser (atheris), bounded per harness.
fuzz: setup
	$(BIN)/python -m pip install --quiet -e '.[dev,fuzz]'
	$(BIN)/python fuzz/run.py --seconds $(or $(FUZZ_SECONDS),60)

clean:
	rm -rf $(VENV) .coverage .pytest_cache .mypy_cache .ruff_cache .fuzz
