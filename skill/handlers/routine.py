"""The wind-down routine: a small state machine kept in session attributes.

enter  -> "checkin"  (after asking for a bedtime the first time)
advance: "checkin" -> "dose" -> breathing and good night (the session ends)
exit   : stop, cancel or "no" pauses it for tonight, so coming back offers to resume.
"""
from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_intent_name, is_request_type
from ask_sdk_model import Response

from skill.handlers.base import Handler, session_conditions, slot
from skill.handlers.dose import dose_reply
from skill.knowledge import Tier, assess_dose, parse_form
from skill.profile.models import UserProfile
from skill.knowledge.nights import Phase, Tonight, bedtime_from_slot, spoken_time, tonight
from skill.services import Services
from skill.speech import PENDING, ROUTINE, Line, Reply, Voice, fmt_mg, session_of

STEPS = ("checkin", "dose")


def routine_step(handler_input: HandlerInput) -> str | None:
    step = session_of(handler_input).get(ROUTINE)
    return step if step in STEPS else None


def pending(handler_input: HandlerInput) -> str | None:
    value = session_of(handler_input).get(PENDING)
    return value if isinstance(value, str) else None


class RoutineHandler(Handler):
    """A handler that knows the person's profile and tonight's timing."""

    def __init__(self, voice: Voice, services: Services) -> None:
        super().__init__(voice)
        self.services = services

    def tonight(self, handler_input: HandlerInput, profile: UserProfile) -> Tonight:
        assert profile.bedtime is not None
        zone = self.services.time_zone(handler_input, profile)
        return tonight(profile.bedtime, zone, self.services.clock())

    def ask_bedtime(self, handler_input: HandlerInput, then: str) -> Response:
        reply = Reply([], ask=Line("routine.ask_bedtime"), context={PENDING: f"bedtime:{then}"})
        return self.voice.respond(handler_input, reply)

    def start(self, handler_input: HandlerInput, profile: UserProfile, lead: list[Line] | None = None) -> Response:
        """Enter the routine at the check-in."""
        return self.speak_step(handler_input, profile, "checkin", lead)

    def speak_step(
        self, handler_input: HandlerInput, profile: UserProfile, step: str, lead: list[Line] | None = None
    ) -> Response:
        """Say one step and wait for "next"; the state is the step just said."""
        night = self.tonight(handler_input, profile)
        context = {ROUTINE: step}
        lines = list(lead or [])
        if step == "checkin":
            if night.phase is Phase.LATE:
                ask = Line("routine.checkin_late", {"bedtime": spoken_time(profile.bedtime or "22:00")})
            else:
                ask = Line("routine.checkin")
            return self.voice.respond(handler_input, Reply(lines, ask=ask, soft=True, context=context))
        lines += self.dose_lines(handler_input, profile, night)
        reply = Reply(lines, ask=Line("routine.to_breathe"), soft=True, context=context)
        return self.voice.respond(handler_input, reply)

    def dose_lines(self, handler_input: HandlerInput, profile: UserProfile, night: Tonight) -> list[Line]:
        """Tonight's dose step, through the same safety gate as every dose answer."""
        form = parse_form(profile.preferred_form)
        advice = assess_dose(profile.preferred_amount_mg, form, session_conditions(handler_input))
        if advice.tier is Tier.GATED:
            return dose_reply(advice).lines  # "ask your doctor", and no timing for a dose they should not take
        timing = {
            Phase.EARLY: Line("routine.dose.early", {"dose_time": spoken_time(night.dose_at)}),
            Phase.WINDOW: Line("routine.dose.window"),
            Phase.LATE: Line("routine.dose.late"),
        }[night.phase]
        lines = [timing]
        if profile.preferred_amount_mg and form and advice.tier is not Tier.INVALID:
            lines.append(Line("routine.dose.yours", {"amount": fmt_mg(profile.preferred_amount_mg), "form": form.value}))
        lines += [Line("routine.dose.split"), Line("routine.caveat"), Line("disclaimer")]
        return lines

    def finish(self, handler_input: HandlerInput, profile: UserProfile, breathe: bool) -> Response:
        """Breathe (or not), say good night, and remember tonight's routine is done."""
        night = self.tonight(handler_input, profile)
        profile.last_routine_night = night.night
        profile.paused_step = profile.paused_on = None
        self.services.save(handler_input, profile)
        lines = [Line("routine.breathe")] if breathe else []
        lines.append(Line("routine.goodnight"))
        return self.voice.respond(handler_input, Reply(lines, end=True, soft=True))

    def pause(self, handler_input: HandlerInput, profile: UserProfile, step: str) -> Response:
        """Leave the routine for now, remembering where, so tonight it can be resumed."""
        profile.paused_step = step  # type: ignore[assignment]
        profile.paused_on = self.tonight(handler_input, profile).night
        self.services.save(handler_input, profile)
        return self.voice.respond(handler_input, Reply([Line("routine.paused")], end=True, soft=True, card=False))

    def paused_tonight(self, handler_input: HandlerInput, profile: UserProfile) -> str | None:
        if not profile.bedtime or not profile.paused_step:
            return None
        return profile.paused_step if profile.paused_on == self.tonight(handler_input, profile).night else None

    def offer_resume(self, handler_input: HandlerInput, step: str) -> Response:
        name = self.voice.phrase(f"routine.step.{step}")
        ask = Line("routine.resume_offer", {"step": name})
        return self.voice.respond(handler_input, Reply([], ask=ask, soft=True, context={PENDING: "resume"}))


