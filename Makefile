# Pipeline CRM: the two commands of the README, and the steps they are made of.
#
#   make run    install, migrate, load demo data once, then web + Celery worker + beat (manage.py rundev)
#   make test   install, then ruff, ruff format --check, import-linter, mypy and the whole pytest suite
#               (in parallel processes: PYTEST_WORKERS, default auto)
#
# Without DATABASE_URL / REDIS_URL the app uses SQLite and a file-based Celery broker;
# with them, PostgreSQL and Redis (the same variables the tests and docker-compose read).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# pip runs again only when pyproject.toml is newer than this stamp (it lives in the venv, so a
# deleted venv also forgets it).
PIP_STAMP := $(VENV)/.pyproject-installed
# npm ci writes this file; it is newer than the lock file exactly when node_modules is current.
NPM_STAMP := node_modules/.package-lock.json
VENDOR_SOURCES := node_modules/htmx.org/dist/htmx.min.js \
                  node_modules/sortablejs/Sortable.min.js \
                  node_modules/chart.js/dist/chart.umd.min.js \
                  node_modules/chart.js/dist/chart.umd.min.js.map
# (the source map too: the hashed static files of production check every file a script names)

# The venv's tools (python, celery) come first for every recipe and for the Procfile's processes.
export PATH := $(CURDIR)/$(BIN):$(PATH)

# Installers are quiet: their whole output goes to this log, and only a failure shows it.
INSTALL_LOG := .make/install.log
# $(call quietly,what,command): one line saying what, the command's output in INSTALL_LOG, and
# on failure the end of that log on the terminal.
quietly = mkdir -p $(dir $(INSTALL_LOG)); echo "$(1) (log: $(INSTALL_LOG))"; \
  { echo "--- $$(date): $(1)"; $(2); } >>$(INSTALL_LOG) 2>&1 \
  || { echo "$(1) failed; the end of $(INSTALL_LOG):" >&2; tail -n 40 $(INSTALL_LOG) >&2; exit 1; }

.PHONY: help install vendor run logins test lint format typecheck pytest migrate seed clean

help:
	@echo "make run    - install, migrate, demo data once, web on http://127.0.0.1:8000 + worker + beat"
	@echo "make test   - install, then ruff, ruff format --check, import-linter, mypy and pytest"
	@echo "make logins - the demo logins again"
	@echo "make install | lint | format | typecheck | pytest | migrate | seed | clean"

# --- installation ---------------------------------------------------------------------------------

$(PY):
	@python="$$(scripts/find-python)"; \
	  echo "Creating $(VENV) with $$python ($$("$$python" --version))"; \
	  "$$python" -m venv $(VENV)

$(PIP_STAMP): pyproject.toml | $(PY)
	@$(call quietly,Installing the Python packages,$(PY) -m pip install --upgrade pip \
	  && $(PY) -m pip install -e ".[dev]")
	@touch $@

$(NPM_STAMP): package-lock.json package.json
	@$(call quietly,Installing the front-end libraries,npm ci --no-audit --no-fund)
	@touch $@

# Front-end libraries are served by Django from static/vendor (gitignored), copied from npm.
vendor: $(NPM_STAMP)
	@mkdir -p static/vendor
	@cp -p $(VENDOR_SOURCES) static/vendor/

install: $(PIP_STAMP) vendor

# --- the two commands -----------------------------------------------------------------------------

# DEBUG is on for development unless the caller says otherwise. `rundev` starts the Procfile's
# processes, prints the address and the demo logins once the web server answers, and exits 0 on
# Ctrl-C (pipeline_crm/devrun.py).
run: export DEBUG ?= true
run: install
	@echo "Preparing the database…"
	@$(PY) manage.py migrate --noinput --verbosity 0
	@$(PY) manage.py seed_demo --once
	@echo "Starting web, worker and beat…"
	@$(PY) manage.py rundev

logins: export DEBUG ?= true
logins: $(PIP_STAMP)
	@$(PY) manage.py logins

test: install lint typecheck pytest

# --- the steps of `make test` ---------------------------------------------------------------------

lint: $(PIP_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(PIP_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The django-stubs plugin imports the settings, which insist on SECRET_KEY unless DEBUG is on.
typecheck: $(PIP_STAMP)
	DEBUG=true $(BIN)/mypy .

# pytest-xdist: the suite in parallel processes, each with its own test database and Redis
# database (pipeline_crm/settings.py). PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
pytest: $(PIP_STAMP) vendor
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# --- conveniences ---------------------------------------------------------------------------------

migrate: export DEBUG ?= true
migrate: $(PIP_STAMP)
	$(PY) manage.py migrate --noinput

seed: export DEBUG ?= true
seed: $(PIP_STAMP)
	$(PY) manage.py seed_demo

clean:
	rm -rf staticfiles .celery-broker .celerybeat-schedule* .pytest_cache .mypy_cache .ruff_cache
