"""A small conversation driver for tests: U: says something, A: answers, we check what was said."""
from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from skill.runtime import SkillRunner
from skill.speech import to_text

SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-000000000000"
_ids = itertools.count(1)


def envelope(request: dict[str, Any], *, attributes: dict[str, Any] | None = None, new: bool = True,
             session_id: str = "amzn1.echo-api.session.test", user_id: str = "amzn1.ask.account.TEST",
             api_endpoint: str = "https://api.amazonalexa.com", consent: bool = False) -> dict[str, Any]:
    """A request envelope shaped like Alexa's; `consent` adds the reminders permission's token."""
    request = {"requestId": f"amzn1.echo-api.request.{next(_ids)}", "timestamp": "2026-11-26T22:30:00Z",
               "locale": "en-US", **request}
    app = {"applicationId": SKILL_ID}
    user: dict[str, Any] = {"userId": user_id}
    if consent:
        user["permissions"] = {"consentToken": "consent-token"}
    return {
        "version": "1.0",
        "session": {"new": new, "sessionId": session_id, "application": app,
                    "attributes": attributes or {}, "user": dict(user)},
        "context": {"System": {"application": app, "user": user,
                               "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
                               "apiEndpoint": api_endpoint, "apiAccessToken": "token"}},
        "request": request,
    }


def intent_request(name: str, **slots: str | None) -> dict[str, Any]:
    """An IntentRequest; a slot given as "id:heard" carries an entity-resolution match."""
    filled: dict[str, Any] = {}
    for slot_name, value in slots.items():
        entry: dict[str, Any] = {"name": slot_name, "confirmationStatus": "NONE"}
        if value is not None:
            is_time = re.fullmatch(r"\d{1,2}:\d{2}", value)  # AMAZON.TIME, not "id:heard"
            resolved, _, heard = value.partition(":") if ":" in value and not is_time else (None, "", value)
            entry["value"] = heard
            if resolved:
                entry["resolutions"] = {"resolutionsPerAuthority": [{
                    "authority": f"amzn1.er-authority.echo-sdk.{SKILL_ID}.Type",
                    "status": {"code": "ER_SUCCESS_MATCH"},
                    "values": [{"value": {"name": heard, "id": resolved}}]}]}
        filled[slot_name] = entry
    return {"type": "IntentRequest", "dialogState": "COMPLETED",
            "intent": {"name": name, "confirmationStatus": "NONE", "slots": filled}}


@dataclass
class Turn:
    """One answer from the skill."""

    response: dict[str, Any]
    keys: list[str]

    @property
    def body(self) -> dict[str, Any]:
        return self.response["response"]

    @property
    def ssml(self) -> str:
        return self.body.get("outputSpeech", {}).get("ssml", "")

    @property
    def speech(self) -> str:
        return to_text(self.ssml)

    @property
    def reprompt(self) -> str | None:
        ssml = (self.body.get("reprompt") or {}).get("outputSpeech", {}).get("ssml")
        return to_text(ssml) if ssml else None

    @property
    def ended(self) -> bool:
        return bool(self.body.get("shouldEndSession"))

    @property
    def words(self) -> int:
        return len(self.speech.split())

    def said(self, *keys: str) -> bool:
        """True when every content key was spoken in this turn."""
        return all(k in self.keys for k in keys)


def check_response(response: dict[str, Any]) -> None:
    """What every response must be: valid SSML, under Alexa's limit, a reprompt if the session stays open."""
    body = response["response"]
    for part in (body.get("outputSpeech"), (body.get("reprompt") or {}).get("outputSpeech")):
        if part:
            assert part["type"] == "SSML"
            assert len(part["ssml"]) <= 8000
            assert ElementTree.fromstring(part["ssml"]).tag == "speak"
    if body.get("shouldEndSession") is False:
        assert body.get("reprompt"), "an open session needs a reprompt"


@dataclass
class Conversation:
    """One user talking to the skill; session attributes carry over as Alexa would carry them."""

    runner: SkillRunner
    said: list[str]
    attributes: dict[str, Any] = field(default_factory=dict)
    open: bool = False
    user_id: str = "amzn1.ask.account.TEST"
    api_endpoint: str = "https://api.amazonalexa.com"
    consent: bool = False
    locale: str = "en-US"  # the market this person talks from (en-GB, en-AU, en-CA, en-IN ...)

    def send(self, request: dict[str, Any]) -> Turn:
        start = len(self.said)
        env = envelope({"locale": self.locale, **request}, attributes=self.attributes, new=not self.open, user_id=self.user_id,
                       api_endpoint=self.api_endpoint, consent=self.consent)
        response = self.runner.invoke(env)
        check_response(response)
        turn = Turn(response, self.said[start:])
        self.open = not turn.ended if request["type"] != "SessionEndedRequest" else False
        self.attributes = response.get("sessionAttributes") or {} if self.open else {}
        return turn

    def launch(self) -> Turn:
        return self.send({"type": "LaunchRequest"})

    def ask(self, intent: str, **slots: str | None) -> Turn:
        return self.send(intent_request(intent, **slots))

    def ask_screened(self, intent: str, **slots: str | None) -> Turn:
        """Ask; if the screening question comes first, answer it with a clear "no" and return the answer it held.

        U: how much should I take?   A: First, a quick check...   U: no.   A: (the figure)
        """
        turn = self.ask(intent, **slots)
        if "screen.ask" not in turn.keys:
            return turn
        return self.ask("AMAZON.NoIntent")

    def permission(self, status: str, token: str = "nightly-reminder") -> Turn:
        """Alexa's answer to a voice permission request; `token` is the one the request carried."""
        return self.send({"type": "Connections.Response", "name": "AskFor", "status": {"code": "200", "message": "OK"},
                          "payload": {"permissionScope": "alexa::alerts:reminders:skill:readwrite", "status": status},
                          "token": token})

    def end(self, reason: str = "USER_INITIATED") -> Turn:
        return self.send({"type": "SessionEndedRequest", "reason": reason})


def numbers(text: str) -> list[int]:
    """The whole numbers spoken in a sentence, to check figures without matching a variant."""
    return [int(n) for n in re.findall(r"\d+", text)]


def fresh_session_id() -> str:
    return f"amzn1.echo-api.session.{uuid.uuid4()}"
