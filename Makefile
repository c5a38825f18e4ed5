PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Byte-compile the sources, as a regular (non-editable) install does: commands start faster.
BYTECODE := $(BIN)/python -m compileall -q ledger projections web cli.py rendering.py service.py

.PHONY: demo test bench bench-web clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[postgres,test,web]' --config-settings editable_mode=compat
	$(BYTECODE)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py
	@echo "# The public registry of this ledger (web pages and a JSON API), until Ctrl-C:"
	@echo "$(BIN)/certledger --db demo/certledger.db serve    # then open http://127.0.0.1:8080/"

# The suite in as many processes as there are cores (at most 4: each test may start servers and
# connect to PostgreSQL); tests never share a file or a schema, and a server whose port another process
# took first is started again on a new one (tests/web/registry_server.py).
test: $(STAMP)
	$(BIN)/python -m pytest -q --numprocesses=auto --maxprocesses=4

bench: $(STAMP)
	$(BYTECODE)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The public registry over HTTP (about a minute, most of it building a 20,000-organization ledger).
bench-web: $(STAMP)
	$(BIN)/python benchmarks/registry_http.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo
