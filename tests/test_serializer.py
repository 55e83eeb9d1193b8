"""The skill's faster request reader gives exactly what the SDK's own serializer gives."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from hypothesis import given, strategies as st

from skill.runtime import FastSerializer

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*/*.json"))


def _envelopes() -> list[Path]:
    return [p for p in FIXTURES if isinstance(json.loads(p.read_text(encoding="utf-8")).get("request"), dict)]


@pytest.mark.parametrize("path", _envelopes(), ids=lambda p: p.stem)
def test_every_sample_envelope_reads_the_same_as_with_the_sdk(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        theirs = DefaultSerializer().deserialize(text, RequestEnvelope)
    except SerializationException:  # a request type newer than the SDK: refused alike
        with pytest.raises(SerializationException):
            FastSerializer().deserialize(text, RequestEnvelope)
        return
    ours = FastSerializer().deserialize(text, RequestEnvelope)
    assert ours == theirs
    assert ours.request.timestamp == theirs.request.timestamp
    if theirs.request.timestamp is not None:
        assert ours.request.timestamp.utcoffset() == theirs.request.timestamp.utcoffset()


def test_the_fixtures_are_found() -> None:
    assert len(_envelopes()) > 50


@given(moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
       spelling=st.sampled_from(["Z", "+00:00", "", "+05:30"]), micro=st.booleans())
def test_timestamps_read_the_same_as_with_dateutil(moment: datetime, spelling: str, micro: bool) -> None:
    text = moment.isoformat(timespec="microseconds" if micro else "seconds") + spelling
    payload = json.dumps({"version": "1.0", "request": {"type": "LaunchRequest", "requestId": "r", "timestamp": text}})
    ours = FastSerializer().deserialize(payload, RequestEnvelope).request.timestamp
    theirs = DefaultSerializer().deserialize(payload, RequestEnvelope).request.timestamp
    assert ours == theirs and ours.utcoffset() == theirs.utcoffset()


def test_a_timestamp_only_dateutil_reads_still_reads() -> None:
    payload = json.dumps({"version": "1.0", "request": {
        "type": "LaunchRequest", "requestId": "r", "timestamp": "Fri, 27 Nov 2026 01:00:00 GMT"}})
    stamp = FastSerializer().deserialize(payload, RequestEnvelope).request.timestamp
    assert stamp == datetime(2026, 11, 27, 1, 0, tzinfo=timezone.utc)
