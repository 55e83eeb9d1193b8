"""What handlers reach outside the request: the clock, the person's profile, and the Alexa APIs.

All of it is injected by the builder, so tests swap the clock and point the APIs at a local server.

The profile is read once per request and changed through ``update`` (or ``save``): each write
re-applies this turn's changes, field by field, to the latest stored row under a version check, so
two requests for one person at the same instant both keep what they changed. When the store
cannot be read or written, the turn goes on with the profile kept in the session only, and
``unsaved`` tells the handler so that it can say so calmly.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeGuard

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model.services import ApiClient

from skill.outbound import Breakers, Budget
from skill.profile.models import UserProfile
from skill.profile.versions import UNVERSIONED, Snapshot, VersionConflict, VersionedStore, apply, changes
from skill.speech import set_state, state_of, system_of

if TYPE_CHECKING:
    from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter

    from skill.alexa_api import NightlyReminders
    from skill.settings import Settings

log = logging.getLogger(__name__)

# This request's view of the profile, so a handler's can_handle and handle read storage once.
_REQUEST_PROFILE = "_profile"
_REQUEST_BUDGET = "_api_budget"
# Conflicts are rare (one person, two devices, one instant); a few quick retries settle them.
MAX_WRITE_ATTEMPTS = 6


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class _Turn:
    """What this request knows of the person's profile."""

    profile: UserProfile  # what handlers read and may change in place
    base: dict[str, Any]  # the attributes as last read or written, to tell this turn's changes apart
    version: int = UNVERSIONED
    fresh: bool = True  # base is what the store holds as far as this turn knows
    unsaved: bool = False  # something this turn asked to save is in the session only


