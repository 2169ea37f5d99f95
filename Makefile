# Everyday commands. `make run` and `make test` are the README's two set-up commands.
VENV ?= .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test check lint typecheck install browser bench eval clean

# What running needs, nothing compiled: torch first, pinned to the CPU build (an unpinned torch
# pulls a multi-GB CUDA build), then the package itself.
$(RUN_STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e .
	touch $(RUN_STAMP)

# What the tests use as well: the dev tools and the local-LLM backend, whose llama-cpp-python
# compiles once (~15 min on 2 cores, then cached by pip); portable build flags.
$(TEST_STAMP): $(RUN_STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip install --quiet -e ".[dev,llamacpp]"
	touch $(TEST_STAMP)

install: $(RUN_STAMP)

# Installs, ingests corpus/documents if the store is empty, serves http://127.0.0.1:7860
run: $(RUN_STAMP)
	$(VENV)/bin/briefing serve

# The browser test drives Debian's chromium (never a browser a test tool downloads).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: the browser test will be skipped"

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check assistant ingest evals tests
	$(VENV)/bin/ruff format --check assistant ingest evals tests

typecheck: $(TEST_STAMP)
	$(VENV)/bin/mypy assistant ingest

check: lint typecheck

test: $(TEST_STAMP) browser check
	$(PY) -m pytest -q

bench: $(TEST_STAMP)
	$(VENV)/bin/briefing bench ingest
	$(VENV)/bin/briefing bench query
	$(VENV)/bin/briefing bench critique
	$(VENV)/bin/briefing bench ui

eval: $(RUN_STAMP)
	$(VENV)/bin/briefing eval --config all -o eval-report

clean:
	rm -rf $(VENV) data
