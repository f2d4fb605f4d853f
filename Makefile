# `make run` starts everything on the embedded default; `make test` runs the whole suite.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test bench install system-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
	bin/system-deps

run: install
	bin/run

test: $(VENV)/.installed
	bin/system-deps --test
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	bin/system-deps --bench
	$(PY) bench/run.py