@dataclass(slots=True)
class Services:
    """The skill's outside world, one instance per skill."""

    clock: Callable[[], datetime] = utc_now
    default_time_zone: str = "America/New_York"
    alexa_api: bool = True  # off in the offline simulator: no calls leave the machine
    api_client: ApiClient | None = None
    # Every Alexa API call of one turn shares this many seconds; Alexa waits about 8 for the answer.
    api_budget_s: float = 3.5
    api_call_timeout_s: float = 2.5
    # Accept a loopback apiEndpoint (the tests' stand-in); production sends tokens to Alexa's hosts only.
    api_allow_loopback: bool = False
    # One circuit breaker per Alexa API host, shared by every request this process serves.
    breakers: Breakers = field(default_factory=Breakers)

    @classmethod
    def from_settings(cls, settings: Settings, api_client: ApiClient | None = None) -> Services:
        """The services a deployment's settings describe."""
        return cls(
            default_time_zone=settings.default_time_zone,
            alexa_api=settings.alexa_api,
            api_client=api_client,
            api_budget_s=settings.alexa_api_budget_s,
            api_call_timeout_s=settings.alexa_api_call_timeout_s,
            api_allow_loopback=settings.alexa_api_allow_loopback,
            breakers=Breakers(
                failures=settings.alexa_api_breaker_failures,
                cooldown=settings.alexa_api_breaker_cooldown_s,
                max_in_flight=settings.alexa_api_max_in_flight,
            ),
        )

    # -- the profile ---------------------------------------------------------------------------

    def profile(self, handler_input: HandlerInput) -> UserProfile:
        """Load what this person chose before (never health data); read once per request."""
        return self._turn(handler_input).profile

    def update(self, handler_input: HandlerInput, change: Callable[[UserProfile], object]) -> UserProfile:
        """Apply ``change`` to the latest stored profile and store it; return the profile as stored.

        The change (and whatever this turn already changed in place on ``profile()``) is re-applied
        to a fresh read whenever someone else wrote in between, so it must be a function of the
        profile it is given. If the store fails, the result is kept in the session for this turn.
        """
        turn = self._turn(handler_input)
        pending = changes(turn.base, turn.profile.to_attributes())
        return self._write(handler_input, turn, pending, change)

    def save(self, handler_input: HandlerInput, profile: UserProfile) -> None:
        """Store the fields this turn changed on ``profile``, keeping what others stored meanwhile."""
        turn = self._turn(handler_input)
        self._write(handler_input, turn, changes(turn.base, profile.to_attributes()), None, also=profile)

    def unsaved(self, handler_input: HandlerInput) -> bool:
        """True when something this turn stored could only be kept in the session (the store failed)."""
        return self._turn(handler_input).unsaved

    def forget(self, handler_input: HandlerInput) -> bool:
        """Delete everything stored about this person; False if the store could not do it."""
        manager = handler_input.attributes_manager
        manager.request_attributes.pop(_REQUEST_PROFILE, None)
        _keep_in_session(handler_input, None)
        store = _store(handler_input)
        if store is None:
            return True
        try:
            store.delete_attributes(handler_input.request_envelope)
        except Exception as exc:  # noqa: BLE001 - any store failure: the answer must still come
            log.warning("could not delete a profile: %s", _why(exc))
            return False
        return True

    def _turn(self, handler_input: HandlerInput) -> _Turn:
        manager = handler_input.attributes_manager
        turn = manager.request_attributes.get(_REQUEST_PROFILE)
        if isinstance(turn, _Turn):
            return turn
        store = _store(handler_input)
        # A copy in the session holds changes this session could not store: it is what the person
        # last told us, so it is what they hear; the stored row stays the base, so the next write
        # that goes through stores those changes too.
        session_copy = state_of(handler_input).profile
        session_copy = session_copy if isinstance(session_copy, dict) else None
        snapshot, fresh = Snapshot(session_copy or {}), True
        if store is not None:
            try:
                snapshot = _store_read(store, handler_input)
            except Exception as exc:  # noqa: BLE001 - see forget()
                log.warning("could not read a profile; this turn keeps it in the session: %s", _why(exc))
                fresh = False
        base = UserProfile.from_attributes(snapshot.attributes)
        profile = UserProfile.from_attributes(session_copy) if session_copy is not None else base
        turn = _Turn(profile, base.to_attributes(), snapshot.version, fresh)
        manager.request_attributes[_REQUEST_PROFILE] = turn
        return turn

    def _write(
        self,
        handler_input: HandlerInput,
        turn: _Turn,
        pending: dict[str, Any],
        change: Callable[[UserProfile], object] | None,
        also: UserProfile | None = None,
    ) -> UserProfile:
        """Re-apply ``pending`` and ``change`` to the latest row until a versioned write goes through."""
        store = _store(handler_input)
        envelope = handler_input.request_envelope
        snapshot = Snapshot(turn.base, turn.version)
        for attempt in range(MAX_WRITE_ATTEMPTS):
            if attempt or not turn.fresh:
                try:
                    snapshot = _store_read(store, handler_input) if store is not None else snapshot
                except Exception as exc:  # noqa: BLE001 - see forget()
                    log.warning("could not read a profile to save it: %s", _why(exc))
                    break
            latest = UserProfile.from_attributes(snapshot.attributes).to_attributes()
            result = UserProfile.from_attributes(apply(pending, latest))
            if change is not None:
                change(result)
            attributes = result.to_attributes()
            if store is None:
                _keep_in_session(handler_input, attributes)
                return self._settle(turn, result, attributes, snapshot.version, also)
            if attributes == latest:
                return self._settle(turn, result, attributes, snapshot.version, also)  # nothing to store
            try:
                version = _store_write(store, envelope, attributes, snapshot.version)
            except VersionConflict:
                # Someone wrote since we read: read again and re-apply, after a short random pause
                # so that two retrying requests do not collide again in lockstep.
                time.sleep(random.uniform(0.002, 0.01) * (attempt + 1))
                continue
            except Exception as exc:  # noqa: BLE001 - see forget()
                log.warning("could not save a profile; kept in the session for now: %s", _why(exc))
                break
            _keep_in_session(handler_input, None)
            return self._settle(turn, result, attributes, version, also)
        else:
            log.warning("gave up saving a profile after %d conflicting writes", MAX_WRITE_ATTEMPTS)
        # The store failed: this turn (and this session, if it goes on) keeps the change. The base
        # stays what the store last held, so a later write this turn still carries this change.
        result = UserProfile.from_attributes(apply(pending, turn.base))
        if change is not None:
            change(result)
        _keep_in_session(handler_input, result.to_attributes())
        _copy_into((turn.profile, also), result)
        turn.unsaved, turn.fresh = True, False
        return turn.profile

    @staticmethod
    def _settle(turn: _Turn, result: UserProfile, attributes: dict[str, Any], version: int,
                also: UserProfile | None) -> UserProfile:
        """Make the stored profile this turn's, keeping the objects handlers hold current."""
        _copy_into((turn.profile, also), result)
        turn.base, turn.version, turn.fresh, turn.unsaved = attributes, version, True, False
        return turn.profile

    # -- the Alexa APIs ---------------------------------------------------------------------------

    def budget(self, handler_input: HandlerInput) -> Budget:
        """The time this turn may still spend on Alexa API calls; it starts with the first call."""
        attributes = handler_input.attributes_manager.request_attributes
        budget = attributes.get(_REQUEST_BUDGET)
        if not isinstance(budget, Budget):
            budget = attributes[_REQUEST_BUDGET] = Budget(self.api_budget_s)
        return budget

    def reminders(self, handler_input: HandlerInput) -> NightlyReminders:
        """The Alexa reminders and settings APIs at this request's apiEndpoint, within this turn's budget."""
        from skill.alexa_api import NightlyReminders
        from skill.alexa_errors import ReminderError

        if not self.alexa_api:
            raise ReminderError("unavailable", "the Alexa APIs are off in offline mode")
        system = system_of(handler_input)
        return NightlyReminders(
            system.api_endpoint or "",
            system.api_access_token or "",
            self.api_client,
            clock=self.clock,
            budget=self.budget(handler_input),
            breakers=self.breakers,
            call_timeout=self.api_call_timeout_s,
            allow_loopback=self.api_allow_loopback,
        )

    def time_zone(self, handler_input: HandlerInput, profile: UserProfile) -> str:
        """The person's time zone: remembered, else asked of the device's settings, else the default."""
        if profile.time_zone:
            return profile.time_zone
        if not self.alexa_api:
            return self.default_time_zone
        system = system_of(handler_input)
        device_id = (system.device.device_id if system.device else None) or ""
        zone = self.reminders(handler_input).time_zone(device_id, fallback="")
        if not zone:
            return self.default_time_zone  # a guess for tonight, never remembered
        profile.time_zone = zone
        return zone


