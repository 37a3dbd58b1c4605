# yimei: two commands on a fresh machine. `make run` builds the warehouse from the
# built-in sample feeds; `make test` runs lint and the test suite. Both set up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced-$(shell cat uv.lock pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

LANDING ?= $(or $(YIMEI_LANDING_DIR),data/landing)
SCALE ?= S
ENGINE ?= duckdb

# Superset has its own environment and lock (it pins SQLAlchemy 1.4 and pandas 2.1).
SUPERSET_DIR := bi/superset
SUPERSET_VENV := $(SUPERSET_DIR)/.venv
SUPERSET_STAMP := $(SUPERSET_VENV)/.synced-$(shell cat $(SUPERSET_DIR)/uv.lock $(SUPERSET_DIR)/pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)

.PHONY: help setup system-packages run test check lint ui serve superset superset-env sample clean \
	bench verify spark-cluster spark-cluster-stop

help:
	@echo "make run    set up, generate sample feeds if $(LANDING) is empty, run the pipeline"
	@echo "make test   set up, lint (ruff, sqlfluff) and run the tests"
	@echo "make check  lint and the quick tests: no pipeline run, server, Spark or browser"
	@echo "make ui     the Dagster UI on http://127.0.0.1:3000"
	@echo "make serve  the PostgreSQL endpoint for BI tools on 127.0.0.1:5433 (docs/bi.md)"
	@echo "make superset  the Superset starter dashboard on http://127.0.0.1:8088 (docs/bi.md)"
	@echo "make verify the consumer verification pages on http://127.0.0.1:8000 (verify/)"
	@echo "make spark-cluster  a Spark master, two workers and a Thrift server on 127.0.0.1 (make spark-cluster-stop)"
	@echo "make bench  benchmark the pipeline at SCALE=S (default), M or L, ENGINE=duckdb or spark (docs/benchmarks.md)"
	@echo "make setup  create .venv from uv.lock, add missing Debian packages (idempotent)"

$(UV):
	@echo "setup: installing uv $(UV_VERSION) into $(TOOLS)/"
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

# --compile-bytecode: the venv ships its .pyc files. Where PYTHONDONTWRITEBYTECODE is set (CI
# here) nothing would ever cache them, and every process (each `yimei run`, each dbt call)
# would compile Dagster, dbt and Great Expectations from source: about 10 s a start.
$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --compile-bytecode
	rm -f $(VENV)/.synced-*
	touch $@

setup: system-packages $(STAMP)

$(SUPERSET_STAMP): $(SUPERSET_DIR)/uv.lock $(SUPERSET_DIR)/pyproject.toml | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(SUPERSET_VENV) $(UV) sync --frozen --compile-bytecode \
		--project $(SUPERSET_DIR)
	rm -f $(SUPERSET_VENV)/.synced-*
	touch $@

superset-env: $(SUPERSET_STAMP)

# Blue-book reports need a CJK font, pango and HarfBuzz's subsetter (WeasyPrint, fast font
# subsetting); the report tests read PDFs with poppler-utils and load the quality site in
# headless chromium (Selenium drives it through Debian's matching chromedriver for Superset's
# dashboard). PostgreSQL serves BI tools (`yimei serve`); the tests reach it with psql,
# psycopg and the JDBC driver BI tools use (Java 17). Installed only when missing.
SYSTEM_PACKAGES := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
	poppler-utils chromium chromium-driver postgresql postgresql-client openjdk-17-jdk-headless \
	libpostgresql-jdbc-java

system-packages:
	@if ! command -v dpkg-query >/dev/null; then \
		echo "setup: not Debian; make sure these are installed: $(SYSTEM_PACKAGES)"; exit 0; \
	fi; \
	missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" \
			|| missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "setup: installing Debian packages for the reports and the BI endpoint:$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends \
			$$missing; \
	fi

sample: setup
	@if [ -z "$$(ls -A $(LANDING) 2>/dev/null)" ]; then \
		$(BIN)/yimei generate --landing $(LANDING); \
	else \
		echo "sample: $(LANDING) is not empty, using the feeds already there"; \
	fi

# The blue-book reports are a run of their own after the publish (orchestration/jobs.py).
run: sample
	$(BIN)/yimei run --landing $(LANDING)
	$(BIN)/yimei report

# sqlfluff's dbt parse goes to .lint-data, not to dbt_project/target: its vars differ from the
# pipeline's, and every new warehouse starts from the parse in dbt_project/target
# (orchestration/transform/project.py::keep_partial_parse).
lint: setup
	$(BIN)/ruff check .
	mkdir -p .lint-data
	$(BIN)/python -m orchestration.transform.project > .lint-data/dbt_vars.cfg
	cd dbt_project && YIMEI_DATA_DIR=$(CURDIR)/.lint-data DBT_TARGET_PATH=$(CURDIR)/.lint-data/dbt_target \
		../$(BIN)/sqlfluff lint models \
		--config $(CURDIR)/.lint-data/dbt_vars.cfg

# Two workers (pytest-xdist), each taking whole modules, so a module's fixtures are built once;
# the session scenarios (a sample, a run) are built once for both (tests/conftest.py::scenario).
# On 2 cores: make test 17 min 25 s on a fresh clone, pytest 1,044 s on two workers (258 tests,
# stop 35, an AMD EPYC where Python runs 10-25% slower; 18 min 19 s at stop 34; 14 min 37 s at
# stop 33 on an Intel Xeon; 16 min 29 s before new warehouses reused dbt's parse;
# pytest 17 min 42 s at stop 31); three workers are slower (the runs are CPU-bound: 23 min);
# 27 min in one process (stop 30).
TEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder
# --durations: the slowest tests of every run are in its output (CI's too), where a budget
# overrun is first seen (tests/README.md).
# Lint runs beside the tests, not before them: sqlfluff takes ~30 s of one core and the suite
# leaves about a quarter of the two idle (stop 32: 23 min of CPU in 15 min). Its output comes
# after the tests'; either failing fails the target.
test: setup superset-env
	@mkdir -p .lint-data
	@$(MAKE) --no-print-directory lint > .lint-data/lint.log 2>&1 & lint=$$!; \
	$(PYTEST) --durations=25; tests=$$?; \
	wait $$lint; linted=$$?; \
	echo "--- make lint (run beside the tests) ---"; cat .lint-data/lint.log; \
	if [ $$linted -ne 0 ]; then echo "make test: lint failed"; fi; \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

# The inner loop (tests/README.md): the tests that need nothing but this process; 1 min 54 s
# of pytest on two workers, 2 min 28 s in one.
QUICK := not pipeline and not server and not spark and not browser
check: lint
	$(PYTEST) -m "$(QUICK)"

ui: setup
	$(BIN)/yimei ui --landing $(LANDING)

serve: setup
	$(BIN)/yimei serve

# The consumer verification pages on 127.0.0.1:8000 (verify/): they read the published version.
verify: run
	$(BIN)/yimei verify-server

# `make run` first: with nothing new it only checks (seconds), and Superset needs a version.
superset: run superset-env
	$(BIN)/yimei superset --landing $(LANDING)

# A Spark standalone cluster for `yimei run --engine spark` over Thrift (spark_engine/cluster.py).
spark-cluster: setup
	$(BIN)/yimei spark-cluster start

spark-cluster-stop: setup
	$(BIN)/yimei spark-cluster stop

bench: setup
	$(BIN)/yimei bench --scale $(SCALE) --engine $(ENGINE)

clean:
	rm -rf data .lint-data dbt_project/target dbt_project/logs
