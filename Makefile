# cargotime: `make run` serves the admin with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HOST_PORT ?= 127.0.0.1:8000
# The PostgreSQL that `make test` uses; .ci/postgres creates its role and database.
LOCAL_PG_URL := postgres://cargotime:cargotime@127.0.0.1:5432/cargotime
PG_URL ?= $(LOCAL_PG_URL)

.PHONY: run test test-sqlite test-postgres lint venv postgres chromium gettext clean load bench bench-smoke replica

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@python=""; for candidate in python3 python3.13 python3.12; do \
	  if command -v $$candidate >/dev/null 2>&1 && \
	     $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    python=$$candidate; break; fi; done; \
	if [ -z "$$python" ]; then \
	  echo "cargotime needs Python 3.12 or newer. Install it (with pyenv: 'pyenv install 3.12')" \
	       "and run make from this folder, where .python-version selects it."; exit 1; fi; \
	echo "Creating $(VENV) with $$($$python --version)"; \
	[ -x $(PY) ] || $$python -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Development mode for this folder: a git-ignored .env that the settings read, so that
# every manage.py command here works too. Written once, never overwritten; the key is
# this clone's own. Without a .env, the settings are production-safe.
.env: | $(VENV)/.installed
	@echo "Writing .env: development mode (DJANGO_DEBUG=1) with a generated secret key"
	@umask 077 && $(PY) -c 'import secrets; print("DJANGO_DEBUG=1"); \
	  print("DJANGO_SECRET_KEY=django-insecure-" + secrets.token_urlsafe(50))' > $@.tmp
	@mv $@.tmp $@

run: venv .env
	$(PY) manage.py migrate --no-input -v 1
	$(PY) manage.py load_demo_cargo
	$(PY) manage.py ensure_superuser
	@echo "Serving the admin on http://$(HOST_PORT)/admin/"
	$(PY) manage.py runserver $(HOST_PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

# Another PG_URL names a server someone else runs: leave the local cluster alone.
postgres:
	@if [ "$(PG_URL)" = "$(LOCAL_PG_URL)" ]; then bash .ci/postgres; fi

# A PostgreSQL primary and a streaming replica of our own, on free ports; their URLs
# are in build/replica.env for the read-replica tests. `bash .ci/replica stop` ends them.
replica:
	bash .ci/replica start

chromium:
	bash .ci/chromium

# makemessages and msgfmt, for the translation tests.
gettext:
	bash .ci/gettext

test-sqlite: venv chromium gettext
	env -u DATABASE_URL $(PY) -m pytest

test-postgres: venv postgres replica chromium gettext
	set -a && . build/replica.env && set +a && DATABASE_URL=$(PG_URL) $(PY) -m pytest

# PgBouncer in transaction mode in front of PG_URL's server: .ci/pgbouncer starts it,
# and writes the URL that reaches PG_URL's database through it into PGBOUNCER_DIR.
.PHONY: pgbouncer test-pgbouncer
PGBOUNCER_DIR ?= /tmp/cargotime-pgbouncer
pgbouncer: postgres
	PGBOUNCER_DIR=$(PGBOUNCER_DIR) bash .ci/pgbouncer "$(PG_URL)"

# The whole PostgreSQL suite again, through the pooler: each transaction may run on
# another server connection, as in a deployment behind PgBouncer.
test-pgbouncer: venv pgbouncer chromium gettext
	DATABASE_URL=$$(cat $(PGBOUNCER_DIR)/url) DATABASE_POOLER=transaction $(PY) -m pytest

# The suites last, so that the run closes on their counts.
test: lint
	@echo "== Benchmarks, smoke =="
	@$(MAKE) --no-print-directory bench-smoke
	@echo "== SQLite =="
	@$(MAKE) --no-print-directory test-sqlite
	@echo "== PostgreSQL =="
	@$(MAKE) --no-print-directory test-postgres
	@echo "== PostgreSQL through PgBouncer (transaction mode) =="
	@$(MAKE) --no-print-directory test-pgbouncer

# The benchmarks of issue 5 on SQLite and PostgreSQL (a few minutes): a table of medians
# and paired ratios, and JSON in benchmarks/results/.
bench: venv postgres
	BENCH_POSTGRES_URL=$(PG_URL) $(PY) -m benchmarks

# Every benchmark's code path in seconds, with tiny sizes and no timing checks.
bench-smoke: venv postgres
	BENCH_POSTGRES_URL=$(PG_URL) $(PY) -m benchmarks --smoke

# The load a deployment sees, LOAD_SECONDS a mode, each on a database of its own:
# gunicorn (4 workers, production settings) on `make replica`'s PostgreSQL primary,
# reading from the primary alone, then from its streaming replica. 16 clients read the
# time-travel JSON while 4 writer processes book and handle cargos. Prints req/s,
# p50/p95/p99 and events/s; fails on any answer that is not the replay of the stored
# events, and on any lost event. Then the writers alone, from threads and processes,
# on SQLite.
LOAD_SECONDS ?= 20
load: venv postgres replica
	$(PY) -m tests.load_http --seconds $(LOAD_SECONDS) --replica-env build/replica.env
	env -u DATABASE_URL $(PY) -m tests.load --seconds $(LOAD_SECONDS)

clean:
	rm -rf $(VENV) .env db.sqlite3 test-*.sqlite3 secondary.sqlite3 staticfiles build/cargotime_bench*
