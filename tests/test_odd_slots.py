"""Odd slot values Alexa can send never crash a turn, and a health slot that cannot be read gates (fail closed)."""
from __future__ import annotations

import itertools

import pytest

from skill.builder import declared_handlers
from tests.conversation import Conversation, intent_request

ODD = ("?", "", " ", "NaN", "inf", "-1", "0", "1e400", "ten", "½", "9" * 40)
# Every custom intent and each of its slots (the model's declarations), tried with every odd value.
INTENTS = [(h.intent.name, [s.name for s in h.intent.slots]) for h in declared_handlers() if h.intent is not None]
GRID = [(intent, slot, value) for (intent, slots), value in itertools.product(INTENTS, ODD) for slot in slots]


@pytest.mark.parametrize(("intent", "slot", "value"), GRID)
def test_an_odd_value_in_any_slot_gets_an_answer_not_an_apology(talk: Conversation, intent: str, slot: str, value: str) -> None:
    # U: (anything, with a slot Alexa filled with "?" or another odd value)
    turn = talk.ask(intent, **{slot: value})
    assert "error" not in turn.keys, (intent, slot, value, turn.keys)


def test_a_condition_resolution_without_its_value_gates_the_rest_of_the_session(talk: Conversation) -> None:
    # U: I have kidney disease   (the resolution came back with no value object)
    talk.launch()  # U: open bedtime magnesium (a conversation, not a one-shot)
    request = intent_request("SafetyIntent", condition="kidney:kidney disease")
    authority = request["intent"]["slots"]["condition"]["resolutions"]["resolutionsPerAuthority"][0]
    authority["values"] = [{}]
    talk.send(request)
    # U: how much should I take?   -> never a figure: the unread mention gates
    keys = talk.ask_screened("DoseIntent").keys
    assert "error" not in keys and any(k.startswith("gate.") for k in keys), keys


def test_any_failure_reading_a_health_slot_gates(talk: Conversation, monkeypatch: pytest.MonkeyPatch) -> None:
    import skill.handlers.base as base

    def broken(raw: str | None) -> None:
        raise RuntimeError("a reader that fails")

    monkeypatch.setattr(base, "health_mention", broken)
    talk.ask("SafetyIntent", condition="something new")
    keys = talk.ask_screened("DoseIntent", amount="300", unit="mg:milligrams").keys
    assert any(k.startswith("gate.") for k in keys) and "dose.everyday" not in keys, keys
