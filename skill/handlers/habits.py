"""Remembered habits: "I took my magnesium", saved choices, nightly reminders, and "forget me"."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_intent_name, is_request_type
from ask_sdk_model import Response
from ask_sdk_model.interfaces.connections import ConnectionsResponse, SendRequestDirective
from ask_sdk_model.ui import AskForPermissionsConsentCard

from skill.handlers.base import session_conditions, slot
from skill.handlers.dose import dose_reply
from skill.handlers.routine import RoutineHandler, pending
from skill.knowledge import Tier, assess_dose, parse_amount, parse_form
from skill.profile.models import UserProfile
from skill.knowledge.nights import spoken_time, tonight
from skill.services import Services
from skill.speech import PENDING, Line, Reply

if TYPE_CHECKING:
    from skill.alexa_api import NightlyReminders

log = logging.getLogger(__name__)

REMINDERS_SCOPE = "alexa::alerts:reminders:skill:readwrite"
ASK_FOR_TOKEN = "nightly-reminder"
# Nights before which a person hears that magnesium takes 2 to 4 weeks (A12).
PATIENCE_NIGHTS = 14
# A claim to create the reminder older than this was left by a request that died (Alexa gives
# every request 8 seconds), so another request may take it over.
CLAIM_SECONDS = 60


class DoseTakenHandler(RoutineHandler):
    """Serve "I took my magnesium": note tonight and say which night this is."""

    intents = ("DoseTakenIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        zone = self.services.time_zone(handler_input, profile)
        night = tonight(profile.bedtime or "22:00", zone, self.services.clock()).night
        if night in profile.dose_nights:
            key, params = "dose_taken.already", {}
        else:
            count = profile.record_dose(night)
            self.services.save(handler_input, profile)
            key = "dose_taken.first" if count == 1 else "dose_taken.early" if count < PATIENCE_NIGHTS else "dose_taken.later"
            params = {"night": count}
        lines = [Line(key, params), *unsaved_line(self.services, handler_input)]
        return self.voice.respond(handler_input, Reply(lines, end=True, soft=True))


class SetPreferenceHandler(RoutineHandler):
    """Serve "remember that I take 300 milligrams of glycinate" for the wind-down's dose step."""

    intents = ("SetPreferenceIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        form_id, form_heard = slot(handler_input, "form")
        _, amount_heard = slot(handler_input, "amount")
        unit_id, unit_heard = slot(handler_input, "unit")
        form = parse_form(form_id) or parse_form(form_heard)
        amount = parse_amount(amount_heard, unit_id or unit_heard)
        usable = amount is not None and amount == amount and 1 <= amount <= 2000
        if form is None and not usable:
            return self.voice.respond(handler_input, Reply([], ask=Line("preference.unclear")))
        profile = self.services.profile(handler_input)
        if form is not None:
            profile.preferred_form = form.value  # type: ignore[assignment]
        if usable and amount is not None:
            profile.preferred_amount_mg = int(round(amount))
        self.services.save(handler_input, profile)
        saved = {"amount": profile.preferred_amount_mg, "form": profile.preferred_form}
        which = "both" if all(saved.values()) else "form" if saved["form"] else "amount"
        lines = [Line(f"preference.saved.{which}", {k: v for k, v in saved.items() if v}),
                 *unsaved_line(self.services, handler_input)]
        # A saved amount is spoken back in the routine, so say now if the gate would stop it.
        advice = assess_dose(profile.preferred_amount_mg, parse_form(profile.preferred_form),
                             session_conditions(handler_input))
        if advice.tier is Tier.GATED:
            return self.voice.respond(handler_input, dose_reply(advice, lead=lines))
        return self.voice.respond(handler_input, Reply(lines, ask=Line("anything_else")))


def unsaved_line(services: Services, handler_input: HandlerInput) -> list[Line]:
    """A calm line when something the person asked to keep could only be kept for this session."""
    return [Line("store.unsaved")] if services.unsaved(handler_input) else []


def has_consent(handler_input: HandlerInput) -> bool:
    """True when the person has granted the reminders permission (the request carries its token)."""
    user = handler_input.request_envelope.context.system.user
    return bool(user and user.permissions and user.permissions.consent_token)


def schedule_reminder(
    handler: RoutineHandler, handler_input: HandlerInput, profile: UserProfile, lead: list[Line] | None = None
) -> Response:
    """Create the nightly reminder, or ask for permission, or explain calmly why not.

    One reminder per person, whatever arrives at once: a request first claims the right to create
    it with a versioned write to the profile (only one of several concurrent claims can win), then
    asks the Reminders API for the skill's reminders and creates one only if there are none.
    """
    from skill.alexa_api import ReminderError

    services, voice = handler.services, handler.voice
    lines = list(lead or [])
    if not profile.bedtime:
        return handler.ask_bedtime(handler_input, then="reminder")
    if services.alexa_api and not has_consent(handler_input):
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
        return voice.respond(handler_input, Reply(lines, ask=Line("anything_else")))
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
            kept = api.create_daily(at=at, time_zone=zone, text=voice.phrase("reminder.text"),
                                    locale=handler_input.request_envelope.request.locale or "en-US")
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
    return voice.respond(handler_input, Reply(lines, ask=Line("anything_else")))


def _delete_quietly(api: NightlyReminders, tokens: list[str]) -> None:
    """Delete reminders that should not be there; one that will not go is left for next time."""
    from skill.alexa_api import ReminderError

    for token in tokens:
        try:
            api.delete(token)
        except ReminderError as exc:
            log.warning("extra reminder not deleted: %s", exc.kind)
            return


def reminder_problem(handler: RoutineHandler, handler_input: HandlerInput, kind: str, lead: list[Line]) -> Response:
    """A calm answer for each way the reminders API can fail."""
    if kind == "no_permission":
        handler_input.response_builder.set_card(AskForPermissionsConsentCard(permissions=[REMINDERS_SCOPE]))
        reply = Reply([*lead, Line("reminder.permission_card")], ask=Line("anything_else"), card=False)
    elif kind in ("rate_limited", "unavailable", "timeout"):
        reply = Reply([*lead, Line("reminder.unavailable")], ask=Line("anything_else"))
    else:
        reply = Reply([*lead, Line("reminder.failed")], ask=Line("anything_else"))
    return handler.voice.respond(handler_input, reply)


class ReminderHandler(RoutineHandler):
    """Serve "remind me every night": a daily reminder at the dose time, in the person's time zone."""

    intents = ("ReminderIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return schedule_reminder(self, handler_input, self.services.profile(handler_input))


class PermissionResponseHandler(RoutineHandler):
    """Serve Alexa's answer to our voice permission request (accepted, denied, or not answered)."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        request = handler_input.request_envelope.request
        return is_request_type("Connections.Response")(handler_input) and (
            isinstance(request, ConnectionsResponse) and request.name == "AskFor"
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        payload = request.payload if isinstance(request.payload, dict) else {}
        status = str(payload.get("status") or "NOT_ANSWERED").upper()
        if status == "ACCEPTED":
            return schedule_reminder(self, handler_input, self.services.profile(handler_input))
        if status == "DENIED":
            return self.voice.respond(handler_input, Reply([Line("reminder.denied")], ask=Line("anything_else")))
        return reminder_problem(self, handler_input, "no_permission", [])


def delete_reminders(handler: RoutineHandler, handler_input: HandlerInput, profile: UserProfile) -> list[str]:
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


class CancelReminderHandler(RoutineHandler):
    """Serve "cancel my reminder": delete every reminder the skill made, and forget their ids."""

    intents = ("CancelReminderIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        from skill.alexa_api import ReminderError

        profile = self.services.profile(handler_input)
        try:
            deleted = delete_reminders(self, handler_input, profile)
        except ReminderError as exc:
            log.warning("reminder not deleted: %s", exc.kind)
            return reminder_problem(self, handler_input, exc.kind, [])
        if not deleted:
            return self.voice.respond(handler_input, Reply([Line("reminder.none")], ask=Line("anything_else")))
        self.services.update(
            handler_input, lambda latest: setattr(latest, "reminder_ids", [t for t in latest.reminder_ids if t not in deleted])
        )
        return self.voice.respond(handler_input, Reply([Line("reminder.cancelled")], ask=Line("anything_else")))


class ForgetMeHandler(RoutineHandler):
    """Serve "forget me": ask first, because deleting cannot be undone."""

    intents = ("ForgetMeIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([], ask=Line("forget.confirm"), context={PENDING: "forget"}))


class ForgetConfirmHandler(RoutineHandler):
    """Serve yes or no to "should I forget everything?"."""

    intents = ("AMAZON.YesIntent", "AMAZON.NoIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return pending(handler_input) == "forget" and super().can_handle(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        from skill.alexa_api import ReminderError

        if is_intent_name("AMAZON.NoIntent")(handler_input):
            return self.voice.respond(handler_input, Reply([Line("forget.kept")], ask=Line("anything_else")))
        profile = self.services.profile(handler_input)
        try:
            delete_reminders(self, handler_input, profile)
        except ReminderError as exc:
            # The stored data still goes; a reminder left behind can be deleted in the Alexa app.
            log.warning("reminder not deleted while forgetting: %s", exc.kind)
        if not self.services.forget(handler_input):
            # The store is failing: say so plainly rather than claim it is done, or apologise for an error.
            return self.voice.respond(handler_input, Reply([Line("store.not_forgotten")], end=True, soft=True))
        return self.voice.respond(handler_input, Reply([Line("forget.done")], end=True, soft=True))
