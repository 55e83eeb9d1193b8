"""What handlers that know the person share: their profile, tonight's timing, the bedtime question,
and the nightly reminder (created, explained when it cannot be, deleted)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from ask_sdk_model.ui import AskForPermissionsConsentCard

from skill.alexa_errors import ReminderError
from skill.handlers.base import HALF_PAST, TIME, Handler, Intent, elicit, slot
from skill.knowledge.nights import Tonight, bedtime_from_slot, half_past, spoken_time, tonight
from skill.profile.models import UserProfile
from skill.services import Services
from skill.speech import Line, Reply, Voice, request_locale, system_of
from skill.state import Waiting

if TYPE_CHECKING:
    from skill.alexa_api import NightlyReminders  # loaded only by a turn that calls the API

log = logging.getLogger(__name__)

REMINDERS_SCOPE = "alexa::alerts:reminders:skill:readwrite"
ASK_FOR_TOKEN = "nightly-reminder"
# A claim to create the reminder older than this was left by a request that died (Alexa gives
# every request 8 seconds) or by a create whose outcome was unknown (kept so that a retry makes
# nothing while the reminders list may still lag behind it), so another request may take it over.
CLAIM_SECONDS = 60
# The bedtime question is asked with Dialog.ElicitSlot for this intent's slot (the ASK dialog model).
SET_BEDTIME = Intent("SetBedtimeIntent", (TIME, HALF_PAST))
# "Remind me at nine thirty" (or "at half nine"); with no time said, it is asked for with Dialog.ElicitSlot.
REMINDER = Intent("ReminderIntent", (TIME, HALF_PAST))


class PersonalHandler(Handler):
    """A handler that knows the person's profile and tonight's timing."""

    def __init__(self, voice: Voice, services: Services) -> None:
        super().__init__(voice)
        self.services = services

    def tonight(self, handler_input: HandlerInput, profile: UserProfile) -> Tonight:
        assert profile.bedtime is not None
        zone = self.services.time_zone(handler_input, profile)
        return tonight(profile.bedtime, zone, self.services.clock())

    def ask_bedtime(self, handler_input: HandlerInput, then: str, key: str = "routine.ask_bedtime") -> Response:
        """Ask "what time do you go to bed?", eliciting SetBedtimeIntent's time slot; `then` is what follows."""
        elicit(handler_input, SET_BEDTIME.name, TIME.name)
        reply = Reply([], ask=Line(key), waiting=Waiting.BEDTIME, then=then or None)
        return self.voice.respond(handler_input, reply)


def has_consent(handler_input: HandlerInput) -> bool:
    """True when the person has granted the reminders permission (the request carries its token)."""
    user = system_of(handler_input).user
    return bool(user and user.permissions and user.permissions.consent_token)


def unsaved_line(services: Services, handler_input: HandlerInput) -> list[Line]:
    """A calm line when something the person asked to keep could only be kept for this session."""
    return [Line("store.unsaved")] if services.unsaved(handler_input) else []


def time_said(handler_input: HandlerInput) -> str | None:
    """The clock time said in this request, as AMAZON.TIME sends it ("22:30", "NI"), or "half ten" as "10:30"."""
    return slot(handler_input, TIME.name)[1] or half_past(slot(handler_input, HALF_PAST.name)[1])


def reminder_time(handler_input: HandlerInput) -> str | None:
    """The reminder time said in this request ("HH:MM", a clock time said without pm read as evening), or None."""
    return bedtime_from_slot(time_said(handler_input))


def ask_reminder_time(handler: PersonalHandler, handler_input: HandlerInput, profile: UserProfile) -> Response:
    """Ask what time to remind, eliciting ReminderIntent's time slot.

    With a bedtime saved, the start of the wind-down is offered, and said as a habit the skill suggests,
    never as a finding: no source sets a time of day (T1). "Yes" takes it (`then` keeps it for one turn).
    """
    elicit(handler_input, REMINDER.name, TIME.name)
    if profile.bedtime:
        suggested = handler.tonight(handler_input, profile).dose_at.strftime("%H:%M")
        ask = Line("reminder.ask_time_suggest", {"time": spoken_time(suggested, request_locale(handler_input)), "bedtime": spoken_time(profile.bedtime, request_locale(handler_input))})
        return handler.voice.respond(handler_input, Reply([], ask=ask, waiting=Waiting.REMINDER_TIME, then=suggested))
    return handler.voice.respond(handler_input, Reply([], ask=Line("reminder.ask_time"), waiting=Waiting.REMINDER_TIME))


def time_from_token(token: str | None) -> str | None:
    """The reminder time carried through the permission request ("nightly-reminder 21:30"), or None."""
    name, _, at = (token or "").partition(" ")
    return bedtime_from_slot(at) if name == ASK_FOR_TOKEN else None


