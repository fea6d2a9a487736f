# Two commands matter: `make run` (set up, then run the pipeline on the bundled samples) and
# `make test` (set up, then run the whole test suite). Everything else is a convenience.
VENV    := .venv
BIN     := $(VENV)/bin
PYTHON  := $(BIN)/python
STAMP   := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)   # dbt, dagster and coprod from the project's venv
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_HOME ?= $(abspath .dagster_home)

MANIFEST := dbt_project/target/manifest.json
DBT_FILES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print)

.PHONY: setup run test test-spark ui docs bench samples lint lock clean

LOCK    := requirements.lock
UV_VERSION := 0.13.8

# Installs exactly the locked versions (with their hashes): a fresh clone gets today's set, not
# whatever resolves tomorrow. uv installs in seconds what pip took minutes for.
$(STAMP): pyproject.toml $(LOCK)
	@echo "Setting up .venv from $(LOCK) (first time only, under a minute)..."
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(PYTHON) --quiet -r $(LOCK)
	$(BIN)/uv pip install --python $(PYTHON) --quiet --no-deps -e .
	@echo "Installed."
	touch $(STAMP)

# The Spark build's own venv: the same locked set plus dbt-spark and PySpark (whose ~400 MB of
# jars the embedded pipeline never needs), pinned in requirements-spark.lock.
SPARK_VENV  := .venv-spark
SPARK_LOCK  := requirements-spark.lock
SPARK_STAMP := $(SPARK_VENV)/.installed-stamp

$(SPARK_STAMP): pyproject.toml $(SPARK_LOCK)
	@echo "Setting up $(SPARK_VENV) from $(SPARK_LOCK) (first time only, about 30 s)..."
	test -x $(SPARK_VENV)/bin/python || python3 -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(SPARK_VENV)/bin/uv pip install --python $(SPARK_VENV)/bin/python --quiet -r $(SPARK_LOCK)
	$(SPARK_VENV)/bin/uv pip install --python $(SPARK_VENV)/bin/python --quiet --no-deps -e .
	touch $(SPARK_STAMP)

# Upgrading is this one command: every pin re-resolved within pyproject.toml's ranges, then
# `make test` and `make test-spark`, and commit both locks. The Spark lock is the main one
# plus the spark extra, so both environments run the same versions of everything they share.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --upgrade --quiet -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark --constraint $(LOCK) \
	  --generate-hashes --python-version 3.11 --quiet -o $(SPARK_LOCK)

# Parsed with the warehouse `make run` uses, so its first dbt build parses only what changed.
$(MANIFEST): $(STAMP) $(DBT_FILES)
	@echo "Parsing the dbt project..."
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir . \
	  --vars '{"warehouse": "'$${COPROD_WAREHOUSE:-$(abspath data/warehouse.duckdb)}'"}'

setup: $(STAMP) $(MANIFEST)

run: setup
	$(BIN)/coprod run

# Two workers, whole modules each (a module's tests share their pipeline runs): about half the
# time of one. Every test has its own workspace; nothing they write is shared.
test: setup
	$(BIN)/ruff check pipelines tests bench
	$(BIN)/pytest -n 2 --dist loadfile

# The dbt project built on a local Spark (Java 17) from the samples' ingest output, every
# published mart compared cell for cell with the DuckDB build's (tests/test_spark_equivalence.py).
test-spark: setup $(SPARK_STAMP)
	PATH=$(abspath $(SPARK_VENV)/bin):$$PATH $(SPARK_VENV)/bin/pytest -m spark \
	  tests/test_spark_equivalence.py

# exec: dg dev replaces the shell, so Ctrl-C and SIGTERM reach it (and it stops its children).
ui: setup
	$(PYTHON) -c "from pipelines.cli import dagster_home; dagster_home()"
	exec $(BIN)/dg dev -h 127.0.0.1 -p $${COPROD_UI_PORT:-3000}

docs: setup
	cd dbt_project && ../$(BIN)/dbt docs generate --quiet --profiles-dir . --static
	@echo "dbt docs: dbt_project/target/static_index.html (one self-contained page)"

# make bench BENCH_ARGS="--sizes 100k 1M 10M" adds the opt-in 10M run (about half an hour)
bench: setup
	$(PYTHON) bench/run_bench.py $(BENCH_ARGS)

samples: setup
	$(PYTHON) -m tests.sample_exports

# Python (ruff) and the dbt project's SQL (sqlfluff, rules in dbt_project/.sqlfluff), rendered
# against `make run`'s warehouse: some models list the columns they pass on from it.
lint: setup
	$(BIN)/ruff check pipelines tests bench
	test -f data/warehouse.duckdb || $(BIN)/coprod run
	cd dbt_project && COPROD_WAREHOUSE=$(abspath data/warehouse.duckdb) \
	  DBT_TARGET_PATH=$(abspath data/.lint_target) ../$(BIN)/sqlfluff lint models tests

clean:
	rm -rf data/warehouse.duckdb* data/marts data/publications data/archive data/quarantine \
	       data/review data/logs data/.coprod-run.lock data/.dbt_target data/.lint_target .dagster_home dbt_project/target \
	       dbt_project/logs data/gx_results expectations/gx/uncommitted tests/artifacts
