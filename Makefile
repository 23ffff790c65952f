# `make run` and `make test` are all a fresh machine needs (Python 3.11+).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test check lint format bench clean fuzz

# pip's own lines ("Collecting …", "Installing collected packages …") are the progress of the
# first install, which takes a few minutes: never a silent wait.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "==> creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing the project and its dependencies into $(VENV) (the first time: a few minutes)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e ".[dev]" \
		| awk '!/^Requirement already satisfied/ { print; fflush() }'
	@touch $(STAMP)
	@echo "==> installed into $(VENV)"

install: $(STAMP)

# serve prints its data dir, the database URL, and at the end the URLs to open and how to get
# a token.
run: install
	@$(BIN)/spacekontext serve

test: install check
	$(BIN)/python -m pytest

# Schemathesis over the whole API for up to 15 minutes (figures: docs/fuzzing.md).
fuzz: install
	$(BIN)/python -m tests.http.fuzzing --max-examples 200 --max-time 900

check: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

clean:
	rm -rf $(VENV) .spacekontext .pytest_cache .mypy_cache .ruff_cache
