# make test   : create .venv, install the project with its pinned dependencies, run pytest
# make report : the main job: benchmarks on built-in data and the HTML report
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The data directory: $LRBENCH_DATA_DIR if set, else data/ when it holds the files, else ../shared/data.
DATA ?= $(or $(LRBENCH_DATA_DIR),$(if $(wildcard data/Advertising.csv),data,$(if $(wildcard ../shared/data/Advertising.csv),../shared/data,data)))
export LRBENCH_DATA_DIR := $(abspath $(DATA))

.PHONY: venv test report demo clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest

demo: venv
	$(VENV)/bin/lrbench demo

report: demo

clean:
	rm -rf $(VENV) .asv .cache
