"""Where the developer tools find the skill package (interaction model and manifest)."""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

MODEL_FILE = Path("interactionModels") / "custom" / "en-US.json"


def default_model_dir() -> Path:
    """BEDTIME_MODEL_DIR if set, else ./interaction_model, else the copy installed with the tools.

    The installed copy is the checkout's `interaction_model/` (an editable install points at it).
    """
    configured = os.environ.get("BEDTIME_MODEL_DIR")
    if configured:
        return Path(configured)
    here = Path.cwd() / "interaction_model"
    if (here / MODEL_FILE).is_file():
        return here
    return Path(str(resources.files("skill_tools.skill_package")))