def schedule_reminder(
    handler: PersonalHandler, handler_input: HandlerInput, profile: UserProfile, at: str, lead: list[Line] | None = None
) -> Response:
    """Set the nightly reminder at `at` ("HH:MM"), moving one already set; or ask for permission; or explain why not.

    One reminder per person, whatever arrives at once: a request first claims the right to create
    it with a versioned write to the profile (only one of several concurrent claims can win), then
    finds the skill's reminders (the API's list and the ids stored), deletes any there are (a new
    time moves the reminder), and creates one. A create whose outcome is unknown (it timed out after
    the request went) is no failure: the claim stays, and the person hears it may already be set.
    """
    services, voice = handler.services, handler.voice
    lines = list(lead or [])
    if services.alexa_api and not has_consent(handler_input):
        # Ask by voice first (Alexa speaks the consent prompt); a card is the fallback if unanswered.
        # The token carries the time asked for, so the answer to the prompt can set it.
        from ask_sdk_model.interfaces.connections import SendRequestDirective  # where used, as in elicit()

        directive = SendRequestDirective(
            name="AskFor",
            payload={"@type": "AskForPermissionsConsentRequest", "@version": "1", "permissionScope": REMINDERS_SCOPE},
            token=f"{ASK_FOR_TOKEN} {at}",
        )
        handler_input.response_builder.add_directive(directive)
        return handler_input.response_builder.response
    zone = services.time_zone(handler_input, profile)
    claimed_at = int(services.clock().timestamp())
    won = False

    set_before: str | None = None
    stored_ids: list[str] = []

    def claim(latest: UserProfile) -> None:
        nonlocal won, set_before, stored_ids
        held = latest.reminder_claimed_at
        won = held is None or abs(claimed_at - held) > CLAIM_SECONDS
        if won:
            latest.reminder_claimed_at = claimed_at
            set_before, stored_ids = latest.reminder_at, list(latest.reminder_ids)

    services.update(handler_input, claim)
    if not won:
        # Another request for this person is making the reminder at this moment, or made one whose
        # outcome is unknown: it may be set, and nothing is made again until the claim lapses.
        lines.append(Line("reminder.maybe_set", {"time": spoken_time(at, request_locale(handler_input))}))
        return voice.respond(handler_input, Reply(lines, done=True))
    kept: str | None = None
    problem: ReminderError | None = None
    unsure = False  # the create may have made the reminder though no answer said so
    deleted: list[str] = []
    key = "reminder.created"
    try:
        api = services.reminders(handler_input)
        active = active_reminders(api, stored_ids)
        if active and set_before == at:  # "remind me at nine" again: the one there is kept
            kept, key = next((t for t in stored_ids if t in active), active[0]), "reminder.exists"
            stale = [t for t in active if t != kept]  # duplicates an older release made
        else:  # a new time replaces the reminder set before
            stale, key = active, "reminder.moved" if active else "reminder.created"
        for token in stale:
            api.delete(token)
            deleted.append(token)
        if kept is None:
            locale = request_locale(handler_input)
            try:
                kept = api.create_daily(at=at, time_zone=zone, text=voice.phrase("reminder.text", locale), locale=locale)
            except ReminderError as exc:
                unsure = exc.maybe_done
                raise
    except ReminderError as exc:
        log.warning("reminder %s: %s", "outcome unknown" if unsure else "not created", exc.kind)
        problem = exc

    def settle(latest: UserProfile) -> None:
        # An unknown outcome keeps the claim: a retry within CLAIM_SECONDS makes nothing, and one
        # after it finds the reminder in the list, which has caught up by then.
        if latest.reminder_claimed_at == claimed_at and not unsure:
            latest.reminder_claimed_at = None
        latest.reminder_ids = [t for t in latest.reminder_ids if t not in deleted]
        if kept is not None:
            latest.reminder_ids = [kept]
        if kept is not None or unsure:
            latest.reminder_at = at  # set, or perhaps set: the same time asked again keeps what is found

    services.update(handler_input, settle)
    if unsure:
        lines.append(Line("reminder.maybe_set", {"time": spoken_time(at, request_locale(handler_input))}))
        return voice.respond(handler_input, Reply(lines, done=True))
    if problem is not None:
        return reminder_problem(handler, handler_input, problem.kind, lines)
    lines.append(Line(key, {"time": spoken_time(at, request_locale(handler_input))}))
    return voice.respond(handler_input, Reply(lines, done=True))


def active_reminders(api: NightlyReminders, stored_ids: list[str]) -> list[str]:
    """The ids of the skill's reminders that are on: the API's list, and each stored id it does not show.

    The list can lag seconds behind a create, so a reminder made a moment ago is asked after by
    its stored id (one call, only when the list leaves it out) before another is made.
    """
    listed = api.skill_reminders()
    active = [r.token for r in listed if r.active]
    seen = {r.token for r in listed}
    active += [token for token in stored_ids if token not in seen and api.exists(token)]
    return active


def reminder_problem(handler: Handler, handler_input: HandlerInput, kind: str, lead: list[Line]) -> Response:
    """A calm answer for each way the reminders API can fail."""
    if kind == "no_permission":
        handler_input.response_builder.set_card(AskForPermissionsConsentCard(permissions=[REMINDERS_SCOPE]))
        reply = Reply([*lead, Line("reminder.permission_card")], done=True, card=False)
    elif kind in ("rate_limited", "unavailable", "timeout"):
        reply = Reply([*lead, Line("reminder.unavailable")], done=True)
    else:
        reply = Reply([*lead, Line("reminder.failed")], done=True)
    return handler.voice.respond(handler_input, reply)


def delete_reminders(handler: PersonalHandler, handler_input: HandlerInput, profile: UserProfile) -> list[str]:
    """Delete every reminder this skill made for this person; return their ids.

    They are listed by the Reminders API itself, not only taken from the profile, so none is
    missed (a create that timed out after it succeeded, ids lost to an older release's races).
    Raises ReminderError if the API fails.
    """
    if not profile.reminder_ids and not (handler.services.alexa_api and has_consent(handler_input)):
        return []  # without the permission the skill cannot have made any
    api = handler.services.reminders(handler_input)
    tokens = list(dict.fromkeys([*(r.token for r in api.skill_reminders()), *profile.reminder_ids]))
    for token in tokens:
        api.delete(token)
    return tokens
