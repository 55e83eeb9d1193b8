"""The one place the skill is assembled; Flask, Lambda, the simulator and tests all call it."""
from __future__ import annotations

import random
from collections.abc import Callable

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_model.services import ApiClient

from skill.content import load_catalog
from skill.handlers import core, dose, habits, routine, topics
from skill.handlers.base import Handler
from skill.interceptors import RequestLogger, ResponseLogger
from skill.services import Services
from skill.settings import Settings
from skill.speech import Voice


def build_skill(
    settings: Settings | None = None,
    *,
    persistence: AbstractPersistenceAdapter | None = None,
    api_client: ApiClient | None = None,
    rng: random.Random | None = None,
    on_say: Callable[[str], None] | None = None,
    services: Services | None = None,
) -> CustomSkill:
    """Build the skill: content validated once, handlers registered specific first, catch-alls last."""
    settings = settings or Settings.from_env()
    catalog = load_catalog(settings.locale)  # raises ContentError before any request is served
    voice = Voice(catalog, rng or random.Random(settings.seed), on_say)

    builder = CustomSkillBuilder(persistence_adapter=persistence, api_client=api_client)
    builder.skill_id = settings.skill_id
    services = services or Services(
        default_time_zone=settings.default_time_zone, alexa_api=settings.alexa_api, api_client=api_client
    )
    for handler in make_handlers(voice, services):
        builder.add_request_handler(handler)
    builder.add_exception_handler(core.ErrorHandler(voice))
    builder.add_global_request_interceptor(RequestLogger())
    builder.add_global_response_interceptor(ResponseLogger())
    return builder.create()


def make_handlers(voice: Voice, services: Services) -> list[Handler]:
    """The ordered registry: specific handlers first, catch-alls last (the SDK takes the first match).

    Handlers that answer an open question (a pending confirmation, a routine step) come before the
    general ones for the same intents, so "yes" means what the last question asked.
    """
    return [
        habits.PermissionResponseHandler(voice, services),
        routine.LaunchResumeHandler(voice, services),
        core.LaunchHandler(voice),
        habits.ForgetConfirmHandler(voice, services),
        routine.ResumeChoiceHandler(voice, services),
        routine.RoutineHelpHandler(voice, services),
        routine.RoutineAdvanceHandler(voice, services),
        routine.RoutineExitHandler(voice, services),
        routine.WindDownHandler(voice, services),
        routine.SetBedtimeHandler(voice, services),
        habits.DoseTakenHandler(voice, services),
        habits.SetPreferenceHandler(voice, services),
        habits.ReminderHandler(voice, services),
        habits.CancelReminderHandler(voice, services),
        habits.ForgetMeHandler(voice, services),
        dose.DoseHandler(voice),
        dose.ElementalHandler(voice),
        topics.MechanismHandler(voice),
        topics.FormAdviceHandler(voice),
        topics.FormInfoHandler(voice),
        topics.SafetyHandler(voice),
        *(topics.TopicHandler(voice, intent, key) for intent, key in topics.TOPICS.items()),
        core.HelpHandler(voice),
        core.YesHandler(voice),
        core.NoHandler(voice),
        core.RepeatHandler(voice),
        core.StartOverHandler(voice),
        core.GoodbyeHandler(voice),
        core.FallbackHandler(voice),
        core.SessionEndedHandler(voice),
        core.UnknownIntentHandler(voice),  # last: anything unplaced still gets an answer
    ]


def handled_intents(locale: str = "en-US") -> set[str]:
    """Every intent name some handler serves; the linter and tests hold the model against it."""
    voice = Voice(load_catalog(locale))
    return {name for handler in make_handlers(voice, Services()) for name in handler.intents}
