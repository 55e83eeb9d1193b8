# Two entry points: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast check bench loadtest attack lambda-zip lint model clean

# The venv is rebuilt only when the project's dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[web,tools,dynamodb,dev]'
	touch $(STAMP)

run: $(STAMP)
	BEDTIME_VERIFY_SIGNATURE=false $(BIN)/bedtime-skill serve --host 127.0.0.1 --port 5000

# Both cores; an idle worker takes queued tests from the busy one (the slow tests vary from 1 to 20 s).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist worksteal

# The in-process tests only: no subprocess, server, pip, Lambda zip or browser (those are marked slow).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not slow"

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

# The one regeneration step after any change to content, samples or a handler's declared intent: the
# compiled content, the interaction model and the sample request fixtures (a test fails when the
# checked-in copies drift), then which generated files changed (they are marked in .gitattributes).
GENERATED := skill/content/compiled interaction_model/interactionModels tests/fixtures/requests
model: $(STAMP)
	$(BIN)/python -m skill.content
	$(BIN)/python -m skill_tools.model
	$(BIN)/python -m skill_tools.fixtures
	@git status --short -- $(GENERATED) 2>/dev/null | sed 's/^/changed: /' || true

# A deployable Lambda zip in dist/: the handler, the skill package (no web stack) and its dependencies
# as Lambda wheels (lambda/requirements.txt) for the runtime and architecture ask-resources.json deploys
# (Python 3.13, arm64). `ask deploy` builds the same zip through hooks/build.sh.
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
