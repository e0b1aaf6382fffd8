# servqual — make help lists the targets. Every target sets up .venv itself first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the newest client cycle in params/ (files named <year>.yaml), unless YEAR= or PARAMS= is given
YEAR ?= $(shell ls params | grep -E '^[0-9]{4}\.yaml$$' | sort | tail -n 1 | cut -d. -f1)
PARAMS ?= params/$(YEAR).yaml
CYCLES := $(sort $(wildcard params/[0-9][0-9][0-9][0-9].yaml))
export MPLBACKEND := Agg
# Python keeps compiled modules (__pycache__) between runs even where the machine says not
# to: without them every report kernel and subprocess recompiles numpy, pandas, statsmodels…
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
R_PACKAGES := r-base-core r-cran-psych r-cran-gparotation r-cran-lavaan r-cran-sandwich r-cran-lme4 r-cran-jsonlite r-cran-polycor r-cran-survey
R_CHECK := library(psych); library(lavaan); library(GPArotation); library(sandwich); library(lme4); library(jsonlite); library(polycor); library(survey)

# the sample consortium (derived, not committed): synthetic peer libraries plus the sample cycles whose params name it
CONSORTIUM := data/consortium/institutions.csv
CONSORTIUM_CYCLES := $(shell grep -l '^consortium:' params/*.yaml)

PORT ?= 8866
LAB_PORT ?= 8888

.PHONY: help setup r-oracle browser fonts pdf-tools report reports scores figures gallery explore lab bench test lint golden sample-data clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install servqual with its dev extras

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv || true
	if [ -x $(VENV)/bin/uv ]; then $(VENV)/bin/uv pip install --python $(PY) --quiet -e '.[dev]'; \
	else $(PY) -m pip install --quiet -e '.[dev]'; fi
	$(PY) -m compileall -q -j 0 $(VENV)/lib servqual > /dev/null || true
	touch $(STAMP)

fonts: ## install Noto CJK fonts so figures show Korean, Chinese and Japanese text (best effort)
	@if fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then echo "fonts: Noto CJK installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "fonts: installing fonts-noto-cjk"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk) >/dev/null 2>&1 \
	    || echo "fonts: could not install fonts-noto-cjk"; \
	else echo "fonts: Noto CJK not available (needs root and apt-get); non-Latin labels may show as boxes"; fi

pdf-tools: ## install Pango (WeasyPrint's PDF rendering) and poppler-utils (pdftotext, pdftoppm for the PDF tests)
	@if [ -x /usr/bin/pdftoppm ] && ldconfig -p 2>/dev/null | grep -q libpango-1.0; then echo "pdf-tools: installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "pdf-tools: installing libpango-1.0-0 libpangoft2-1.0-0 poppler-utils"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 poppler-utils) >/dev/null 2>&1 \
	    || echo "pdf-tools: could not install them; report.pdf needs libpango-1.0-0"; \
	else echo "pdf-tools: not available (needs root and apt-get); report.pdf needs libpango-1.0-0"; fi

report: $(STAMP) fonts pdf-tools $(CONSORTIUM) ## the newest cycle's report (HTML and PDF) into reports/<year>/ (YEAR=2005 or PARAMS=… for another)
	$(VENV)/bin/servqual report $(PARAMS) --pdf

reports: $(STAMP) $(CONSORTIUM) ## every params file's report, the trends over the yearly cycles, the staff–client linkage
	$(VENV)/bin/servqual report params/*.yaml
	$(VENV)/bin/servqual trends $(CYCLES)
	$(VENV)/bin/servqual linkage params/staff-hpws-2007.yaml params/2007.yaml

scores: $(STAMP) ## print a cycle's screening summary, gap tables and priorities (no notebook)
	$(VENV)/bin/servqual score $(PARAMS)

r-oracle: ## install R with psych, GPArotation, lavaan, survey, jsonlite from Debian (for the R oracle tests; best effort)
	@if Rscript -e '$(R_CHECK)' >/dev/null 2>&1; then echo "R oracle: installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "R oracle: installing $(R_PACKAGES)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(R_PACKAGES)) >/dev/null 2>&1 \
	    || echo "R oracle: could not install R; tests that rerun the R scripts will be skipped"; \
	else echo "R oracle: R not available (needs root and apt-get); tests that rerun the R scripts will be skipped"; fi

figures: $(STAMP) ## draw every figure of the 2005 sample cycle into docs/img (SVG and PNG)
	$(VENV)/bin/servqual figures params/2005.yaml --cycles params/2006.yaml params/2007.yaml --output docs/img

explore: $(STAMP) $(CONSORTIUM) ## serve the gap explorer with Voilà on http://127.0.0.1:$(PORT)/ (PORT=… to change; Ctrl-C stops)
	$(VENV)/bin/servqual explore $(CYCLES) --port $(PORT)

lab: $(STAMP) $(CONSORTIUM) ## open this project in JupyterLab on http://127.0.0.1:$(LAB_PORT)/lab (the .py notebooks open as notebooks)
	$(VENV)/bin/servqual lab . --port $(LAB_PORT)

gallery: $(STAMP) fonts ## redraw every figure of the sample cycles into docs/gallery/ and docs/gallery.md
	$(PY) docs/gallery.py

bench: $(STAMP) r-oracle ## benchmarks against pingouin, R psych, lavaan and pandas → benchmarks/results.{json,md} and the README's speed table
	$(PY) benchmarks/run.py --readme

browser: ## install Debian's Chromium for the browser tests when it is missing (best effort)
	@if [ -x /usr/bin/chromium ]; then echo "browser: chromium installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser: installing chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	    || echo "browser: could not install chromium"; \
	else echo "browser: chromium not available (needs root and apt-get)"; fi

# a worker per core, each with one BLAS thread (two workers × two threads on two cores ran slower)
test: $(STAMP) r-oracle browser fonts pdf-tools $(CONSORTIUM) ## run the test suite (installs R and Chromium for the oracle and browser tests)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -n auto --dist loadfile

lint: $(STAMP) ## ruff
	$(VENV)/bin/ruff check servqual tests

golden: $(STAMP) r-oracle ## regenerate the R golden values (Debian: r-base-core r-cran-psych r-cran-gparotation r-cran-lavaan r-cran-survey r-cran-jsonlite)
	$(PY) tests/r/make_fixtures.py
	Rscript tests/r/gap_table.R
	Rscript tests/r/reliability.R
	Rscript tests/r/dimensionality.R
	Rscript tests/r/compare.R
	Rscript tests/r/linkage.R
	Rscript tests/r/invariance.R
	Rscript tests/r/polychoric.R
	Rscript tests/r/fiml.R
	Rscript tests/r/fiml_lite.R
	Rscript tests/r/wlsmv.R
	Rscript tests/r/weighting.R

sample-data: $(STAMP) ## rewrite the synthetic sample cycles in data/raw and the sample consortium in data/consortium
	$(VENV)/bin/servqual sample-data data/raw
	rm -f $(CONSORTIUM) && $(MAKE) --no-print-directory $(CONSORTIUM)

$(CONSORTIUM): $(STAMP)
	$(VENV)/bin/servqual consortium sample data/consortium --add $(CONSORTIUM_CYCLES)

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache build test-artifacts *.egg-info data/consortium
