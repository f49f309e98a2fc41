# Two entry points on a fresh clone: `make run` (set-up + main job on data/) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint bench sample-data dev clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/subscription-pipeline reconcile

test: $(STAMP)
	$(BIN)/ruff check subscription_pipeline tests scripts
	$(BIN)/python -m pytest -q

# The suite without the end-to-end reconciles (@pytest.mark.slow), on every core: under a minute.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -n auto

lint: $(STAMP)
	$(BIN)/ruff check subscription_pipeline tests scripts
	$(BIN)/ruff format --check subscription_pipeline tests scripts

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

sample-data: $(STAMP)
	$(BIN)/python scripts/make_sample_data.py

dev: $(STAMP)
	$(BIN)/subscription-pipeline dev

clean:
	rm -rf $(VENV)
