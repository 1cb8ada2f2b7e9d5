# make test   : create .venv, install the project with its pinned dependencies, run pytest
# make report : the main job: benchmarks on built-in data and the HTML report
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The data directory: $LRBENCH_DATA_DIR if set, else data/ when it holds the files, else ../shared/data.
DATA ?= $(or $(LRBENCH_DATA_DIR),$(if $(wildcard data/Advertising.csv),data,$(if $(wildcard ../shared/data/Advertising.csv),../shared/data,data)))
export LRBENCH_DATA_DIR := $(abspath $(DATA))

.PHONY: venv test report demo gate asv-machine clean

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

# The report: asv's machine record (made once, without questions), the benchmarks in this environment
# (profile $(LRBENCH_PROFILE): quick by default, LRBENCH_PROFILE=full for every size), then the HTML page.
# A failed benchmark does not stop the report (the page lists it); make still exits non-zero afterwards.
LRBENCH_PROFILE ?= quick
export LRBENCH_PROFILE
ASV := $(VENV)/bin/asv
MACHINE_KNOWN := import json, os, platform, sys; p = os.path.expanduser("~/.asv-machine.json"); \
	sys.exit(0 if os.path.isfile(p) and platform.node() in json.load(open(p)) else 1)

asv-machine: venv
	@$(PY) -c '$(MACHINE_KNOWN)' || $(ASV) machine --yes

report: asv-machine
	@echo "== report 1/4: asv machine record ($$HOME/.asv-machine.json) is in place"
	@echo "== report 2/4: benchmarks, profile $(LRBENCH_PROFILE) (asv run --python=same), results in .asv/results"
	@status=0; start=$$(date +%s); commit=$$(git rev-parse HEAD); \
	$(ASV) run --python=same --set-commit-hash "$$commit" || status=$$?; \
	echo "== benchmarks took $$(( $$(date +%s) - start )) s (asv exit status $$status)"; \
	echo "== report 3/4: the run record: kernels, profile, machine, accuracy ceilings and sweep, the tutorial"; \
	$(PY) -m benchmarks.run_record .asv/results --commit "$$commit" || exit $$?; \
	echo "== report 4/4: the HTML report"; \
	$(PY) -m reports .asv/results --out reports/out || exit $$?; \
	echo "== report: $(CURDIR)/reports/out/latest/report.html"; \
	exit $$status

# The performance gate: HEAD against BASE (default the previous commit) in asv-managed virtualenvs, rounds
# interleaved; fails on a slowdown of at least GATE_FACTOR (fastest samples), confirmed by a second run and
# significant by asv's statistics.
BASE ?= HEAD~1
GATE_FACTOR ?= 1.5
gate: venv
	LRBENCH_PROFILE=gate $(PY) -m lrbench gate --base $(BASE) --factor $(GATE_FACTOR)

clean:
	rm -rf $(VENV) .asv .cache
