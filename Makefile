# Every target sets itself up: a fresh clone needs only Python 3.10+, Node 20+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/interop/node
NEXTJS_DIR := example_project/nextjs

.DEFAULT_GOAL := help
.PHONY: help install system test lint bench run

help:
	@echo "make run     set up and start the example service on http://127.0.0.1:8000"
	@echo "make test    set up (.venv, npm ci) and run lint, types and every test"
	@echo "make bench   set up and run the verification benchmark"

install: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed $(NEXTJS_DIR)/node_modules/.installed

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

# Debian packages for the end-to-end tests (Go + gin + golang-jwt, Chromium); apt-get as root.
system:
	bash scripts/system-packages.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: system lint
	$(BIN)/pytest -n auto

run: $(VENV)/.installed
	cd example_project && ../$(BIN)/python manage.py migrate --noinput -v 0
	cd example_project && ../$(BIN)/python manage.py ensure_demo_user
	cd example_project && ../$(BIN)/python manage.py runserver 127.0.0.1:8000

bench: install
	$(BIN)/python benchmarks/verify.py
