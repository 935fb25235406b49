# Two commands: `make run` serves the app with demo data; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev

WORKERS ?= $(or $(WEB_CONCURRENCY),2)
# pytest-xdist processes for the tests (2 halved make test's time on the 2-core machine).
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS)

.PHONY: run test test-sqlite test-postgres serve lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(STAMP)

run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	-$(FLASK) forecast train --source database --quick --if-missing
	-$(FLASK) forecast predict --days 3
	$(FLASK) run --host 127.0.0.1 --port 5000

# The whole suite runs on SQLite files, then the tests that use the database (the
# database_url fixture: tests/conftest.py) again on a throw-away PostgreSQL server.
test: $(DEV_STAMP)
	./scripts/install-test-system-deps
	$(BIN)/ruff check transit tests benchmarks app.py
	$(BIN)/mypy
	$(PYTEST)
	./scripts/with-postgres $(PYTEST)

test-sqlite: $(DEV_STAMP)
	$(PYTEST)

test-postgres: $(DEV_STAMP)
	./scripts/with-postgres $(PYTEST)

# Production-style: gunicorn with several workers (WORKERS=n) on 127.0.0.1:8000.
serve: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	$(BIN)/gunicorn -c gunicorn.conf.py --workers $(WORKERS) --bind 127.0.0.1:8000 --access-logfile - app:app

lint: $(DEV_STAMP)
	$(BIN)/ruff check transit tests benchmarks app.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance tests/output
