"""What the skill remembers for a person (never health data): a count of nights taken (only if they
said yes to it), a preferred form and amount, a nightly reminder, and "forget me"."""
from __future__ import annotations

import logging

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_intent_name
from ask_sdk_model import Response

from skill.alexa_errors import ReminderError
from skill.handlers.base import AGE, ANY, CONDITION, UNIT, Handler, Intent, Slot, elicit, health, slot
from skill.handlers.dose import dose_reply
from skill.handlers.personal import (REMINDER, PersonalHandler, ask_reminder_time, delete_reminders, reminder_problem,
                                     reminder_time, schedule_reminder, time_from_token, unsaved_line)
from skill.knowledge import Tier, assess_dose, parse_amount, parse_form
from skill.knowledge.nights import bedtime_from_slot, tonight
from skill.profile.models import UserProfile
from skill.services import Services
from skill.speech import Line, Reply, Voice, state_of
from skill.state import Waiting

log = logging.getLogger(__name__)

# Nights before which a person hears that magnesium takes 2 to 4 weeks (A12).
PATIENCE_NIGHTS = 14
# What counting a night can say: which night it is, or that tonight was already told (never a second dose, T4).
NIGHT_KEYS = ("dose_taken.first", "dose_taken.early", "dose_taken.later", "dose_taken.already", "dose_taken.thanks")


def count_tonight(handler: PersonalHandler, handler_input: HandlerInput, lead: list[Line], *,
                  agree: bool = False) -> Response:
    """Count tonight for someone who agreed (``agree``: they just said yes) and say which night it is.

    The count is made on the latest stored row, and made again on a newer one if another request
    wrote meanwhile: two "I took it" at the same instant count one night, and the second hears "already".
    The instant is kept with the night, so a time zone learned later that evening never makes it two.
    """
    services = handler.services
    profile = services.profile(handler_input)
    zone = services.time_zone(handler_input, profile)
    now = services.clock()
    night = tonight(profile.bedtime or "22:00", zone, now).night
    counting, number = False, None

    def count(latest: UserProfile) -> None:
        nonlocal counting, number
        if agree:
            latest.count_nights = True
        counting = latest.count_nights is True  # "forget me" may have won on another device meanwhile
        number = latest.count_night(night, int(now.timestamp())) if counting else None

    services.update(handler_input, count)
    params: dict[str, object] = {}
    if not counting:
        key = "dose_taken.thanks"
    elif number is None:
        key = "dose_taken.already"
    else:
        key = "dose_taken.first" if number == 1 else "dose_taken.early" if number < PATIENCE_NIGHTS else "dose_taken.later"
        params = {"night": number}
    lines = [*lead, Line(key, params), *unsaved_line(services, handler_input)]
    return handler.voice.respond(handler_input, Reply(lines, end=True, soft=True))


class DoseTakenHandler(PersonalHandler):
    """Serve "I took my magnesium": count the night for someone who agreed; the first time, ask first."""

    intent = Intent("DoseTakenIntent")
    keys = ("dose_taken.noted", "count.offer", "count.offer_kept", *NIGHT_KEYS, "store.unsaved")

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        if profile.count_nights is None:
            # Never asked (or a count kept before the skill asked): nothing is counted until they say yes.
            offer = (Line("count.offer_kept", {"nights": profile.nights_counted}) if profile.nights_counted
                     else Line("count.offer"))
            reply = Reply([Line("dose_taken.noted")], ask=offer, waiting=Waiting.COUNT_OFFER, soft=True)
            return self.voice.respond(handler_input, reply)
        if profile.count_nights is False:
            return self.voice.respond(handler_input, Reply([Line("dose_taken.thanks")], end=True, soft=True))
        return count_tonight(self, handler_input, [])


class CountOfferHandler(PersonalHandler):
    """Serve yes or no to "shall I keep count of your nights?": a yes counts tonight, a no keeps only the no."""

    # "Keep count" (CountNightsIntent) said to the offer is its yes.
    claims = (("AMAZON.YesIntent", Waiting.COUNT_OFFER), ("AMAZON.NoIntent", Waiting.COUNT_OFFER),
              ("CountNightsIntent", Waiting.COUNT_OFFER))
    keys = ("count.agreed", "count.declined", *NIGHT_KEYS, "store.unsaved")

    def handle(self, handler_input: HandlerInput) -> Response:
        if not is_intent_name("AMAZON.NoIntent")(handler_input):
            return count_tonight(self, handler_input, [Line("count.agreed")], agree=True)
        # The "no" is kept so the offer is not made every night; any count from before goes with it.
        self.services.update(handler_input, UserProfile.decline_count)
        lines = [Line("count.declined"), *unsaved_line(self.services, handler_input)]
        return self.voice.respond(handler_input, Reply(lines, end=True, soft=True))


