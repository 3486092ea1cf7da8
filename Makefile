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

# Weblate for the end-to-end test, in its own virtualenv (tools/weblate/).
WEBLATE_VENV := .weblate-venv
WEBLATE_STAMP := $(WEBLATE_VENV)/.installed
WEBLATE_DEBS = $(shell grep -v '^\#' tools/weblate/debian-packages.txt)

.PHONY: setup plan test lint typecheck schema bench clean weblate-env

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	npm ci --prefix $* --no-audit --no-fund

setup: $(STAMP) $(NODE_STAMPS)

# apt only for what is missing (nothing, on a machine that has them all); as root, or through
# passwordless sudo (GitHub's runners); otherwise one line saying what to install.
$(WEBLATE_STAMP): tools/weblate/requirements.txt tools/weblate/constraints.txt tools/weblate/debian-packages.txt
	@missing="$$(for p in $(WEBLATE_DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
		| grep -q 'install ok installed' || printf '%s ' $$p; done)"; missing="$${missing% }"; \
	if [ -n "$$missing" ]; then \
		as_root=; if [ "$$(id -u)" != 0 ]; then \
			if sudo -n true 2>/dev/null; then as_root="sudo -n"; else \
				echo "weblate-env: missing Debian packages $$missing (run make as root, or: sudo apt-get update && sudo apt-get install -y $$missing)" >&2; \
				exit 1; \
			fi; \
		fi; \
		$$as_root apt-get update -qq && $$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	test -x $(WEBLATE_VENV)/bin/python || $(PY) -m venv $(WEBLATE_VENV)
	$(WEBLATE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(WEBLATE_VENV)/bin/python -m pip install --quiet -r tools/weblate/requirements.txt \
		-c tools/weblate/constraints.txt
	touch $(WEBLATE_STAMP)

weblate-env: $(WEBLATE_STAMP)

plan: setup
	$(BIN)/rollout validate
	$(BIN)/rollout plan --all

test: setup weblate-env
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
