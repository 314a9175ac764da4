# ixchange — the usual targets. `make run` and `make test` install what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages by purpose, from the one list (also read by `ixchange lab up` and a test).
apt_packages = $(shell sed -n 's/^$(1): *//p' packaging/debian-packages)
APT_VENV_PACKAGES := $(call apt_packages,venv)
APT_LAB_PACKAGES := $(call apt_packages,lab)
APT_TEST_PACKAGES := $(call apt_packages,test) $(APT_LAB_PACKAGES)

.PHONY: help run build test check lint format typecheck proto bench clean venv system-deps test-deps lab-deps lab lab-down

help:
	@echo "make run        run the exchange (embedded SQLite, default class schemes) and its web portal"
	@echo "make venv       only the virtualenv (.venv) with ixchange and its Python dependencies"
	@echo "make build      rebuild the compiled core after editing its source (pip install -e . builds it first)"
	@echo "make test       install test dependencies, start PostgreSQL and Open vSwitch, lint, type-check, run every test"
	@echo "make check      ruff, mypy, buf lint and the generated-code check only"
	@echo "make format     ruff format + autofix"
	@echo "make proto      regenerate Python code from proto/"
	@echo "make lab        (root) start the Mininet + Open vSwitch lab with the exchange as its controller"
	@echo "make lab-down   stop it"
	@echo "make bench      run the benchmarks (results in bench/results/, summarised in BENCHMARKS.md)"
	@echo "make clean      remove the virtualenv and caches"

# Debian/Ubuntu: the venv module (and pip in it) comes from python3-venv; the compiled
# core needs a C compiler and Python's headers.
system-deps:
	$(call apt_install,$(APT_VENV_PACKAGES))

# --system-site-packages: the lab uses Debian's Mininet module from inside the venv.
$(VENV)/.installed: pyproject.toml setup.py | system-deps
	@test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# setuptools says "Editable installation ... be careful with folders ... with the same name"
	@# on every editable install (the checkout is meant to be imported from here).
	PYTHONWARNINGS='ignore:Editable installation' $(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

# The compiled core (marketplace/compiled.py), rebuilt from whatever source changed since
# `pip install -e .` built it (a stale module runs as its source meanwhile, with a warning).
build: venv
	$(PY) setup.py -q build_ext --inplace -j 2

run: venv
	$(BIN)/ixchange serve --portal

# Installs the packages of $(1) that dpkg does not list as installed (a removed but not
# purged package, state "rc", counts as missing).
define apt_install
@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  echo "installing$$missing..."; \
  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
fi
endef

test-deps: venv
	$(call apt_install,$(APT_TEST_PACKAGES))

lab-deps: venv
	$(call apt_install,$(APT_LAB_PACKAGES))

lab: lab-deps
	$(BIN)/ixchange lab up

lab-down: venv
	$(BIN)/ixchange lab down

check: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd proto && ../$(BIN)/buf lint
	$(PY) proto/generate.py --check

test: test-deps check build
	tests/tools/ovs.sh start
	IXCHANGE_TEST_POSTGRES_URL="$$(tests/tools/postgres.sh)" $(BIN)/pytest -q
	@echo "the domain's unit and property tests again, on the pure-Python core:"
	IXCHANGE_PURE_PYTHON=1 $(BIN)/pytest -q -p no:cacheprovider tests/unit

lint: check

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv
	$(BIN)/mypy

proto: venv
	$(PY) proto/generate.py

bench: venv
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
