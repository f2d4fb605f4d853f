# `make run` starts everything on the embedded default; `make test` runs the whole suite; `make smoke` runs
# production (a venv from requirements.txt alone, gunicorn, Celery worker and beat) through one whole case.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test smoke bench install system-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
	bin/system-deps

run: install
	bin/run

# Lint (imports sorted, none unused, none mid-module) and a model change without its migration fail first.
test: $(VENV)/.installed
	bin/system-deps --test
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

# Needs no dev venv: bin/smoke is stdlib-only and builds its own from requirements.txt under var/smoke/.
smoke:
	bin/system-deps --smoke
	python3 bin/smoke

bench: install
	bin/system-deps --bench
	$(PY) bench/run.py
