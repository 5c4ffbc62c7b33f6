# assay: `make demo` runs the product, `make test` runs the suite on SQLite and PostgreSQL.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ASSAY_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: demo test test-sqlite test-postgresql fuzz bench lint format serve clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/assay demo

serve: $(VENV)/.installed
	$(VENV)/bin/assay serve

# Each run must pass and must run tests (pytest exits 5 when it collects none). pytest-xdist
# spreads each run over one worker per core, each with its own database; `make test XDIST=`
# runs serially. Work stealing keeps every worker busy while the slow tests finish.
# The PostgreSQL run leaves out tests/unit (the pure layers: no database) and tests/browser
# (Chromium on the pages: what they show of the database is covered on both databases by the
# API, service and page tests).
XDIST ?= -n auto --dist worksteal
SQLITE_ONLY := --ignore=tests/unit --ignore=tests/browser
test: $(VENV)/.installed
	ASSAY_TEST_DB=sqlite $(PY) -m pytest -q $(XDIST) $(PYTEST_ARGS)
	ASSAY_TEST_DB=postgresql ASSAY_TEST_PG_URL=$(ASSAY_TEST_PG_URL) $(PY) -m pytest -q $(XDIST) $(SQLITE_ONLY) $(PYTEST_ARGS)

test-sqlite: $(VENV)/.installed
	ASSAY_TEST_DB=sqlite $(PY) -m pytest -q $(XDIST) $(PYTEST_ARGS)

test-postgresql: $(VENV)/.installed
	ASSAY_TEST_DB=postgresql ASSAY_TEST_PG_URL=$(ASSAY_TEST_PG_URL) $(PY) -m pytest -q $(XDIST) $(SQLITE_ONLY) $(PYTEST_ARGS)

# Property tests with fresh random examples (the suite's are fixed); run it ROUNDS times.
ROUNDS ?= 5
fuzz: $(VENV)/.installed
	for i in $$(seq 1 $(ROUNDS)); do \
	  ASSAY_HYPOTHESIS_PROFILE=fuzz ASSAY_TEST_DB=sqlite $(PY) -m pytest -q -p no:cacheprovider \
	    $$(grep -rl --include='test_*.py' '@given' tests) || exit 1; \
	done

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py
	$(PY) benchmarks/coco_eval.py --no-memory
	$(PY) benchmarks/quality_server.py
	$(PY) benchmarks/export_formats.py
	$(PY) benchmarks/consensus_sim.py
	$(PY) benchmarks/zip_import_memory.py
	$(PY) benchmarks/gt_suspects.py
	$(PY) benchmarks/replicas.py
	$(PY) benchmarks/million.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(VENV)/.installed
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) assay-data test-output
