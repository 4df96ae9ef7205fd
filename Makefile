# Two commands on a fresh machine (Python 3.10+ with venv; nothing else needed):
#   make demo   train dot_bias_mf on MovieLens-100k → evaluate → export a SavedModel
#   make test   the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf runs/demo
	$(BIN)/embedzoo train dot_bias_mf --data ml-100k --split random --seed 42 --run-dir runs/demo
	$(BIN)/embedzoo evaluate --run runs/demo
	$(BIN)/embedzoo export --run runs/demo --to exports --name movielens_dot_bias_mf
	$(BIN)/embedzoo recommend --run runs/demo --user 196 -k 5
	$(BIN)/embedzoo similar --run runs/demo --item 50 -k 5

# -n: one test process per core (at most 4); loadscope keeps a module's tests (and its
# module-scoped fixtures, trained once) in one process
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4 --dist loadscope

lint: $(STAMP)
	$(BIN)/ruff check embedzoo tests benchmarks conftest.py
	$(BIN)/ruff format --check embedzoo tests benchmarks conftest.py

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) runs exports .pytest_cache
