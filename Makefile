# `make run` serves the embedded default; `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/paperfeed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/paperfeed
	$(BIN)/paperfeed serve

test: $(BIN)/paperfeed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(BIN)/paperfeed
	$(BIN)/python bench/match.py
	$(BIN)/python bench/serve.py

clean:
	rm -rf $(VENV) *.egg-info paperfeed.db*
