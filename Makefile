# Every target sets itself up: a fresh clone needs only Python 3.11+, Node 20+ and make.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/interop/node
NEXTJS_DIR := example_project/nextjs
EXPRESS_DIR := example_project/services/express
BETTER_AUTH_DIR := tests/interop/betterauth
BETTER_AUTH_APP_DIR := example_project/nextjs-better-auth

.DEFAULT_GOAL := help
.PHONY: help install system test lint bench load run mesh fuzz nextjs nextjs-better-auth docs matrix mutate

help:
	@echo "make run     set up and start the example service on http://127.0.0.1:8000 (PORT=...)"
	@echo "make test    set up (.venv, npm ci) and run lint, types and every test (db tests on"
	@echo "             SQLite, PostgreSQL and MariaDB)"
	@echo "make docs    build the documentation site into site/ (MkDocs, warnings as errors)"
	@echo "make bench   set up and run the verification and whole-request benchmarks"
	@echo "make load    set up and run the load-and-fault test (gunicorn, rotation, Redis outage)"
	@echo "make mesh    set up and start the example mesh: Next.js on 3000; Django, Express, FastAPI, Go on 8000-8003"
	@echo "make nextjs  build the example's Next.js front end (next build, only when its sources changed)"
	@echo "make nextjs-better-auth  the same for its Better Auth variant (MESH_MODE=better-auth make mesh)"
	@echo "make fuzz    set up and fuzz the decoder and the HTTP layer (100,000+ inputs, minutes)"
	@echo "make matrix  set up and run the tests on each supported Django (4.2, 5.1, 5.2; minutes)"
	@echo "make mutate  set up and mutation-test the security modules (two hours or more fresh on two"
	@echo "             cores: a shard a module, MUTATE_ARGS=\"--module views --jobs 3\", up to half an"
	@echo "             hour each; then MUTATE_ARGS=--reuse for the whole table, which continues"
	@echo "             from the committed mutation-record.json in a fresh clone)"

install: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed $(NEXTJS_DIR)/node_modules/.installed \
	$(EXPRESS_DIR)/node_modules/.installed $(BETTER_AUTH_DIR)/node_modules/.installed \
	$(BETTER_AUTH_APP_DIR)/node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --group dev -e ".[drf,social,redis]"
	touch $@

# What `make run` needs and no more: the package with DRF, social-auth, Channels and Ninja. A
# current development install already has them: it is not reinstalled under running tests.
$(VENV)/.example: pyproject.toml
	@if [ $(VENV)/.installed -nt pyproject.toml ]; then \
		echo "make run: the development install in $(VENV) has the example's packages"; \
	else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[drf,social,channels,ninja]"; \
	fi
	@touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package-lock.json
	bash scripts/npm-ci.sh $(NODE_DIR)

$(NEXTJS_DIR)/node_modules/.installed: $(NEXTJS_DIR)/package-lock.json
	bash scripts/npm-ci.sh $(NEXTJS_DIR)

$(EXPRESS_DIR)/node_modules/.installed: $(EXPRESS_DIR)/package-lock.json
	bash scripts/npm-ci.sh $(EXPRESS_DIR)

$(BETTER_AUTH_DIR)/node_modules/.installed: $(BETTER_AUTH_DIR)/package-lock.json
	bash scripts/npm-ci.sh $(BETTER_AUTH_DIR)

$(BETTER_AUTH_APP_DIR)/node_modules/.installed: $(BETTER_AUTH_APP_DIR)/package-lock.json
	bash scripts/npm-ci.sh $(BETTER_AUTH_APP_DIR)

# Debian packages for the end-to-end tests (Go + gin + golang-jwt, Chromium); apt-get as root.
system:
	bash scripts/system-packages.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The Next.js apps are built first (the browser tests reuse the builds); --dist loadgroup keeps the
