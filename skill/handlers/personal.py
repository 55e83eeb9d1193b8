"""What handlers that know the person share: their profile, tonight's timing, the bedtime question,
and the nightly reminder (created, explained when it cannot be, deleted)."""
from __future__ import annotations

import logging

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from ask_sdk_model.ui import AskForPermissionsConsentCard

from typing import TYPE_CHECKING

from skill.alexa_errors import ReminderError
from skill.handlers.base import TIME, Handler, Intent, elicit
from skill.knowledge.nights import Tonight, spoken_time, tonight
from skill.profile.models import UserProfile
from skill.services import Services
from skill.speech import Line, Reply, Voice, request_locale, system_of
from skill.state import Waiting

if TYPE_CHECKING:
    from skill.alexa_api import NightlyReminders

log = logging.getLogger(__name__)

REMINDERS_SCOPE = "alexa::alerts:reminders:skill:readwrite"
ASK_FOR_TOKEN = "nightly-reminder"
# A claim to create the reminder older than this was left by a request that died (Alexa gives
# every request 8 seconds), so another request may take it over.
CLAIM_SECONDS = 60
# The bedtime question is asked with Dialog.ElicitSlot for this intent's slot (the ASK dialog model).
SET_BEDTIME = Intent("SetBedtimeIntent", (TIME,))


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


def schedule_reminder(
    handler: PersonalHandler, handler_input: HandlerInput, profile: UserProfile, lead: list[Line] | None = None
) -> Response:
    """Create the nightly reminder, or ask for permission, or explain calmly why not.

    One reminder per person, whatever arrives at once: a request first claims the right to create
    it with a versioned write to the profile (only one of several concurrent claims can win), then
    asks the Reminders API for the skill's reminders and creates one only if there are none.
    """
    services, voice = handler.services, handler.voice
    lines = list(lead or [])
    if not profile.bedtime:
        return handler.ask_bedtime(handler_input, then="reminder")
    if services.alexa_api and not has_consent(handler_input):
        # Ask by voice first (Alexa speaks the consent prompt); a card is the fallback if unanswered.
        from ask_sdk_model.interfaces.connections import SendRequestDirective  # where used, as in elicit()

        directive = SendRequestDirective(
            name="AskFor",
            payload={"@type": "AskForPermissionsConsentRequest", "@version": "1", "permissionScope": REMINDERS_SCOPE},
            token=ASK_FOR_TOKEN,
        )
        handler_input.response_builder.add_directive(directive)
        return handler_input.response_builder.response
    zone = services.time_zone(handler_input, profile)
    night = tonight(profile.bedtime, zone, services.clock())
    at = night.dose_at.strftime("%H:%M")
    claimed_at = int(services.clock().timestamp())
    won = False

    def claim(latest: UserProfile) -> None:
        nonlocal won
        held = latest.reminder_claimed_at
        won = held is None or abs(claimed_at - held) > CLAIM_SECONDS
        if won:
            latest.reminder_claimed_at = claimed_at

    services.update(handler_input, claim)
    if not won:
        # Another request for this person is making the reminder at this moment.
        lines.append(Line("reminder.exists", {"time": spoken_time(at)}))
        return voice.respond(handler_input, Reply(lines, done=True))
    kept: str | None = None
    problem: ReminderError | None = None
    existed = False
    try:
        api = services.reminders(handler_input)
        active = [r.token for r in api.skill_reminders() if r.active]
        if active:
            existed = True
            kept = next((t for t in profile.reminder_ids if t in active), active[0])
            _delete_quietly(api, [t for t in active if t != kept])  # duplicates an older release made
        else:
            locale = request_locale(handler_input)
            kept = api.create_daily(at=at, time_zone=zone, text=voice.phrase("reminder.text", locale), locale=locale)
    except ReminderError as exc:
        log.warning("reminder not created: %s", exc.kind)
        problem = exc

    def settle(latest: UserProfile) -> None:
        if latest.reminder_claimed_at == claimed_at:
            latest.reminder_claimed_at = None
        if kept is not None:
            latest.reminder_ids = [kept]

    services.update(handler_input, settle)
    if problem is not None:
        return reminder_problem(handler, handler_input, problem.kind, lines)
    key = "reminder.exists" if existed else "reminder.created"
    lines.append(Line(key, {"time": spoken_time(at)}))
    return voice.respond(handler_input, Reply(lines, done=True))


def _delete_quietly(api: NightlyReminders, tokens: list[str]) -> None:
    """Delete reminders that should not be there; one that will not go is left for next time."""
    for token in tokens:
        try:
            api.delete(token)
        except ReminderError as exc:
            log.warning("extra reminder not deleted: %s", exc.kind)
            return


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