class WindDownHandler(RoutineHandler):
    """Serve "start my wind-down": ask a bedtime the first time, offer to resume, or begin."""

    intents = ("WindDownIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        if not profile.bedtime:
            return self.ask_bedtime(handler_input, then="routine")
        paused = self.paused_tonight(handler_input, profile)
        if paused:
            return self.offer_resume(handler_input, paused)
        return self.start(handler_input, profile)


class LaunchResumeHandler(RoutineHandler):
    """Serve a launch in the middle of tonight's routine: offer to pick it up again."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        if not is_request_type("LaunchRequest")(handler_input):
            return False
        profile = self.services.profile(handler_input)
        return self.paused_tonight(handler_input, profile) is not None

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        return self.offer_resume(handler_input, self.paused_tonight(handler_input, profile) or "checkin")


class SetBedtimeHandler(RoutineHandler):
    """Serve "my bedtime is ten thirty", and the answer to "what time do you go to bed?"."""

    intents = ("SetBedtimeIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        _, heard = slot(handler_input, "time")
        bedtime = bedtime_from_slot(heard)
        waiting = pending(handler_input) or ""
        if bedtime is None:
            keep = {PENDING: waiting} if waiting.startswith("bedtime:") else {}
            return self.voice.respond(handler_input, Reply([], ask=Line("routine.bedtime_unclear"), context=keep))
        profile = self.services.profile(handler_input)
        profile.bedtime = bedtime
        self.services.time_zone(handler_input, profile)  # a bedtime means little without its zone: learn it once
        self.services.save(handler_input, profile)
        saved = [Line("routine.bedtime_saved", {"bedtime": spoken_time(bedtime)})]
        if self.services.unsaved(handler_input):  # the store failed: kept for this session only
            saved.append(Line("store.unsaved"))
        if waiting == "bedtime:routine":
            return self.start(handler_input, profile, lead=saved)
        if waiting == "bedtime:reminder":
            from skill.handlers.habits import schedule_reminder  # habits builds on this module


            return schedule_reminder(self, handler_input, profile, lead=saved)
        return self.voice.respond(handler_input, Reply(saved, ask=Line("anything_else")))


class RoutineAdvanceHandler(RoutineHandler):
    """Serve "next", "skip", "yes" and "resume" inside the routine: go on to the next step."""

    intents = ("AMAZON.NextIntent", "AMAZON.YesIntent", "AMAZON.ResumeIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return routine_step(handler_input) is not None and super().can_handle(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        if not profile.bedtime:  # the profile was forgotten mid-routine: start again properly
            return self.ask_bedtime(handler_input, then="routine")
        step = routine_step(handler_input)
        if step == "checkin":
            return self.speak_step(handler_input, profile, "dose")
        return self.finish(handler_input, profile, breathe=True)


class RoutineExitHandler(RoutineHandler):
    """Serve stop, cancel, pause and "no" inside the routine.

    "No" to the breathing means good night without it; anything else pauses for tonight.
    """

    intents = ("AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.PauseIntent", "AMAZON.NoIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return routine_step(handler_input) is not None and super().can_handle(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        step = routine_step(handler_input) or "checkin"
        if not profile.bedtime:
            return self.voice.respond(handler_input, Reply([Line("goodbye")], end=True, card=False))
        if step == "dose" and is_intent_name("AMAZON.NoIntent")(handler_input):
            return self.finish(handler_input, profile, breathe=False)
        return self.pause(handler_input, profile, step)


class ResumeChoiceHandler(RoutineHandler):
    """Serve the answer to "shall we carry on from there?": yes resumes, no or start over begins again."""

    intents = ("AMAZON.YesIntent", "AMAZON.ResumeIntent", "AMAZON.NextIntent", "AMAZON.NoIntent",
               "AMAZON.StartOverIntent", "WindDownIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return pending(handler_input) == "resume" and super().can_handle(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        if not profile.bedtime:
            return self.ask_bedtime(handler_input, then="routine")
        resume = any(is_intent_name(n)(handler_input) for n in ("AMAZON.YesIntent", "AMAZON.ResumeIntent",
                                                                  "AMAZON.NextIntent"))
        step = profile.paused_step if resume and profile.paused_step in STEPS else "checkin"
        return self.speak_step(handler_input, profile, step)


class RoutineHelpHandler(RoutineHandler):
    """Serve "help" inside the routine: how to move through it."""

    intents = ("AMAZON.HelpIntent",)

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return routine_step(handler_input) is not None and super().can_handle(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        step = routine_step(handler_input) or "checkin"
        return self.voice.respond(handler_input, Reply([], ask=Line("routine.help"), soft=True, context={ROUTINE: step}))
