# Two commands matter: `make demo` and `make test`. Both set up .venv on first use.
# `make test` = `make lint` + `make unit` + `make e2e`; each runs alone too. `make fmt` rewrites the formatting.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint fmt unit e2e demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m marginlab.app.warmup  # compile the numba kernels into their cache once (~30 s)
	touch $(STAMP)

lint: install  ## style, formatting, types (mypy strict) and the layering contracts
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: install  ## fix what ruff can fix, then format
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

unit: install  ## unit and integration tests (the engine, rules, loaders, fast core, use cases)
	$(BIN)/pytest tests --ignore=tests/e2e

e2e: install  ## end-to-end tests: the CLI and the venue's REST API on real files
	$(BIN)/pytest tests/e2e

test: lint unit e2e

demo: install
	$(BIN)/marginlab modes src/marginlab/examples/seed.toml
	$(BIN)/marginlab compare src/marginlab/examples/crash_2025_10_10.toml --scenario 2025-10-10 \
		--report marginlab-2025-10-10.html

bench: install
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/venue.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
