# The single entry point. `make run` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test unit lint fmt typecheck bench bench-full rebuild clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## serve the API on SQLite with the demo data at http://127.0.0.1:8000
	$(BIN)/claimledger serve --demo --host 127.0.0.1 --port 8000

lint: $(STAMP)  ## ruff, mypy (strict on domain, projections and api), import-linter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint  ## lint, then every test (unit, integration, end to end)
	$(BIN)/pytest -q

unit: $(STAMP)  ## the no-I/O tests only (no store, no server, no process): seconds
	$(BIN)/pytest -q -m unit

bench: $(STAMP)  ## quick benchmarks (figures go in docs/benchmarks.md)
	$(BIN)/python -m bench --quick

bench-full: $(STAMP)
	$(BIN)/python -m bench

rebuild: $(STAMP)  ## rebuild every projection from position 0 (stop the server first)
	$(BIN)/claimledger rebuild

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
