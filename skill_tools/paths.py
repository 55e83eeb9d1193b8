"""Where the developer tools find the skill package (interaction model and manifest)."""
from __future__ import annotations

import os
from pathlib import Path

# A checkout keeps the ASK skill package beside the source tree.
_CHECKOUT_MODEL = Path(__file__).resolve().parent.parent / "interaction_model"


def default_model_dir() -> Path:
    """BEDTIME_MODEL_DIR if set, else ./interaction_model, else the checkout's folder."""
    configured = os.environ.get("BEDTIME_MODEL_DIR")
    if configured:
        return Path(configured)
    here = Path.cwd() / "interaction_model"
    return here if here.is_dir() else _CHECKOUT_MODEL
