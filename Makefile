# Earshot. `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# The tests use the local PostgreSQL and Redis when they answer (as in CI), else SQLite and no Redis:
# tests that need the real services are then skipped (CI sets EARSHOT_REQUIRE_SERVICES=1 to fail instead).
TEST_DATABASE_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo postgres://postgres@127.0.0.1:5432/earshot)
TEST_REDIS_URL ?= $(shell (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && echo redis://127.0.0.1:6379/15)
DEMO_ENV := DEBUG=1 XSANDBOX_ENABLED=1 X_CLIENT_ID=earshot-demo

.DEFAULT_GOAL := help
.PHONY: help demo dev test test-fast lint fmt typecheck migrations-check bench-ingest bench-queue bench-sla bench-dashboard clean

#: list the targets
help:
	@awk '/^#:/{desc=substr($$0,4)} /^[a-z-]+:/{if(desc){sub(":.*","",$$1); printf "  %-18s %s\n",$$1,desc; desc=""}}' $(MAKEFILE_LIST)

$(VENV)/.base: requirements/base.txt
	@$(PYTHON) -c 'import sys; sys.exit("Earshot needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/base.txt
	@touch $@

$(VENV)/.dev: requirements/dev.txt $(VENV)/.base
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	@touch $@

#: run the product on the embedded default (SQLite, no Redis): web + worker + beat + traffic generator
demo: $(VENV)/.base
	$(DEMO_ENV) $(BIN)/python manage.py rundemo

#: same as demo, without generated traffic (use the customer simulator instead)
dev: $(VENV)/.base
	$(DEMO_ENV) $(BIN)/python manage.py rundemo --no-traffic

#: run the whole test suite (unit, integration with real Celery workers, browser)
test: $(VENV)/.dev
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest $(PYTEST_ARGS)

#: run the tests without the integration and browser sets
test-fast: $(VENV)/.dev
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -m "not integration and not browser" $(PYTEST_ARGS)

#: ruff check and format check
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

#: format the code
fmt: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

#: mypy --strict
typecheck: $(VENV)/.dev
	DEBUG=1 $(BIN)/mypy .

#: fail when a model change has no migration
migrations-check: $(VENV)/.dev
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

#: benchmark ingest into PostgreSQL (100,000 mentions) and print the figures
bench-ingest: $(VENV)/.dev
	$(BIN)/python bench/ingest $(BENCH_ARGS)

#: benchmark the queue and the mention workspace on 1,000,000 mentions
bench-queue: $(VENV)/.dev
	$(BIN)/python bench/queue $(BENCH_ARGS)

#: benchmark the SLA / escalation sweep and the cost of scoring + SLA at ingest
bench-sla: $(VENV)/.dev
	$(BIN)/python bench/sla $(BENCH_ARGS)

#: benchmark the manager dashboard and its CSV export on 1,000,000 mentions
bench-dashboard: $(VENV)/.dev
	$(BIN)/python bench/dashboard $(BENCH_ARGS)

#: remove the virtualenv and local data (var/)
clean:
	rm -rf $(VENV) var staticfiles
