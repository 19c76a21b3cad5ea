# Two commands: `make run` installs and starts the app, `make test` installs and runs every test.
# `make test` runs the tests on both stores: DuckDB, then PostgreSQL in a throwaway cluster
# (scripts/with-postgres; $HIPDATA_TEST_PG instead names an existing database). STORE=duckdb or
# STORE=postgres runs one of them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STORE ?=
# Tests run on every core, at most four (pytest-xdist): each worker has its own databases and servers.
PARALLEL ?= -n auto --maxprocesses 4

ifneq ($(filter-out duckdb postgres,$(STORE)),)
$(error STORE must be duckdb or postgres (or empty for both), not $(STORE))
endif

.PHONY: run test bench bench-load lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	@echo "hipdata: open http://localhost:8501 in your browser (database: $${HIPDATA_DB:-data/hipdata.duckdb})"
	$(BIN)/streamlit run app.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
ifneq ($(STORE),postgres)
	$(BIN)/pytest -q $(PARALLEL) --store=duckdb
endif
ifneq ($(STORE),duckdb)
	scripts/with-postgres $(BIN)/pytest -q $(PARALLEL) --store=postgres
endif

lint: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

bench-load: $(STAMP)
	$(BIN)/python -m bench.load $(if $(PG),--pg "$(PG)")
