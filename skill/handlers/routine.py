"""The wind-down routine, and kind answers for a person who cannot sleep.

The routine is a small state machine on `State.waiting`:
enter   -> CHECKIN    (after asking for a bedtime the first time)
advance:   CHECKIN -> DOSE_STEP -> breathing and good night (the session ends)
exit   :   stop, cancel or "no" pauses it for tonight, so coming back offers to RESUME.
"""
from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_intent_name
from ask_sdk_model import Response

from skill.handlers.base import ANY, HEALTH, Handler, Intent, request_key
from skill.handlers.dose import dose_reply
from skill.handlers.personal import SET_BEDTIME, PersonalHandler, time_said, unsaved_line
from skill.knowledge import Tier, assess_dose, parse_form
from skill.knowledge.nights import Phase, Tonight, bedtime_from_slot, spoken_time
from skill.profile.models import UserProfile
from skill.services import Services
from skill.speech import Line, Reply, Voice, fmt_mg, request_locale, state_of
from skill.state import Waiting

# The routine's steps as the state names them, and as the profile remembers a paused one.
STEP_OF = {Waiting.CHECKIN: "checkin", Waiting.DOSE_STEP: "dose"}
WAITING_OF = {step: waiting for waiting, step in STEP_OF.items()}
IN_ROUTINE = tuple(STEP_OF)


class RoutineHandler(PersonalHandler):
    """A handler that walks the wind-down routine."""

    def start(self, handler_input: HandlerInput, profile: UserProfile, lead: list[Line] | None = None) -> Response:
        """Enter the routine at the check-in."""
        return self.speak_step(handler_input, profile, Waiting.CHECKIN, lead)

    def speak_step(
        self, handler_input: HandlerInput, profile: UserProfile, step: Waiting, lead: list[Line] | None = None
    ) -> Response:
        """Say one step and wait for "next"; the state is the step just said."""
        night = self.tonight(handler_input, profile)
        lines = list(lead or [])
        if step is Waiting.CHECKIN:
            if night.phase is Phase.LATE:
                ask = Line("routine.checkin_late", {"bedtime": spoken_time(profile.bedtime or "22:00", request_locale(handler_input))})
            else:
                ask = Line("routine.checkin")
            return self.voice.respond(handler_input, Reply(lines, ask=ask, soft=True, waiting=step))
        lines += self.dose_lines(handler_input, profile, night)
        reply = Reply(lines, ask=Line("routine.to_breathe"), soft=True, waiting=step)
        return self.voice.respond(handler_input, reply)

    def dose_lines(self, handler_input: HandlerInput, profile: UserProfile, night: Tonight) -> list[Line]:
        """Tonight's dose step, through the same safety gate as every dose answer."""
        form = parse_form(profile.preferred_form)
        advice = assess_dose(profile.preferred_amount_mg, form, state_of(handler_input).health)
        if advice.tier is Tier.GATED:
            return dose_reply(advice).lines  # "ask your doctor", and no timing for a dose they should not take
        timing = {
            Phase.EARLY: Line("routine.dose.early", {"dose_time": spoken_time(night.dose_at, request_locale(handler_input))}),
            Phase.WINDOW: Line("routine.dose.window"),
            Phase.LATE: Line("routine.dose.late"),
        }[night.phase]
        lines = [timing]
        if profile.preferred_amount_mg and form and advice.tier is not Tier.INVALID:
            lines.append(Line("routine.dose.yours", {"amount": fmt_mg(profile.preferred_amount_mg), "form": form.value}))
        lines += [Line("routine.dose.split"), Line("routine.caveat"), Line("disclaimer")]
        return lines

    def finish(self, handler_input: HandlerInput, profile: UserProfile, breathe: bool) -> Response:
        """Breathe (or not), say good night, and clear any paused step."""
        if profile.paused_step:
            profile.paused_step = profile.paused_on = None
            self.services.save(handler_input, profile)
        lines = [Line("routine.breathe")] if breathe else []
        lines.append(Line("routine.goodnight"))
        return self.voice.respond(handler_input, Reply(lines, end=True, soft=True))

    def pause(self, handler_input: HandlerInput, profile: UserProfile, step: Waiting) -> Response:
        """Leave the routine for now, remembering where, so tonight it can be resumed."""
        profile.paused_step = STEP_OF[step]  # type: ignore[assignment]
        profile.paused_on = self.tonight(handler_input, profile).night
        self.services.save(handler_input, profile)
        return self.voice.respond(handler_input, Reply([Line("routine.paused")], end=True, soft=True, card=False))

    def paused_tonight(self, handler_input: HandlerInput, profile: UserProfile) -> Waiting | None:
        if not profile.bedtime or profile.paused_step not in WAITING_OF:
            return None
        if profile.paused_on != self.tonight(handler_input, profile).night:
            return None
        return WAITING_OF[profile.paused_step]

    def offer_resume(self, handler_input: HandlerInput, step: Waiting) -> Response:
        name = self.voice.phrase(f"routine.step.{STEP_OF[step]}")
        ask = Line("routine.resume_offer", {"step": name})
        return self.voice.respond(handler_input, Reply([], ask=ask, soft=True, waiting=Waiting.RESUME))


