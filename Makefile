# Two entry points: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench loadtest lambda-zip lint clean

# The venv is rebuilt only when the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	BEDTIME_VERIFY_SIGNATURE=false $(BIN)/bedtime-skill serve --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

# A bounded load test: starts its own server on loopback, 3000 requests from 8 clients, then stops.
loadtest: $(STAMP)
	$(BIN)/python -m skill_tools.loadtest --serve

lint: $(STAMP)
	$(BIN)/bedtime-skill lint

# A deployable Lambda zip in dist/: the handler, the skill package and its dependencies.
lambda-zip: $(STAMP)
	$(BIN)/python scripts/build_lambda_zip.py dist/lambda.zip

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis

# Validate the content TOML and rewrite skill/content/compiled/ (what the runtime loads); run after editing content.
.PHONY: content
content: $(STAMP)
	$(BIN)/python -m skill.content
