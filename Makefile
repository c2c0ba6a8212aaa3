# Two entry points for a new user: `make demo` (set up + main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.nucleate-installed

.PHONY: setup demo test doctor bench clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,models]'
	# The only complete PLUMED kernel on PyPI (2.11, with OPES) ships inside this wheel;
	# its own dependencies are not needed for the kernel, hence --no-deps.
	$(BIN)/python -m pip install --quiet --no-deps hillclimber==0.1.8
	touch $(STAMP)

demo: setup
	$(BIN)/nucleate demo

test: setup
	$(BIN)/python -m pytest -q

doctor: setup
	$(BIN)/nucleate doctor

bench: setup
	$(BIN)/python benchmarks/bench_engine.py

clean-venv:
	rm -rf $(VENV)