class LaunchHandler(RoutineHandler):
    """Serve "open bedtime magnesium": a short welcome, or an offer to pick tonight's routine up again."""

    claims = (("LaunchRequest", ANY),)
    keys = ("launch",)

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        paused = self.paused_tonight(handler_input, profile)
        if paused:
            return self.offer_resume(handler_input, paused)
        return self.voice.respond(handler_input, Reply([], ask=Line("launch")))


class WindDownHandler(RoutineHandler):
    """Serve "start my wind-down": ask a bedtime the first time, offer to resume, or begin."""

    # "Start my wind-down, oh and I'm pregnant": the routine starts, and its dose step hears the mention (fail closed).
    intent = Intent("WindDownIntent", HEALTH)
    keys = ("routine.ask_bedtime", "routine.checkin", "routine.checkin_late", "routine.resume_offer")

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        if not profile.bedtime:
            return self.ask_bedtime(handler_input, then="routine")
        paused = self.paused_tonight(handler_input, profile)
        if paused:
            return self.offer_resume(handler_input, paused)
        return self.start(handler_input, profile)


class SetBedtimeHandler(RoutineHandler):
    """Serve "my bedtime is ten thirty", and the answer to "what time do you go to bed?".

    "Okay" or "yes" to that question names no time: it is asked again, so the routine is not dropped.
    """

    intent = SET_BEDTIME
    claims = ((SET_BEDTIME.name, ANY), ("AMAZON.YesIntent", Waiting.BEDTIME))
    keys = ("routine.bedtime_unclear", "routine.bedtime_saved")

    def handle(self, handler_input: HandlerInput) -> Response:
        heard = time_said(handler_input)
        bedtime = bedtime_from_slot(heard)
        state = state_of(handler_input)
        then = state.then if state.waiting is Waiting.BEDTIME else None
        if bedtime is None:
            # "change my bedtime", or a time too vague to keep: ask for it, as the dialog model intends.
            unclear = heard or request_key(handler_input) == "AMAZON.YesIntent"
            key = "routine.bedtime_unclear" if unclear else "routine.ask_bedtime"
            return self.ask_bedtime(handler_input, then or "", key=key)
        profile = self.services.profile(handler_input)
        profile.bedtime = bedtime
        self.services.time_zone(handler_input, profile)  # a bedtime means little without its zone: learn it once
        self.services.save(handler_input, profile)
        saved = [Line("routine.bedtime_saved", {"bedtime": spoken_time(bedtime, request_locale(handler_input))}),
                 *unsaved_line(self.services, handler_input)]  # the store failed: kept for this session only
        if then == "routine":
            return self.start(handler_input, profile, lead=saved)
        return self.voice.respond(handler_input, Reply(saved, done=True))


class GetBedtimeHandler(RoutineHandler):
    """Serve "what bedtime did I give you": the saved bedtime, said back."""

    intent = Intent("GetBedtimeIntent")
    keys = ("bedtime.saved", "bedtime.none")

    def handle(self, handler_input: HandlerInput) -> Response:
        bedtime = self.services.profile(handler_input).bedtime
        if bedtime:
            return self.voice.respond(handler_input, Reply([Line("bedtime.saved", {"bedtime": spoken_time(bedtime, request_locale(handler_input))})], end=True))
        return self.voice.respond(handler_input, Reply([Line("bedtime.none")], end=True))


