# Two commands on a fresh machine:
#   make plan   creates .venv, installs everything, validates the YAML and prints every stack's offline plan
#   make test   the test suite (what CI runs)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# JavaScript parts, each installed from its committed lockfile (npm ci).
ROUTER := edge/cell-router
L10N_CLIENT := clients/l10n
NODE_STAMPS := $(ROUTER)/node_modules/.package-lock.json $(L10N_CLIENT)/node_modules/.package-lock.json

.PHONY: setup plan test lint typecheck schema bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	npm ci --prefix $* --no-audit --no-fund

setup: $(STAMP) $(NODE_STAMPS)

plan: setup
	$(BIN)/rollout validate
	$(BIN)/rollout plan --all

test: setup
	$(BIN)/ruff check .
	$(BIN)/basedpyright --level error components
	npm run --prefix $(ROUTER) --silent typecheck
	$(BIN)/python -m pytest

typecheck: setup
	$(BIN)/basedpyright --level error components
	npm run --prefix $(ROUTER) --silent typecheck

schema: $(STAMP)
	$(BIN)/rollout schema

bench: setup
	$(BIN)/python bench/plan_scale.py
	node bench/cell_router.mjs

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .mypy_cache $(ROUTER)/node_modules \
		$(L10N_CLIENT)/node_modules