class CountNightsHandler(PersonalHandler):
    """Serve "keep count of my nights": the yes to counting, for someone who said no before (or was never asked)."""

    intent = Intent("CountNightsIntent")
    keys = ("count.started", "count.already_on", "count.so_far", "store.unsaved")

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        if profile.count_nights is True:
            return self.voice.respond(handler_input, Reply([count_so_far(profile)], done=True))
        self.services.update(handler_input, lambda latest: setattr(latest, "count_nights", True))
        lines = [Line("count.started"), *unsaved_line(self.services, handler_input)]
        return self.voice.respond(handler_input, Reply(lines, done=True))


class NightsSoFarHandler(PersonalHandler):
    """Serve "what's my streak", "how many nights have I done": the count said back, and never a count started.

    Asking is not consenting: with no count kept, the answer says how to start one and stores nothing.
    """

    intent = Intent("NightsSoFarIntent")
    keys = ("count.so_far", "count.already_on", "count.not_kept", "count.not_yet", "count.offer")

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        if profile.count_nights is True:
            return self.voice.respond(handler_input, Reply([count_so_far(profile)], done=True))
        if state_of(handler_input).waiting is Waiting.COUNT_OFFER:
            # Asked right after "shall I keep count?": say there is none yet, and the offer stands.
            reply = Reply([Line("count.not_yet")], ask=Line("count.offer"), waiting=Waiting.COUNT_OFFER, soft=True)
            return self.voice.respond(handler_input, reply)
        return self.voice.respond(handler_input, Reply([Line("count.not_kept")], done=True))


def count_so_far(profile: UserProfile) -> Line:
    """What the count holds, said back: the number and the first night, nothing else."""
    start = profile.started_on
    if start is not None and profile.nights_counted:
        return Line("count.so_far", {"nights": profile.nights_counted, "started": f"{start:%B} {start.day}"})
    return Line("count.already_on")


# The form to remember, asked for when none was heard ("remember my magnesium").
PREFERRED_FORM = Slot("form", "FormType", elicit=True)
# The amount, asked for once a form is saved without one, so "and 300 mg" is heard as the amount to keep.
PREFERRED_AMOUNT = Slot("amount", "AMAZON.NUMBER", elicit=True)


class SetPreferenceHandler(PersonalHandler):
    """Serve "remember that I take 300 milligrams of glycinate" for the wind-down's dose step."""

    intent = Intent("SetPreferenceIntent", (PREFERRED_AMOUNT, UNIT, PREFERRED_FORM, CONDITION, AGE))
    keys = ("preference.saved.both", "preference.saved.form", "preference.saved.amount", "preference.unclear",
            "preference.ask_amount")

    def handle(self, handler_input: HandlerInput) -> Response:
        form_id, form_heard = slot(handler_input, "form")
        _, amount_heard = slot(handler_input, "amount")
        unit_id, unit_heard = slot(handler_input, "unit")
        form = parse_form(form_id) or parse_form(form_heard)
        amount = parse_amount(amount_heard, unit_id or unit_heard)
        usable = amount is not None and amount == amount and 1 <= amount <= 2000
        last = state_of(handler_input).dose
        if form is None and not usable and last is not None and (last.form or last.amount_mg):
            # "remember that", right after "I use glycinate" or "is 300 mg okay": what was just said.
            form, amount = last.form, last.amount_mg
            usable = amount is not None and 1 <= amount <= 2000
        if form is None and not usable:
            # "Which form do you take?": asked with Dialog.ElicitSlot, so "it's citrate" is heard as the answer.
            elicit(handler_input, self.intent.name, PREFERRED_FORM.name)
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
        advice = assess_dose(profile.preferred_amount_mg, parse_form(profile.preferred_form), health(handler_input))
        if advice.tier is Tier.GATED:
            return self.voice.respond(handler_input, dose_reply(advice, lead=lines))
        if which == "form":
            # The wind-down says the usual amount back; asked now, "and 300 mg" is that amount, not a dose question.
            elicit(handler_input, self.intent.name, PREFERRED_AMOUNT.name)
            return self.voice.respond(handler_input, Reply(lines, ask=Line("preference.ask_amount")))
        return self.voice.respond(handler_input, Reply(lines, done=True))


