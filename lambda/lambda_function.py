"""AWS Lambda entry: the same skill as the web service, built once per container."""
from __future__ import annotations

import logging
import os
import random
import time
from typing import Any

from skill import snapstart
from skill.builder import build_skill
from skill.logs import configure
from skill.profile.factory import make_persistence_adapter
from skill.runtime import SkillRunner, describe_payload
from skill.settings import Settings

# Lambda's filesystem is read-only apart from /tmp; SQLite there is per container, so set
# BEDTIME_PERSISTENCE=dynamodb for anything real. This only keeps a default deploy from failing.
_on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
_defaults = {"data_dir": "/tmp/bedtime"} if _on_lambda and not os.environ.get("BEDTIME_DATA_DIR") else {}
# The plain reader: the request path loads no pydantic (tests/test_lambda_imports.py holds it to that).
_settings = Settings.from_env(**_defaults)
configure(_settings.log_level)
# Built at import, so a warm container answers without rebuilding; the content was validated at build.
# The wording chooser and the store are kept by name so that a SnapStart restore can renew them.
_rng = random.Random(_settings.seed)
_persistence = make_persistence_adapter(_settings)
_runner = SkillRunner(build_skill(_settings, persistence=_persistence, rng=_rng))
# With SnapStart this init runs once and every container is restored from its snapshot: the hooks
# give each its own random state and no inherited connection (a no-op off Lambda).
_container = snapstart.PerContainer(_rng, seed=_settings.seed, persistence=_persistence, prime=_runner.warm)
snapstart.install(_container)


_log = logging.getLogger("skill.lambda")
if not _settings.skill_id:
    # Without it any skill's requests are answered, and SkillDisabled events delete nothing.
    _log.warning("BEDTIME_SKILL_ID is not set: requests for any skill are answered; SkillDisabled deletes nothing")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one Alexa request envelope delivered by the Alexa Skills Kit trigger."""
    started = time.perf_counter()
    answer = _runner.invoke(event)
    # One line per invocation, as the web service writes: ids and outcome, never a user or their words.
    info = describe_payload(event) | {
        "outcome": "ended" if answer.get("response", {}).get("shouldEndSession") else "answered",
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    _log.info("invoke", extra={"http": info})
    return answer
