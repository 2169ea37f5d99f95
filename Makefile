# Everyday commands. `make run` and `make test` are the README's two set-up commands.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install browser lint bench eval clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU build (an unpinned torch pulls a multi-GB CUDA build)
	$(PY) -m pip install --quiet torch==2.13.0
	# llama-cpp-python compiles (~15 min on 2 cores, then cached by pip); portable build flags
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip install --quiet -e ".[dev,llamacpp]"
	touch $(STAMP)

install: $(STAMP)

# Installs, ingests corpus/documents if the store is empty, serves http://127.0.0.1:7860
run: $(STAMP)
	$(VENV)/bin/briefing serve

# The browser test drives Debian's chromium (never a browser a test tool downloads).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || echo "chromium not installed: the browser test will be skipped"

test: $(STAMP) browser
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/briefing bench ingest
	$(VENV)/bin/briefing bench query
	$(VENV)/bin/briefing bench critique
	$(VENV)/bin/briefing bench ui

eval: $(STAMP)
	$(VENV)/bin/briefing eval --config all -o eval-report

lint: $(STAMP)
	$(VENV)/bin/ruff check assistant ingest evals tests

clean:
	rm -rf $(VENV) data
