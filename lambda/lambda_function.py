"""AWS Lambda entry: the same skill as the web service, built once per container."""
from __future__ import annotations

import os
from typing import Any

from skill.builder import build_skill
from skill.logs import configure
from skill.profile.factory import make_persistence_adapter
from skill.runtime import SkillRunner
from skill.settings import Settings

# Lambda's filesystem is read-only apart from /tmp; SQLite there is per container, so set
# BEDTIME_PERSISTENCE=dynamodb for anything real. This only keeps a default deploy from failing.
_on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
_defaults = {"data_dir": "/tmp/bedtime"} if _on_lambda and not os.environ.get("BEDTIME_DATA_DIR") else {}
_settings = Settings(**_defaults)
configure(_settings.log_level)
# Built at import, so a warm container answers without rebuilding; content is validated here too.
_runner = SkillRunner(build_skill(_settings, persistence=make_persistence_adapter(_settings)))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one Alexa request envelope delivered by the Alexa Skills Kit trigger."""
    return _runner.invoke(event)
