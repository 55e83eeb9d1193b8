# Two entry points: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check bench loadtest attack lambda-zip lint model clean

# The venv is rebuilt only when the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	BEDTIME_VERIFY_SIGNATURE=false $(BIN)/bedtime-skill serve --host 127.0.0.1 --port 5000

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

# Static checks: ruff (pyflakes and pycodestyle rules) and mypy over the runtime and the tools.
check: $(STAMP)
	$(BIN)/ruff check skill skill_tools tests bench lambda scripts
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# A bounded load test: starts its own server on loopback, 3000 requests from 8 clients, then stops.
loadtest: $(STAMP)
	$(BIN)/python -m skill_tools.loadtest --serve

# Attack drills on loopback (slow clients, certificate-fetch flood) with verification on; bounded, then stops.
attack: $(STAMP)
	$(BIN)/python -m skill_tools.attack

lint: $(STAMP)
	$(BIN)/bedtime-skill lint

# Regenerate the interaction model and the sample request fixtures from the handlers' declarations
# and content/<locale>/samples.toml (a test fails when the checked-in copies drift).
model: $(STAMP)
	$(BIN)/python -m skill_tools.model
	$(BIN)/python -m skill_tools.fixtures

# A deployable Lambda zip in dist/: the handler, the skill package (no web stack) and its dependencies
# as Lambda wheels (lambda/requirements.txt). `ask deploy` builds the same zip through hooks/build.sh.
lambda-zip: $(STAMP)
	$(BIN)/python scripts/build_lambda_zip.py dist/lambda.zip

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis

# The store icons (interaction_model/assets/images), drawn by scripts/draw_icons.py; commit what it writes.
icons: $(STAMP)
	$(BIN)/python scripts/draw_icons.py

# Point skill.json at the published privacy policy before `ask deploy`: make privacy-url URL=https://...
privacy-url: $(STAMP)
	$(BIN)/python scripts/set_privacy_url.py "$(URL)"

.PHONY: icons privacy-url

# Validate the content TOML and rewrite skill/content/compiled/ (what the runtime loads); run after editing content.
.PHONY: content
content: $(STAMP)
	$(BIN)/python -m skill.content