# browser tests of one xdist group on one worker: one set of servers per variant. Then the tests
# marked db again on PostgreSQL and on MariaDB (tests/settings.py reads TEST_DB; each run creates
# and drops its own databases).
test: system lint nextjs nextjs-better-auth
	$(BIN)/pytest -n auto --dist loadgroup
	TEST_DB=postgresql $(BIN)/pytest -n auto -m db
	TEST_DB=mariadb $(BIN)/pytest -n auto -m db

run: $(VENV)/.example
	@$(BIN)/python scripts/port-free.py $(PORT)
	cd example_project && DJANGO_DEBUG=1 ../$(BIN)/python manage.py migrate --noinput -v 0
	cd example_project && DJANGO_DEBUG=1 PORT=$(PORT) ../$(BIN)/python manage.py ensure_demo_user
	cd example_project && DJANGO_DEBUG=1 ../$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Next.js on 3000 (open http://127.0.0.1:3000), Django on 8000 (as `make run`), Express 8001,
# FastAPI 8002, Go 8003; one secret, one host name; Ctrl-C stops all. MESH_MODE=better-auth: the
# Better Auth front end instead (scripts/mesh.sh builds it).
mesh: $(VENV)/.installed $(EXPRESS_DIR)/node_modules/.installed $(BETTER_AUTH_APP_DIR)/node_modules/.installed nextjs
	bash scripts/mesh.sh

# next build with NEXT_TELEMETRY_DISABLED=1, skipped when .next matches the sources.
nextjs: $(NEXTJS_DIR)/node_modules/.installed
	bash scripts/build-nextjs.sh

# The Better Auth front end (example_project/nextjs-better-auth), built the same way.
nextjs-better-auth: $(BETTER_AUTH_APP_DIR)/node_modules/.installed
	bash scripts/build-nextjs.sh $(BETTER_AUTH_APP_DIR)

# The documentation site (MkDocs, Material) into site/; make test builds it with --strict too
# (tests/test_docs.py, with the link checker).
docs: $(VENV)/.docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# What `make docs` needs and no more: the docs group (MkDocs, Material), not the package or the
# dev group. A current development install already has it.
$(VENV)/.docs: pyproject.toml
	@if [ $(VENV)/.installed -nt pyproject.toml ]; then \
		echo "make docs: the development install in $(VENV) has the docs group"; \
	else \
		$(PYTHON) -m venv $(VENV) && \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1" && \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --group docs; \
	fi
	@touch $@

# Verification alone (verify.py), then whole requests in process and under gunicorn (request.py);
# both run even when the first misses a target, and the exit status says whether any did.
bench: install
	@status=0; $(BIN)/python benchmarks/verify.py || status=$$?; \
	$(BIN)/python benchmarks/request.py || status=$$?; \
	$(BIN)/python benchmarks/anonymous.py || status=$$?; \
	$(BIN)/python benchmarks/denylist.py || status=$$?; exit $$status

# Load with faults (gunicorn, rotation, a Redis outage): about a minute, on loopback only.
load: $(VENV)/.installed
	@status=0; $(BIN)/python benchmarks/load.py || status=$$?; \
	$(BIN)/python benchmarks/failover.py || status=$$?; exit $$status

# The attack suite's properties under the fuzz profile (tests/security/helpers.py): 100,000+
# inputs in total; the count per property is printed at the end.
fuzz: $(VENV)/.installed
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/security/test_properties.py -n auto -p no:cacheprovider

# The supported-versions matrix (noxfile.py): the test suite on Django 4.2, 5.1 and 5.2 with
# their DRF, on this machine's Python, one venv each under .nox/; not part of `make test`.
matrix: install
	$(BIN)/nox

# Mutation testing of the security modules (scripts/mutate.py): mutmut, a broad re-check of
# its survivors, and an AST pass over the constants and decorated functions mutmut skips.
# Prints a table per module and every new survivor; fails under 95% per module. Not in `make test`.
mutate: $(VENV)/.installed $(VENV)/.mutation-installed
	$(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

$(VENV)/.mutation-installed: pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --group mutation
	touch $@
