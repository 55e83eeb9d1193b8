"""Request envelopes shaped like the ones Alexa sends, so a simulated turn exercises the real skill.

The JSON follows the Alexa request format (version, session, context.System, request), with
entity-resolution blocks for custom slot types. Every envelope deserialises with ask-sdk-core's
``DefaultSerializer`` into ``ask_sdk_model.RequestEnvelope``.
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from skill_tools.simulator.nlu import Resolution, SlotMatch

DEFAULT_SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-000000000000"
SESSION_END_REASONS = ("USER_INITIATED", "ERROR", "EXCEEDED_MAX_REPROMPTS")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: now, in UTC (web endpoints check the timestamp against theirs)."""
    return datetime.now(timezone.utc)


@dataclass
class SessionState:
    """One open skill session as Alexa keeps it: its id, whether it is new, and its attributes."""

    session_id: str = field(default_factory=lambda: f"amzn1.echo-api.session.{uuid.uuid4()}")
    new: bool = True
    attributes: dict[str, Any] = field(default_factory=dict)


class RequestFactory:
    """Build LaunchRequest, IntentRequest and SessionEndedRequest envelopes for one simulated device."""

    def __init__(
        self,
        skill_id: str = DEFAULT_SKILL_ID,
        user_id: str | None = None,
        locale: str = "en-US",
        api_endpoint: str = "https://api.amazonalexa.com",
        clock: Clock = utc_now,
        supported_interfaces: dict[str, Any] | None = None,
    ) -> None:
        self.skill_id = skill_id
        # One person on one device for the factory's whole life, as persistence keys on them.
        self.user_id = user_id or f"amzn1.ask.account.SIM{uuid.uuid4().hex.upper()}"
        self.device_id = f"amzn1.ask.device.SIM{uuid.uuid4().hex.upper()}"
        self.locale = locale
        self.api_endpoint = api_endpoint
        self.clock = clock
        # A voice-only speaker by default; pass {"Display": {}} etc. to pretend otherwise.
        self.supported_interfaces = dict(supported_interfaces or {})
        # Not a credential: a stand-in so code reading context.System.apiAccessToken finds a string.
        self.api_access_token = f"sim.{uuid.uuid4().hex}"

    def new_session(self) -> SessionState:
        """Start the state of a fresh session (new=True, no attributes)."""
        return SessionState()

    def launch(self, session: SessionState) -> dict[str, Any]:
        """The envelope for "Alexa, open <invocation name>"."""
        return self._envelope(session, {"type": "LaunchRequest", **self._request_head()})

    def intent(self, resolution: Resolution, session: SessionState) -> dict[str, Any]:
        """The envelope for an utterance resolved to ``resolution``, every declared slot listed."""
        slots: dict[str, Any] = {}
        for name in resolution.declared_slots:
            slots[name] = {"name": name, "confirmationStatus": "NONE"}
        for name, match in resolution.slots.items():
            slots[name] = self._slot(match)
        intent = {"name": resolution.intent, "confirmationStatus": "NONE", "slots": slots}
        return self._envelope(session, {"type": "IntentRequest", **self._request_head(), "intent": intent})

    def session_ended(
        self, session: SessionState, reason: str = "USER_INITIATED", error: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The envelope Alexa sends when a session closes for a reason other than the skill's own."""
        if reason not in SESSION_END_REASONS:
            raise ValueError(f"reason must be one of {', '.join(SESSION_END_REASONS)}, not {reason!r}")
        request: dict[str, Any] = {"type": "SessionEndedRequest", **self._request_head(), "reason": reason}
        if error is not None:
            request["error"] = error
        return self._envelope(session, request)

    # --- parts -------------------------------------------------------------------------------

    def _request_head(self) -> dict[str, str]:
        now = self.clock()
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)  # a naive clock is taken to read UTC
        return {
            "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
            "timestamp": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "locale": self.locale,
        }

    def _slot(self, match: SlotMatch) -> dict[str, Any]:
        slot: dict[str, Any] = {
            "name": match.name,
            "value": match.value,
            "confirmationStatus": "NONE",
            "source": "USER",
        }
        simple: dict[str, Any] = {"type": "Simple", "value": match.value}
        if not match.slot_type.startswith("AMAZON.") and match.slot_type:
            authority: dict[str, Any] = {
                "authority": f"amzn1.er-authority.echo-sdk.{self.skill_id}.{match.slot_type}",
                "status": {"code": "ER_SUCCESS_MATCH" if match.resolved_id is not None else "ER_SUCCESS_NO_MATCH"},
            }
            if match.resolved_id is not None:
                authority["values"] = [{"value": {"name": match.resolved_name, "id": match.resolved_id}}]
            slot["resolutions"] = {"resolutionsPerAuthority": [authority]}
            simple["resolutions"] = slot["resolutions"]
        slot["slotValue"] = simple
        return slot

    def _envelope(self, session: SessionState, request: dict[str, Any]) -> dict[str, Any]:
        application = {"applicationId": self.skill_id}
        user = {"userId": self.user_id}
        return {
            "version": "1.0",
            "session": {
                "new": session.new,
                "sessionId": session.session_id,
                "application": dict(application),
                # A copy, so a skill that mutates what it received cannot reach back into our state.
                "attributes": copy.deepcopy(session.attributes),
                "user": dict(user),
            },
            "context": {
                "System": {
                    "application": dict(application),
                    "user": dict(user),
                    "device": {"deviceId": self.device_id, "supportedInterfaces": dict(self.supported_interfaces)},
                    "apiEndpoint": self.api_endpoint,
                    "apiAccessToken": self.api_access_token,
                }
            },
            "request": request,
        }
