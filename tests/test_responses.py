"""The skill's response serializer gives exactly what the ASK SDK's serializer gives."""
from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import ResponseEnvelope
from ask_sdk_model.interfaces.connections import SendRequestDirective
from ask_sdk_model.ui import AskForPermissionsConsentCard, PlayBehavior, SsmlOutputSpeech
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.builder import build_skill
from skill.responses import to_data
from skill.runtime import SkillRunner
from skill.settings import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "requests"
SDK = DefaultSerializer()


def same(value: Any) -> None:
    ours, theirs = to_data(value), SDK.serialize(value)
    assert ours == theirs
    assert json.dumps(ours) == json.dumps(theirs)  # the same keys in the same order, so the same bytes


def test_every_sample_answer_serializes_as_the_sdk_would(tmp_path: Path) -> None:
    settings = Settings(verify_signature=False, persistence="none", data_dir=tmp_path, alexa_api=False, seed=3)
    runner = SkillRunner(build_skill(settings))
    answered = 0
    for path in sorted(FIXTURES.glob("*.json")):
        envelope = runner.envelope(json.loads(path.read_text(encoding="utf-8")))
        response: ResponseEnvelope = runner.skill.invoke(request_envelope=envelope, context=None)
        same(response)
        answered += 1
    assert answered > 50


def test_directives_cards_enums_and_dates_serialize_as_the_sdk_would() -> None:
    same(SendRequestDirective(name="AskFor", payload={"@type": "AskForPermissionsConsentRequest", "@version": "2",
                                                      "permissionScope": "alexa::alerts:reminders:skill:readwrite"},
                              token="nightly-reminder"))
    same(AskForPermissionsConsentCard(permissions=["alexa::alerts:reminders:skill:readwrite"]))
    same(SsmlOutputSpeech(ssml="<speak>Hi</speak>", play_behavior=PlayBehavior.REPLACE_ALL))
    same([datetime.date(2026, 11, 1), datetime.datetime(2026, 11, 1, 22, 30), Decimal("2"), Decimal("2.5"), (1, "a")])


JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2) | st.dates(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)


def outcome(serialize: Any, value: Any) -> tuple[str, Any]:
    try:
        return "data", serialize(value)
    except Exception as exc:  # the SDK itself fails on some values (a huge Decimal): so must we, the same way
        return "raised", type(exc)


@settings(max_examples=200, deadline=None)
@given(JSON_LIKE)
def test_any_session_attributes_serialize_as_the_sdk_would(attributes: Any) -> None:
    envelope = ResponseEnvelope(version="1.0", session_attributes={"state": attributes})
    assert outcome(to_data, envelope) == outcome(SDK.serialize, envelope)
