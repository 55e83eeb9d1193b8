"""What handlers reach outside the request: the clock, the person's profile, and the Alexa APIs.

All of it is injected by the builder, so tests swap the clock and point the APIs at a local server.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ask_sdk_core.exceptions import AttributesManagerException
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.services import ApiClient

from skill.alexa_errors import ReminderError

from skill.profile.models import UserProfile
from skill.speech import set_state, state_of

if TYPE_CHECKING:
    from skill.alexa_api import NightlyReminders

log = logging.getLogger(__name__)

# The profile loaded for this request, so a handler's can_handle and handle read storage once.
_REQUEST_PROFILE = "_profile"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Services:
    """The skill's outside world, one instance per skill."""

    clock: Callable[[], datetime] = utc_now
    default_time_zone: str = "America/New_York"
    alexa_api: bool = True  # off in the offline simulator: no calls leave the machine
    api_client: ApiClient | None = None

    def profile(self, handler_input: HandlerInput) -> UserProfile:
        """Load what this person chose before (never health data); read once per request."""
        manager = handler_input.attributes_manager
        cached = manager.request_attributes.get(_REQUEST_PROFILE)
        if isinstance(cached, UserProfile):
            return cached
        try:
            raw = manager.persistent_attributes
        except AttributesManagerException:
            # Without a persistence adapter (the offline simulator) the profile lives for the session only.
            raw = state_of(handler_input).profile
        profile = UserProfile.from_attributes(raw)
        manager.request_attributes[_REQUEST_PROFILE] = profile
        return profile

    def save(self, handler_input: HandlerInput, profile: UserProfile) -> None:
        """Save the profile in one write (one transaction in SQLite)."""
        manager = handler_input.attributes_manager
        manager.request_attributes[_REQUEST_PROFILE] = profile
        try:
            manager.persistent_attributes = profile.to_attributes()
            manager.save_persistent_attributes()
        except AttributesManagerException:
            set_state(handler_input, replace(state_of(handler_input), profile=profile.to_attributes()))

    def forget(self, handler_input: HandlerInput) -> None:
        """Delete everything stored about this person."""
        manager = handler_input.attributes_manager
        manager.request_attributes.pop(_REQUEST_PROFILE, None)
        set_state(handler_input, replace(state_of(handler_input), profile=None))
        try:
            manager.delete_persistent_attributes()
        except AttributesManagerException:
            pass

    def reminders(self, handler_input: HandlerInput) -> NightlyReminders:
        """The Alexa reminders and settings APIs at this request's apiEndpoint."""
        # Loaded on the first turn that calls an API: the HTTP stack stays off most cold starts.
        from skill.alexa_api import NightlyReminders

        if not self.alexa_api:
            raise ReminderError("unavailable", "the Alexa APIs are off in offline mode")
        system = handler_input.request_envelope.context.system
        return NightlyReminders(system.api_endpoint, system.api_access_token, self.api_client, clock=self.clock)

    def time_zone(self, handler_input: HandlerInput, profile: UserProfile) -> str:
        """The person's time zone: remembered, else asked of the device's settings, else the default."""
        if profile.time_zone:
            return profile.time_zone
        if not self.alexa_api:
            return self.default_time_zone
        system = handler_input.request_envelope.context.system
        device_id = system.device.device_id if system.device else ""
        zone = self.reminders(handler_input).time_zone(device_id, fallback="")
        if not zone:
            return self.default_time_zone  # a guess for tonight, never remembered
        profile.time_zone = zone
        return zone
