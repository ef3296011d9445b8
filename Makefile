# Two entry points, each doing its own set-up on a fresh machine:
#   make demo   the main job on embedded (generated) data
#   make test   lint and the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test clean

$(BIN)/integral-pose: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,export]'
	touch $@

demo: $(BIN)/integral-pose
	$(BIN)/integral-pose demo --out runs/demo

test: $(BIN)/integral-pose
	$(BIN)/ruff check .
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) runs