class ReminderHandler(PersonalHandler):
    """Serve "remind me at nine thirty", "actually make it ten": a daily reminder at the time said, in the
    person's time zone; with no time said, ask for one (and "yes" to the time suggested takes it)."""

    intent = REMINDER
    # The answer to "what time?" may be heard as a bedtime ("half nine") or a bare yes to the suggestion.
    claims = ((REMINDER.name, ANY), ("SetBedtimeIntent", Waiting.REMINDER_TIME), ("AMAZON.YesIntent", Waiting.REMINDER_TIME))
    keys = ("reminder.created", "reminder.moved", "reminder.text", "reminder.exists", "reminder.maybe_set",
            "reminder.permission_card", "reminder.unavailable", "reminder.failed", "reminder.ask_time",
            "reminder.ask_time_suggest")

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        state = state_of(handler_input)
        suggested = state.then if state.waiting is Waiting.REMINDER_TIME and is_intent_name("AMAZON.YesIntent")(handler_input) else None
        at = reminder_time(handler_input) or bedtime_from_slot(suggested)
        if at is None:
            return ask_reminder_time(self, handler_input, profile)
        return schedule_reminder(self, handler_input, profile, at)


class PermissionResponseHandler(PersonalHandler):
    """Serve Alexa's answer to our voice permission request (accepted, denied, or not answered)."""

    claims = (("Connections.Response", ANY),)
    keys = ("reminder.denied",)

    def handle(self, handler_input: HandlerInput) -> Response:
        # Imported here: reading a Connections.Response loaded it, and no other request needs it.
        from ask_sdk_model.interfaces.connections import ConnectionsResponse

        request = handler_input.request_envelope.request
        if not isinstance(request, ConnectionsResponse) or request.name != "AskFor":
            # Not the answer to our permission request: nothing to say, as for any event.
            log.info("Connections.Response %s: answered empty", str(getattr(request, "name", None))[:100])
            return handler_input.response_builder.response
        payload = request.payload if isinstance(request.payload, dict) else {}
        status = str(payload.get("status") or "NOT_ANSWERED").upper()
        if status == "ACCEPTED":
            profile = self.services.profile(handler_input)
            at = time_from_token(request.token)
            if at is None:  # a prompt from an older release carried no time: ask for it now
                return ask_reminder_time(self, handler_input, profile)
            return schedule_reminder(self, handler_input, profile, at)
        if status == "DENIED":
            return self.voice.respond(handler_input, Reply([Line("reminder.denied")], done=True))
        return reminder_problem(self, handler_input, "no_permission", [])


class CancelReminderHandler(PersonalHandler):
    """Serve "cancel my reminder": delete it, and forget its id."""

    intent = Intent("CancelReminderIntent")
    keys = ("reminder.none", "reminder.cancelled")

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        try:
            deleted = delete_reminders(self, handler_input, profile)
        except ReminderError as exc:
            log.warning("reminder not deleted: %s", exc.kind)
            return reminder_problem(self, handler_input, exc.kind, [])
        if not deleted:
            return self.voice.respond(handler_input, Reply([Line("reminder.none")], done=True))
        self.services.update(
            handler_input, lambda latest: setattr(latest, "reminder_ids", [t for t in latest.reminder_ids if t not in deleted])
        )
        return self.voice.respond(handler_input, Reply([Line("reminder.cancelled")], done=True))


class ForgetMeHandler(PersonalHandler):
    """Serve "forget me": ask first, because deleting cannot be undone."""

    intent = Intent("ForgetMeIntent")
    keys = ("forget.confirm",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([], ask=Line("forget.confirm"), waiting=Waiting.FORGET))


class ForgetConfirmHandler(PersonalHandler):
    """Serve yes or no to "should I forget everything?"."""

    claims = (("AMAZON.YesIntent", Waiting.FORGET), ("AMAZON.NoIntent", Waiting.FORGET))
    keys = ("forget.kept", "forget.done", "store.not_forgotten")

    def handle(self, handler_input: HandlerInput) -> Response:
        if is_intent_name("AMAZON.NoIntent")(handler_input):
            return self.voice.respond(handler_input, Reply([Line("forget.kept")], done=True))
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


def handlers(voice: Voice, services: Services) -> list[Handler]:
    """This module's handlers for the builder: what the skill remembers, and the nightly count (kept only after a yes). A new handler here is registered by its line."""
    return [
        DoseTakenHandler(voice, services),
        SetPreferenceHandler(voice, services),
        ReminderHandler(voice, services),
        PermissionResponseHandler(voice, services),
        CancelReminderHandler(voice, services),
        ForgetMeHandler(voice, services),
        ForgetConfirmHandler(voice, services),
        CountOfferHandler(voice, services),
        CountNightsHandler(voice, services),
        NightsSoFarHandler(voice, services),
    ]
