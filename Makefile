# obsapp: `make run` sets everything up and serves the app; `make test` sets up and runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
DEMO   ?= 1
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test setup system-deps browser-deps lint bench clean

run: setup
	$(BIN)/obsapp init
ifeq ($(DEMO),1)
	$(BIN)/obsapp demo
endif
	@echo "obsapp is starting at http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	$(BIN)/obsapp serve --host $(HOST) --port $(PORT)

test: setup browser-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

setup: system-deps $(STAMP)

system-deps:
	@scripts/ensure-system-deps.sh base

browser-deps:
	@scripts/ensure-system-deps.sh browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
