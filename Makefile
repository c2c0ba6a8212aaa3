# Two entry points for a new user: `make demo` (set up + main job) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.nucleate-installed

.PHONY: setup demo test lint doctor bench clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# pyproject.toml has lower bounds; constraints.txt is the exact set the tests passed with
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,models]'
	# The only complete PLUMED kernel on PyPI (2.11, with OPES) ships inside this wheel;
	# its own dependencies are not needed for the kernel, hence --no-deps.
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt hillclimber
	touch $(STAMP)

demo: setup
	$(BIN)/nucleate demo

test: setup lint
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

doctor: setup
	$(BIN)/nucleate doctor

bench: setup
	$(BIN)/python benchmarks/bench_engine.py

clean-venv:
	rm -rf $(VENV)