class RoutineAdvanceHandler(RoutineHandler):
    """Serve "next", "skip", "yes" and "resume" inside the routine: go on to the next step."""

    claims = tuple((name, step) for name in ("AMAZON.NextIntent", "AMAZON.YesIntent", "AMAZON.ResumeIntent",
                                             "AMAZON.MoreIntent") for step in IN_ROUTINE)
    keys = ("routine.dose.early", "routine.dose.window", "routine.dose.late", "routine.dose.yours",
            "routine.dose.split", "routine.caveat", "routine.to_breathe", "routine.breathe", "routine.goodnight")

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        if not profile.bedtime:  # the profile was forgotten mid-routine: start again properly
            return self.ask_bedtime(handler_input, then="routine")
        if state_of(handler_input).waiting is Waiting.CHECKIN:
            return self.speak_step(handler_input, profile, Waiting.DOSE_STEP)
        return self.finish(handler_input, profile, breathe=True)


class RoutineExitHandler(RoutineHandler):
    """Serve stop, cancel, pause and "no" inside the routine.

    "No" to the breathing means good night without it; anything else pauses for tonight.
    """

    claims = tuple((name, step) for name in ("AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.PauseIntent",
                                             "AMAZON.NoIntent") for step in IN_ROUTINE)
    keys = ("routine.paused", "goodbye")

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        step = state_of(handler_input).waiting
        if not profile.bedtime:
            return self.voice.respond(handler_input, Reply([Line("goodbye")], end=True, card=False))
        if step is Waiting.DOSE_STEP and is_intent_name("AMAZON.NoIntent")(handler_input):
            return self.finish(handler_input, profile, breathe=False)
        return self.pause(handler_input, profile, step)


class ResumeChoiceHandler(RoutineHandler):
    """Serve the answer to "shall we carry on from there?": yes resumes, no or start over begins again."""

    RESUME = ("AMAZON.YesIntent", "AMAZON.ResumeIntent", "AMAZON.NextIntent")
    claims = tuple((name, Waiting.RESUME) for name in (*RESUME, "AMAZON.NoIntent", "AMAZON.StartOverIntent",
                                                       "WindDownIntent"))

    def handle(self, handler_input: HandlerInput) -> Response:
        profile = self.services.profile(handler_input)
        if not profile.bedtime:
            return self.ask_bedtime(handler_input, then="routine")
        resume = request_key(handler_input) in self.RESUME
        paused = WAITING_OF.get(profile.paused_step or "")
        return self.speak_step(handler_input, profile, paused if resume and paused else Waiting.CHECKIN)


class RoutineHelpHandler(RoutineHandler):
    """Serve "help" inside the routine: how to move through it."""

    claims = tuple(("AMAZON.HelpIntent", step) for step in IN_ROUTINE)
    keys = ("routine.help",)

    def handle(self, handler_input: HandlerInput) -> Response:
        step = state_of(handler_input).waiting
        return self.voice.respond(handler_input, Reply([], ask=Line("routine.help"), soft=True, waiting=step))


class SleeplessHandler(RoutineHandler):
    """Serve "can't sleep again", "still awake": a kind, short answer that offers a minute of breathing now."""

    intent = Intent("SleeplessIntent", HEALTH)
    keys = ("sleepless",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([], ask=Line("sleepless"), soft=True, waiting=Waiting.BREATHE))


class BreatheHandler(RoutineHandler):
    """Serve "breathe with me", and "yes" to the offer of a minute of breathing: breathe, then good night."""

    intent = Intent("BreatheIntent")
    claims = (("BreatheIntent", ANY), ("AMAZON.YesIntent", Waiting.BREATHE), ("AMAZON.NextIntent", Waiting.BREATHE),
              ("AMAZON.ResumeIntent", Waiting.BREATHE))
    keys = ("routine.breathe", "routine.goodnight")

    def handle(self, handler_input: HandlerInput) -> Response:
        lines = [Line("routine.breathe"), Line("routine.goodnight")]
        return self.voice.respond(handler_input, Reply(lines, end=True, soft=True))


def handlers(voice: Voice, services: Services) -> list[Handler]:
    """This module's handlers for the builder: the wind-down and the night. A new handler here is registered by its line."""
    return [
        LaunchHandler(voice, services),
        WindDownHandler(voice, services),
        SetBedtimeHandler(voice, services),
        GetBedtimeHandler(voice, services),
        RoutineAdvanceHandler(voice, services),
        RoutineExitHandler(voice, services),
        ResumeChoiceHandler(voice, services),
        RoutineHelpHandler(voice, services),
        SleeplessHandler(voice, services),
        BreatheHandler(voice, services),
    ]
