# Every target sets itself up: a fresh clone needs only Python 3.10+, Node 20+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/interop/node
NEXTJS_DIR := example_project/nextjs
EXPRESS_DIR := example_project/services/express

.DEFAULT_GOAL := help
.PHONY: help install system test lint bench load run mesh fuzz mutate

help:
	@echo "make run     set up and start the example service on http://127.0.0.1:8000"
	@echo "make test    set up (.venv, npm ci) and run lint, types and every test"
	@echo "make bench   set up and run the verification benchmark"
	@echo "make load    set up and run the load-and-fault test (gunicorn, rotation, Redis outage)"
	@echo "make mesh    set up and start the example mesh: Django, Express, FastAPI, Go on 8000-8003"
	@echo "make fuzz    set up and fuzz the decoder and the HTTP layer (100,000+ inputs, minutes)"
	@echo "make mutate  set up and mutation-test the security modules (minutes; MUTATE_ARGS=--reuse)"

install: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed $(NEXTJS_DIR)/node_modules/.installed \
	$(EXPRESS_DIR)/node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --group dev -e .
	touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package-lock.json
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error
	touch $@

$(NEXTJS_DIR)/node_modules/.installed: $(NEXTJS_DIR)/package-lock.json
	npm ci --prefix $(NEXTJS_DIR) --no-audit --no-fund --loglevel=error
	touch $@

$(EXPRESS_DIR)/node_modules/.installed: $(EXPRESS_DIR)/package-lock.json
	npm ci --prefix $(EXPRESS_DIR) --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages for the end-to-end tests (Go + gin + golang-jwt, Chromium); apt-get as root.
system:
	bash scripts/system-packages.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: system lint
	$(BIN)/pytest -n auto

run: $(VENV)/.installed
	cd example_project && DJANGO_DEBUG=1 ../$(BIN)/python manage.py migrate --noinput -v 0
	cd example_project && DJANGO_DEBUG=1 ../$(BIN)/python manage.py ensure_demo_user
	cd example_project && DJANGO_DEBUG=1 ../$(BIN)/python manage.py runserver 127.0.0.1:8000

# Django on 8000 (as `make run`), Express 8001, FastAPI 8002, Go 8003; one secret; Ctrl-C stops all.
mesh: $(VENV)/.installed $(EXPRESS_DIR)/node_modules/.installed
	bash scripts/mesh.sh

bench: install
	$(BIN)/python benchmarks/verify.py

# Load with faults (gunicorn, rotation, a Redis outage): about a minute, on loopback only.
load: $(VENV)/.installed
	$(BIN)/python benchmarks/load.py

# The attack suite's properties under the fuzz profile (tests/security/helpers.py): 100,000+
# inputs in total; the count per property is printed at the end.
fuzz: $(VENV)/.installed
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/security/test_properties.py -n auto -p no:cacheprovider

# Mutation testing of the security modules (scripts/mutate.py): mutmut, a broad re-check of
# its survivors, and an AST pass over the constants and decorated functions mutmut skips.
# Prints a table per module and every new survivor; fails under 95% per module. Not in `make test`.
mutate: $(VENV)/.installed $(VENV)/.mutation-installed
	$(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

$(VENV)/.mutation-installed: pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --group mutation
	touch $@
