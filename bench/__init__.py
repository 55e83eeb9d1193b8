"""The benchmark suite behind `make bench`: the skill measured against baselines in the same run.

Every figure is taken side by side with a baseline that does the least work of the same kind
(a one-handler ask-sdk "hello" skill, a bare Flask JSON echo app), so the report speaks in ratios
that hold from one machine to the next, not in absolute times that only fit this one.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "requests"
MODEL = ROOT / "interaction_model" / "interactionModels" / "custom" / "en-US.json"
LAMBDA_DIR = ROOT / "lambda"
RESULTS = Path(__file__).resolve().parent / "results"
