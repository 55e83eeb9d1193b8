"""What handlers that know the person share: their profile, tonight's timing, the bedtime question,
and the nightly reminder (created, explained when it cannot be, deleted)."""
from __future__ import annotations

import logging

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Intent as AskIntent
from ask_sdk_model import IntentRequest, Response
from ask_sdk_model import Slot as AskSlot
from ask_sdk_model.dialog import ElicitSlotDirective
from ask_sdk_model.interfaces.connections import SendRequestDirective
from ask_sdk_model.ui import AskForPermissionsConsentCard

from skill.alexa_errors import ReminderError
from skill.handlers.base import TIME, Handler, Intent
from skill.knowledge.nights import Tonight, spoken_time, tonight
from skill.profile.models import UserProfile
from skill.services import Services
from skill.speech import Line, Reply, Voice, request_locale
from skill.state import Waiting

log = logging.getLogger(__name__)

REMINDERS_SCOPE = "alexa::alerts:reminders:skill:readwrite"
ASK_FOR_TOKEN = "nightly-reminder"
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
        if isinstance(handler_input.request_envelope.request, IntentRequest):
            wanted = AskIntent(name=SET_BEDTIME.name, slots={TIME.name: AskSlot(name=TIME.name)})
            handler_input.response_builder.add_directive(ElicitSlotDirective(updated_intent=wanted,
                                                                             slot_to_elicit=TIME.name))
        reply = Reply([], ask=Line(key), waiting=Waiting.BEDTIME, then=then or None)
        return self.voice.respond(handler_input, reply)


def schedule_reminder(
    handler: PersonalHandler, handler_input: HandlerInput, profile: UserProfile, lead: list[Line] | None = None
) -> Response:
    """Create the nightly reminder, or ask for permission, or explain calmly why not."""
    services, voice = handler.services, handler.voice
    lines = list(lead or [])
    if not profile.bedtime:
        return handler.ask_bedtime(handler_input, then="reminder")
    user = handler_input.request_envelope.context.system.user
    if services.alexa_api and not (user and user.permissions and user.permissions.consent_token):
        # Ask by voice first (Alexa speaks the consent prompt); a card is the fallback if unanswered.
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
    try:
        api = services.reminders(handler_input)
        for token in profile.reminder_ids:
            if api.exists(token):
                lines.append(Line("reminder.exists", {"time": spoken_time(at)}))
                return voice.respond(handler_input, Reply(lines, ask=Line("anything_else")))
        token = api.create_daily(at=at, time_zone=zone, text=voice.phrase("reminder.text", request_locale(handler_input)),
                                 locale=request_locale(handler_input))
    except ReminderError as exc:
        log.warning("reminder not created: %s", exc.kind)
        return reminder_problem(handler, handler_input, exc.kind, lines)
    profile.reminder_ids = [token]
    services.save(handler_input, profile)
    lines.append(Line("reminder.created", {"time": spoken_time(at)}))
    return voice.respond(handler_input, Reply(lines, ask=Line("anything_else")))


def reminder_problem(handler: Handler, handler_input: HandlerInput, kind: str, lead: list[Line]) -> Response:
    """A calm answer for each way the reminders API can fail."""
    if kind == "no_permission":
        handler_input.response_builder.set_card(AskForPermissionsConsentCard(permissions=[REMINDERS_SCOPE]))
        reply = Reply([*lead, Line("reminder.permission_card")], ask=Line("anything_else"), card=False)
    elif kind in ("rate_limited", "unavailable", "timeout"):
        reply = Reply([*lead, Line("reminder.unavailable")], ask=Line("anything_else"))
    else:
        reply = Reply([*lead, Line("reminder.failed")], ask=Line("anything_else"))
    return handler.voice.respond(handler_input, reply)


def delete_reminders(handler: PersonalHandler, handler_input: HandlerInput, profile: UserProfile) -> None:
    """Delete every reminder the profile knows of; raises ReminderError if the API fails."""
    if profile.reminder_ids:
        api = handler.services.reminders(handler_input)
        for token in profile.reminder_ids:
            api.delete(token)
