"""AWS Lambda entry: the same skill as the web service, built once per container."""
from __future__ import annotations

from typing import Any

from skill.builder import build_skill
from skill.logs import configure
from skill.profile.factory import make_persistence_adapter
from skill.runtime import SkillRunner
from skill.settings import Settings

_settings = Settings()
configure(_settings.log_level)
# Built at import, so a warm container answers without rebuilding; content is validated here too.
_runner = SkillRunner(build_skill(_settings, persistence=make_persistence_adapter(_settings)))


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one Alexa request envelope delivered by the Alexa Skills Kit trigger."""
    return _runner.invoke(event)
