# Two commands on a fresh machine:
#   make plan   creates .venv, installs everything, validates the YAML and prints every stack's offline plan
#   make test   the test suite (what CI runs)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup plan test lint typecheck schema bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

setup: $(STAMP)

plan: $(STAMP)
	$(BIN)/rollout validate
	$(BIN)/rollout plan --all

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/basedpyright --level error components
	$(BIN)/python -m pytest

typecheck: $(STAMP)
	$(BIN)/basedpyright --level error components

schema: $(STAMP)
	$(BIN)/rollout schema

bench: $(STAMP)
	$(BIN)/python bench/plan_scale.py

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .mypy_cache
