# padl — the two commands of the README (`make demo`, `make test`) and their helpers.
# Every target installs what is missing first (tools/bootstrap.sh) and is idempotent.

SHELL := /bin/bash
PY := .venv/bin/python
PORT ?= 8866
STAMP := .venv/.padl-ready
NATIVE_SOURCES := $(shell find padl_lib -name '*.cpp' -o -name '*.h' 2>/dev/null)
PYTEST_ARGS ?=
export PATH := $(CURDIR)/.venv/bin:$(PATH)
NBVAL := --nbval-lax --nbval-cell-timeout=600

.DEFAULT_GOAL := help
.PHONY: help demo test test-unit test-notebooks test-browser lab figures report lock clean

$(STAMP): requirements.lock pyproject.toml setup.py binder/apt.txt $(NATIVE_SOURCES)
	@tools/bootstrap.sh binder/apt.txt
	@touch $@

## make demo: serve padl's Voilà apps on http://127.0.0.1:8866 (PORT=... for another port)
demo: $(STAMP)
	@echo "padl: open http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	@$(PY) -m padl_lib.serve --port $(PORT)

## make test: pytest for padl_lib, nbval over every notebook (quick mode), browser tests
test: $(STAMP)
	PADL_QUICK=1 $(PY) -m pytest tests notebooks $(NBVAL) $(PYTEST_ARGS)

test-unit: $(STAMP)
	PADL_QUICK=1 $(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-notebooks: $(STAMP)
	PADL_QUICK=1 $(PY) -m pytest tests/notebooks notebooks $(NBVAL) $(PYTEST_ARGS)

test-browser: $(STAMP)
	PADL_QUICK=1 $(PY) -m pytest tests/browser $(PYTEST_ARGS)

## make lab: JupyterLab on the notebooks
lab: $(STAMP)
	$(PY) -m jupyterlab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 --ServerApp.allow_root=True

## make figures: every figure and table of the report, written by padl_lib code
figures: $(STAMP)
	$(PY) -m padl_lib.figures

## make report: the seminar report as report/main.pdf
report: figures
	@tools/apt-install.sh tools/apt-report.txt
	cd report && latexmk -pdf -interaction=nonstopmode -halt-on-error main.tex

## make lock: re-pin requirements.lock from requirements.in and derive environment.yml, binder/
lock:
	@tools/bootstrap.sh binder/apt.txt
	$(PY) -m pip install -q -r requirements.in
	$(PY) tools/envfiles.py --write

help:
	@grep -hE "^## " Makefile mk/*.mk | sed "s/^## /  /"

clean:
	rm -rf build *.egg-info report/figures/*.* report/tables/*.* artifacts
	cd report && latexmk -C 2>/dev/null || true

-include mk/*.mk
