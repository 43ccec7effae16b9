# obsapp: `make run` sets everything up and serves the app; `make test` sets up and runs the whole suite.
# Installs are locked: requirements.lock (made by `make lock` from pyproject.toml) pins every package.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
DEMO   ?= 1
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements.lock
UV_VERSION := 0.13.9
# The one way the lock is made: every platform (Docker, Linux, macOS), Python 3.11 and up, the test extra;
# no user or project uv config, so that the same command gives the same file on every machine.
LOCK_ARGS := pip compile pyproject.toml --extra test --universal --python-version 3.11 --no-config \
             --custom-compile-command "make lock" --output-file $(LOCK) --quiet

.PHONY: run test setup system-deps browser-deps postgres-deps redis-deps compose-deps lint bench clean vendor lock upgrade lock-tool

run: setup
	$(BIN)/obsapp init
ifeq ($(DEMO),1)
	$(BIN)/obsapp demo
endif
	@echo "obsapp is starting at http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	$(BIN)/obsapp serve --host $(HOST) --port $(PORT)

# Each pass runs on TEST_PROCESSES pytest processes (pytest-xdist; a module's tests stay on one process, so its
# module fixtures are made once); each process starts its own throwaway servers. TEST_PROCESSES=1: one process.
TEST_PROCESSES ?= 2
XDIST_ARGS ?= $(if $(filter-out 0 1,$(TEST_PROCESSES)),-n $(TEST_PROCESSES) --dist loadscope) --durations=15
# The whole suite on SQLite, then again on a throwaway PostgreSQL server (tests/servers/database.py) without
# the browser tests, tests/media (pure media code that opens no database: tests/media/test_purity.py) and the
# media-heavy tests marked database_neutral (each says why).
PG_PYTEST_ARGS ?= -m "not browser and not database_neutral" --ignore=tests/media
# The scale-out suite of Celery workers (tests/scale/test_workers.py, test_cluster.py: web processes and workers on
# PostgreSQL, Redis and SeaweedFS) runs in the PostgreSQL pass only, as a deployment at scale would.
SQLITE_PYTEST_ARGS ?= --ignore=tests/scale/test_workers.py --ignore=tests/scale/test_cluster.py

test: setup browser-deps postgres-deps redis-deps compose-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(XDIST_ARGS) $(SQLITE_PYTEST_ARGS) $(PYTEST_ARGS)
	OBSAPP_TEST_DATABASE=postgresql $(BIN)/pytest $(XDIST_ARGS) $(PG_PYTEST_ARGS) $(PYTEST_ARGS)

setup: system-deps $(STAMP)

system-deps:
	@scripts/ensure-system-deps.sh base

browser-deps:
	@scripts/ensure-system-deps.sh browser

postgres-deps:
	@scripts/ensure-system-deps.sh postgres

# the tests' throwaway redis-server (tests/servers/redis.py); `make run` needs none
redis-deps:
	@scripts/ensure-system-deps.sh redis

# the compose tool tests/test_compose.py validates docker-compose.yml with (no Docker daemon needed)
compose-deps:
	@scripts/ensure-system-deps.sh compose

# Exactly the locked packages, then obsapp itself (editable, no dependencies of its own choosing);
# `pip check` fails when pyproject.toml asks for something the lock lacks (then: make lock).
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python scripts/face_model.py
	@$(BIN)/python -m pip check || { echo "$(LOCK) does not match pyproject.toml: run 'make lock'" >&2; exit 1; }
	touch $(STAMP)

# `make lock`: after editing dependencies in pyproject.toml; keeps every other pin as it is.
lock: lock-tool
	$(BIN)/uv $(LOCK_ARGS)

# `make upgrade`: every package to its newest allowed release; `make upgrade P=flask`: just that one.
upgrade: lock-tool
	$(BIN)/uv $(LOCK_ARGS) $(if $(P),--upgrade-package $(P),--upgrade)

lock-tool:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/uv --version 2>/dev/null | grep -qE '^uv $(UV_VERSION)( |$$)' \
	  || $(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'

lint: setup
	$(BIN)/ruff check .

# maintainers only: re-download the pinned, integrity-checked browser libraries into obsapp/static/vendor/
# (the results are committed; nothing else needs Node or the npm registry)
vendor:
	$(PYTHON) scripts/vendor.py

bench: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
