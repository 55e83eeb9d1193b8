"""The runner reads a request's timestamp as the moment it names, with its offset kept."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, strategies as st

from skill.builder import build_skill
from skill.runtime import SkillRunner
from skill.settings import Settings


@pytest.fixture(scope="module")
def runner() -> SkillRunner:
    return SkillRunner(build_skill(Settings(verify_signature=False, persistence="none", alexa_api=False)))


def launch(timestamp: str) -> dict[str, Any]:
    return {"version": "1.0", "context": {"System": {"application": {"applicationId": "a"}, "user": {"userId": "u"}}},
            "request": {"type": "LaunchRequest", "requestId": "r", "timestamp": timestamp}}


@given(moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
       spelling=st.sampled_from(["Z", "+00:00", "", "+05:30"]), micro=st.booleans())
def test_iso_timestamps_read_as_the_moment_they_name(runner: SkillRunner, moment: datetime, spelling: str,
                                                     micro: bool) -> None:
    text = moment.isoformat(timespec="microseconds" if micro else "seconds") + spelling
    stamp = runner.envelope(launch(text)).request.timestamp
    expected = datetime.fromisoformat(text)
    assert stamp == expected and stamp.utcoffset() == expected.utcoffset()


def test_a_timestamp_in_another_spelling_still_reads(runner: SkillRunner) -> None:
    stamp = runner.envelope(launch("Fri, 27 Nov 2026 01:00:00 GMT")).request.timestamp
    assert stamp == datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)

