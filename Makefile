# `make run` serves the embedded default; `make test` is the fast check;
# `make test-all` adds the end-to-end tests (servers, real readers, browser, wrk), as CI does.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-all lint bench clean

$(BIN)/paperfeed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/paperfeed
	$(BIN)/paperfeed serve

lint: $(BIN)/paperfeed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Two workers, a test file each at a time (a file's fixtures stay in one process; each
# worker has its own PostgreSQL database, see tests/conftest.py).
test: lint
	$(BIN)/pytest -m "not slow" -n 2 --dist loadfile

test-all: lint
	$(BIN)/pytest

bench: $(BIN)/paperfeed
	$(BIN)/python bench/match.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/refuse.py
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) *.egg-info paperfeed.db*
