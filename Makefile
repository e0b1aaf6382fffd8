# servqual — make help lists the targets. Every target sets up .venv itself first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
YEAR ?= 2005
PARAMS ?= params/$(YEAR).yaml
export MPLBACKEND := Agg

.DEFAULT_GOAL := help
.PHONY: help setup report test lint golden sample-data clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install servqual with its dev extras

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv || true
	if [ -x $(VENV)/bin/uv ]; then $(VENV)/bin/uv pip install --python $(PY) --quiet -e '.[dev]'; \
	else $(PY) -m pip install --quiet -e '.[dev]'; fi
	touch $(STAMP)

report: $(STAMP) ## screen and score a survey cycle (YEAR=2005 by default; PARAMS=… for any params file)
	$(VENV)/bin/servqual score $(PARAMS)

test: $(STAMP) ## run the test suite
	$(PY) -m pytest -q

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check servqual tests

golden: $(STAMP) ## regenerate the R golden values (needs Rscript with psych, lavaan, jsonlite)
	$(PY) tests/r/make_fixtures.py
	Rscript tests/r/gap_table.R

sample-data: $(STAMP) ## rewrite the synthetic sample cycles in data/raw
	$(VENV)/bin/servqual sample-data data/raw

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache build *.egg-info
