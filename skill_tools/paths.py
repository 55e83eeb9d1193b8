"""Where the developer tools find the skill package (interaction model and manifest)."""
from __future__ import annotations

import os
from pathlib import Path

MODEL_FILE = Path("interactionModels") / "custom" / "en-US.json"
_HERE = Path(__file__).resolve().parent
# A checkout keeps the ASK skill package beside the source tree; an installed copy carries it inside
# the tools (pyproject maps interaction_model/ to skill_tools/skill_package).
_CHECKOUT = _HERE.parent / "interaction_model"
_INSTALLED = _HERE / "skill_package"


def default_model_dir() -> Path:
    """BEDTIME_MODEL_DIR if set, else ./interaction_model, else the checkout's, else the installed copy."""
    configured = os.environ.get("BEDTIME_MODEL_DIR")
    if configured:
        return Path(configured)
    for candidate in (Path.cwd() / "interaction_model", _CHECKOUT, _INSTALLED):
        if (candidate / MODEL_FILE).is_file():
            return candidate
    return _INSTALLED
