"""Routing by context: each (intent, waiting) pair has exactly one handler, so no list order decides."""
from __future__ import annotations

import pytest

from skill.builder import declared_handlers
from skill.content import load_catalog, parse_catalog
from skill.handlers.base import ANY, Handler, Router, RoutingError
from skill.handlers.core import HelpHandler, YesHandler
from skill.speech import Line, Reply, Voice
from skill.state import State, Waiting
from tests.conversation import Conversation


def test_no_two_handlers_claim_the_same_intent_in_the_same_context() -> None:
    claims = [claim for handler in declared_handlers() for claim in handler.answers()]
    assert len(claims) == len(set(claims))
    Router(declared_handlers())  # builds without a RoutingError


def test_a_second_claim_on_a_pair_stops_the_build() -> None:
    voice = Voice(load_catalog("en-US"))

    class AnotherYes(Handler):
        claims = (("AMAZON.YesIntent", ANY),)

    with pytest.raises(RoutingError, match="AnotherYes and YesHandler both claim"):
        Router([YesHandler(voice), AnotherYes(voice)])


def test_every_custom_intent_is_declared_once_and_answered_in_any_state() -> None:
    handlers = declared_handlers()
    declared = [h.intent.name for h in handlers if h.intent is not None]
    assert len(declared) == len(set(declared))
    any_state = {name for h in handlers for name, waiting in h.answers() if waiting is ANY}
    assert set(declared) <= any_state


def test_the_order_of_the_handlers_does_not_change_an_answer() -> None:
    router = Router(declared_handlers())
    reversed_router = Router(list(reversed(declared_handlers())))
    assert {k: type(v) for k, v in router.table.items()} == {k: type(v) for k, v in reversed_router.table.items()}


def test_state_from_a_client_keeps_only_the_closed_set_and_fails_closed() -> None:
    state = State.load({"waiting": "launch_missiles", "topic": "dose", "conditions": ["kidney", "__class__", 7],
                        "dose": {"amount": "a lot", "form": "unobtainium", "count": True}})
    assert state.waiting is Waiting.NOTHING and state.topic is not None
    assert state.conditions == {"kidney", "other"}  # what it could not read still gates
    assert state.dose is not None and (state.dose.amount_mg, state.dose.form, state.dose.count) == (None, None, None)
    # The two forms last compared: exactly two different known forms, or nothing.
    for sent in (["glycinate", "unobtainium"], ["glycinate", "glycinate"], ["glycinate", "citrate", "oxide"], "citrate",
                 [7, "citrate"], None):
        assert State.load({"compared": sent}).compared is None, sent
    kept = State.load({"compared": ["citrate", "oxide"]})
    assert kept.compared is not None and [f.value for f in kept.compared] == ["citrate", "oxide"]
    session: dict = {}
    kept.dump(session)
    assert session == {"compared": ["citrate", "oxide"]}


def test_content_is_chosen_by_each_requests_locale(talk: Conversation) -> None:
    us = load_catalog("en-US")
    files = {"core.toml": '[help]\nsay = ["Ask me anything about magnesium, love."]\nask = true\nreprompt = ["Go on."]\n'}
    gb = parse_catalog(files, "en-GB")
    voice = Voice({"en-US": us, "en-GB": gb})
    reply = Reply([], ask=Line("help"))
    assert "love" in voice.render(reply, "en-GB").ssml
    assert "love" not in voice.render(reply, "en-US").ssml
    assert voice.catalog_for("en-AU") is us  # a locale it has no content for: en-US, never a neighbour's
    assert voice.catalog_for("fr-FR") is us
    # And through a real request, in the content the skill ships for en-GB.
    talk_gb = talk.send({"type": "IntentRequest", "locale": "en-GB", "intent": {"name": "AMAZON.HelpIntent", "slots": {}}})
    assert talk_gb.said("help")


def test_help_is_one_handler_inside_and_outside_the_routine() -> None:
    routes = Router(declared_handlers()).table
    assert isinstance(routes[("AMAZON.HelpIntent", ANY)], HelpHandler)
    assert not isinstance(routes[("AMAZON.HelpIntent", Waiting.CHECKIN)], HelpHandler)
