"""The one place the skill is assembled; Flask, Lambda, the simulator and tests all call it."""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_model.services import ApiClient

from skill.content import Catalog, available_locales, load_catalog
from skill.handlers import can_fulfill, core, dose, events, habits, routine, screen, topics
from skill.handlers.base import Handler, HealthListener, Router
from skill.interceptors import RequestLogger, ResponseLogger
from skill.services import Services
from skill.settings import Settings
from skill.speech import DEFAULT_LOCALE, Voice


class MarketCatalogs(Mapping[str, Catalog]):
    """Each market's content, loaded (and checked for every key the handlers speak) on first use."""

    def __init__(self, locales: list[str]) -> None:
        self.locales = locales
        self.required: list[str] = []
        self._loaded: dict[str, Catalog] = {}

    def __getitem__(self, locale: str) -> Catalog:
        found = self._loaded.get(locale)
        if found is None:
            if locale not in self.locales:
                raise KeyError(locale)
            found = load_catalog(locale)
            found.require(self.required)
            self._loaded[locale] = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.locales)

    def __len__(self) -> int:
        return len(self.locales)


def build_skill(
    settings: Settings | None = None,
    *,
    persistence: AbstractPersistenceAdapter | None = None,
    api_client: ApiClient | None = None,
    rng: random.Random | None = None,
    on_say: Callable[[str], None] | None = None,
    services: Services | None = None,
) -> CustomSkill:
    """Build the skill: en-US content checked now, each market's on first use; one router for every handler."""
    settings = settings or Settings.from_env()
    # en-US is loaded and checked now (a ContentError before any request); each other market on its first
    # request, so a cold start reads one catalog, not five (tests hold every market to the same keys).
    catalogs = MarketCatalogs(available_locales())
    voice = Voice(catalogs, rng or random.Random(settings.seed), on_say)

    # ask-sdk types these as required, but None is how it is told "no store" and "no API client".
    builder = CustomSkillBuilder(persistence_adapter=persistence, api_client=api_client)  # type: ignore[arg-type]
    builder.skill_id = settings.skill_id  # type: ignore[assignment]
    services = services or Services.from_settings(settings, api_client=api_client)
    handlers = make_handlers(voice, services)
    catalogs.required = [key for handler in handlers for key in handler.keys]
    catalogs[DEFAULT_LOCALE]  # every key a handler declares exists, or no start
    builder.add_request_handler(Router(handlers))
    # Request types that are not the person talking (events, player requests, name-free queries):
    # no router claim covers them, so they come after it.
    for request_handler in (can_fulfill.CanFulfillHandler(), events.SkillDisabledHandler(settings.skill_id),
                            events.ExceptionEncounteredHandler(), events.QuietRequestHandler()):
        builder.add_request_handler(request_handler)
    builder.add_exception_handler(events.QuietErrorHandler())  # requests that take no speech: no apology
    builder.add_exception_handler(core.ErrorHandler(voice))
    builder.add_global_request_interceptor(RequestLogger())
    builder.add_global_request_interceptor(HealthListener())
    builder.add_global_response_interceptor(ResponseLogger())
    return builder.create()


# The modules whose handlers answer the person; each lists its own in `handlers()`, so a new handler is
# registered beside its class. Each declares the (intent, waiting) pairs it answers: order does not matter.
HANDLER_MODULES = (core, topics, dose, screen, routine, habits)


def make_handlers(voice: Voice, services: Services) -> list[Handler]:
    """Every handler that answers the person, module by module."""
    return [handler for module in HANDLER_MODULES for handler in module.handlers(voice, services)]


def declared_handlers(locale: str = "en-US") -> list[Handler]:
    """The handlers as built, for the model generator, the linter and tests (no request needed)."""
    return make_handlers(Voice(load_catalog(locale)), Services())


def handled_intents(locale: str = "en-US") -> set[str]:
    """Every intent name some handler serves; the linter and tests hold the model against it."""
    return {name for handler in declared_handlers(locale) for name, _ in handler.answers() if "Intent" in name}
