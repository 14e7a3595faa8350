# Two commands on a fresh machine (Python 3.11+, Node 18+):
#   make run   install, migrate, load demo data on first run, serve on http://127.0.0.1:8000
#   make test  run the whole suite (SQLite; PostgreSQL/Redis when DATABASE_URL/CELERY_BROKER_URL are set)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_HOUSEHOLDS ?= 2000
PYTEST_ARGS ?=

.PHONY: run test bench lint format messages install clean-data check-deploy

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 或更高版本是必需的 (Python 3.11+ required)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The last step, runall (core/management/commands/runall.py), runs the web server and a
# Celery worker with beat; one Ctrl-C stops them once, letting a running task finish.
# It prints the address and the demo accounts once both are up, below their start-up lines.
run: install
	$(PY) manage.py migrate --noinput
	@if [ ! -f "$${POVERTYEXIT_DATA_DIR:-data}/demo_accounts.json" ]; then \
		$(PY) manage.py load_regions && \
		$(PY) manage.py seed_demo --households $(DEMO_HOUSEHOLDS); \
	fi
	@$(PY) manage.py runall $(HOST):$(PORT)

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Extract new strings into the English catalog and compile it (needs GNU gettext).
messages: install
	$(PY) manage.py makemessages -l en --no-obsolete --ignore=node_modules --ignore=.venv --ignore=staticfiles --ignore=data
	$(PY) manage.py compilemessages -l en --ignore=.venv --ignore=node_modules

check-deploy: install
	DJANGO_ENV=production DJANGO_SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	DJANGO_ALLOWED_HOSTS=example.org $(PY) manage.py check --deploy --fail-level WARNING

clean-data:
	rm -rf data
