PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -c constraints.txt

.PHONY: test bench lint install install-train clean

# The venv is created once; torch is installed first from the pinned CPU wheel so that
# no later step can resolve another torch (or CUDA wheels).
$(VENV)/.torch: constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0
	touch $@

# The package with the training stack only: what `make demo` needs.
$(VENV)/.installed-train: $(VENV)/.torch pyproject.toml constraints.txt
	$(PIP) -e ".[train]"
	touch $@

# Everything the tests and benchmarks need (the test extra includes the train extra); a
# venv first made by `make demo` gets these on its first `make test`.
$(VENV)/.installed: $(VENV)/.torch pyproject.toml constraints.txt
	$(PIP) -e ".[test,bench]"
	touch $@

install: $(VENV)/.installed

install-train: $(VENV)/.installed-train

test: install
	$(PY) -m pytest -n 2 -q

bench: install
	$(PY) bench/run_all.py

# nnU-Net iterations with and without the boundary term (tiny synthetic plan on the CPU;
# see bench/bench_nnunet.py for the GPU command); writes bench/results/nnunet_*.json/md.
.PHONY: bench-nnunet
bench-nnunet: install
	$(PY) bench/bench_nnunet.py

# GDL, GDL + boundary loss, RRW and boundary loss alone on synthetic data (a few CPU
# minutes); writes runs/demo/report.html and report.md.
.PHONY: demo
demo: install-train
	$(PY) -m boundaryloss demo

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