def _keep_in_session(handler_input: HandlerInput, attributes: dict[str, Any] | None) -> None:
    """Without a store (the offline simulator), or while it fails, the profile lives in the session state."""
    set_state(handler_input, replace(state_of(handler_input), profile=attributes))


def _copy_into(targets: tuple[UserProfile | None, ...], source: UserProfile) -> None:
    """Give each target the source's values in place (the source is already validated).

    Field by field, so it holds for a pydantic model and for a (slotted) dataclass alike.
    """
    kind = type(source)
    names = getattr(kind, "model_fields", None) or getattr(kind, "__dataclass_fields__", None) or vars(source)
    for target in targets:
        if target is not None and target is not source:
            for name in names:
                object.__setattr__(target, name, getattr(source, name))


def _store(handler_input: HandlerInput) -> AbstractPersistenceAdapter | None:
    """The persistence adapter the builder gave the skill (ask-sdk keeps it on the attributes manager
    and has no public accessor; it is the one object both the SDK and this class write through)."""
    return getattr(handler_input.attributes_manager, "_persistence_adapter", None)


_VERSIONED: dict[type, bool] = {}


def _versioned(store: object) -> TypeGuard[VersionedStore]:
    # A runtime Protocol check inspects every member (~5 µs); a store's class answers the same each time.
    known = _VERSIONED.get(type(store))
    if known is None:
        known = _VERSIONED[type(store)] = isinstance(store, VersionedStore)
    return known


def _store_read(store: AbstractPersistenceAdapter, handler_input: HandlerInput) -> Snapshot:
    envelope = handler_input.request_envelope
    if _versioned(store):
        return store.read(envelope)
    return Snapshot(dict(store.get_attributes(envelope) or {}))  # an adapter without versions


def _store_write(store: AbstractPersistenceAdapter, envelope: Any, attributes: dict[str, Any], expected: int) -> int:
    if _versioned(store):
        return store.write(envelope, attributes, expected)
    store.save_attributes(envelope, attributes)  # last writer wins; the merge above narrows the window
    return expected


def _why(exc: BaseException) -> str:
    """A log-safe reason: the exception type and message, never a user id (stores key by a hash)."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"
