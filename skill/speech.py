"""How the skill says things: content keys in, valid and gentle SSML out.

Handlers decide *what* to say as a `Reply` of content keys; `Voice` decides *how*: it picks a
variant, fills in escaped values, adds pauses, keeps within Alexa's limits and builds the card.
"""
from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.ui import SimpleCard

from skill.content import Catalog
from skill.knowledge import Form, safety_gate
from skill.knowledge.markets import BASE_LOCALE, market_for
from skill.state import DoseAsked, State, Topic, Waiting

# Alexa rejects output speech over 8,000 characters; stay well inside it.
MAX_SSML_CHARS = 6000
# Request attribute: health mentions first heard in this request (skill.handlers.base.HealthListener).
HEARD_NOW = "health_heard_now"
# Lines that already answer a health mention; an answer with none of them gets the gate's words.
_ANSWERS_HEALTH = ("gate.", "safety.", "symptom.")
# Lines that tell this person an amount: a dose figure, a range, or their own amount weighed. None is spoken
# in a session until the screening question has had a clear "no", and none ever after a health mention.
FIGURE_KEYS = frozenset({
    "dose.general", "dose.general.more", "dose.low", "dose.everyday", "dose.between", "dose.deficient",
    "dose.upper_limit", "dose.converted", "label.if_compound", "routine.dose.yours",
})
# A label conversion is a fact about a label, not advice, so it needs no screen; after a mention it is gated all the same.
LABEL_FIGURE_KEYS = frozenset({"elemental.converted"})
SCREEN_ASK = "screen.ask"
CARD_TITLE = "Bedtime Magnesium"
log = logging.getLogger(__name__)
DEFAULT_LOCALE = BASE_LOCALE
# The conversation state read for this request, so every handler reads the session once.
_STATE = "_state"

# Content may write "[pause]" or "[pause 3s]"; everything else in content is plain text.
_PAUSE = re.compile(r"\[pause(?: (\d{1,2}(?:\.\d)?)s)?\]")
_TAGS = re.compile(r"<[^>]+>")
# Characters XML 1.0 forbids even escaped; a slot value carrying one would make the SSML unparseable.
# Left to re's cache rather than compiled at import: the class takes ~0.7 ms to build, and since
# every such character is non-printable, printable text (nearly every value) never needs it.
_XML_INVALID = "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"


def xml_safe(text: str) -> str:
    """The text without the characters XML 1.0 forbids."""
    return text if text.isprintable() else re.sub(_XML_INVALID, "", text)


def escape(text: str, quotes: bool = False) -> str:
    """Escape text for SSML (xml.sax.saxutils would pull urllib and email into a Lambda cold start)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quotes:
        text = text.replace('"', "&quot;").replace("'", "&apos;")
    return text


def session_of(handler_input: HandlerInput) -> dict[str, Any]:
    """Session attributes, or a throwaway dict for requests Alexa sends outside a session."""
    if handler_input.request_envelope.session is None:
        return {}
    attributes: dict[str, Any] | None = handler_input.attributes_manager.session_attributes
    return attributes if attributes is not None else {}


def state_of(handler_input: HandlerInput) -> State:
    """The conversation state of this request's session, read once."""
    cached = handler_input.attributes_manager.request_attributes.get(_STATE)
    if isinstance(cached, State):
        return cached
    state = State.load(session_of(handler_input))
    handler_input.attributes_manager.request_attributes[_STATE] = state
    return state


def set_state(handler_input: HandlerInput, state: State) -> None:
    """Change the state for the rest of this request; `Voice.respond` writes it into the session."""
    handler_input.attributes_manager.request_attributes[_STATE] = state


def system_of(handler_input: HandlerInput) -> SystemState:
    """context.System of this request; the runner fills it in for envelopes that lack it."""
    context = handler_input.request_envelope.context
    return context.system if context is not None and context.system is not None else SystemState()


def request_locale(handler_input: HandlerInput) -> str:
    """The locale this request was spoken in."""
    request = handler_input.request_envelope.request
    return getattr(request, "locale", None) or DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class Line:
    """One content entry to speak, with the values its sentences need.

    `variant` and `reprompt_variant` pin a wording (for "repeat"); None lets the voice choose.
    `over_limit_mg` makes the line conditional: it is spoken only when that amount passes the
    supplement limit of the request's market (350 mg in the US, 400 mg for the NHS: U1-U5).
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    variant: int | None = None
    reprompt_variant: int | None = None
    over_limit_mg: float | None = None


@dataclass(slots=True)
class Reply:
    """What a handler wants said: lines in order, then maybe a question, maybe the end."""

    lines: list[Line]
    ask: Line | None = None  # spoken last; its reprompt keeps the session open
    end: bool = False
    more: str | None = None  # a details entry that "yes" will speak next
    soft: bool = False  # slower, quieter delivery for the wind-down
    card: bool = True
    # What the next turn answers. It lasts exactly one turn: every reply says what its question
    # leaves open, so a stale "yes" can never confirm something asked three answers ago.
    waiting: Waiting = Waiting.NOTHING
    then: str | None = None
    topic: Topic | None = None  # what this answer was about, for follow-ups
    dose: DoseAsked | None = None  # the dose question answered, for follow-ups
    compared: tuple[Form, Form] | None = None  # two forms just compared; kept until the next comparison
    # A complete answer with nothing more to offer. A one-shot request ("ask bedtime magnesium why...") ends
    # here, as Alexa's design guide asks; a conversation the person opened ("open bedtime magnesium") asks
    # what next, because they came to talk. Either way no "anything else?" follows a one-shot at night.
    done: bool = False


@dataclass(frozen=True, slots=True)
class Spoken:
    """A rendered reply: what Alexa will say, and what the Alexa app will show."""

    ssml: str
    reprompt_ssml: str | None
    card_title: str | None
    card_text: str | None
    keys: tuple[str, ...]
    replay: dict[str, Any] = field(default_factory=dict)  # the reply with its wordings pinned

    @property
    def text(self) -> str:
        """The answer as plain text, for logs and tools."""
        return to_text(self.ssml)


def fmt_mg(value: float) -> str:
    """Say an amount a person can picture: whole milligrams, rounded to 5 above 20."""
    return str(int(round(value / 5) * 5)) if value >= 20 else str(max(1, int(round(value))))


def to_text(ssml: str) -> str:
    """Strip SSML to what a card or a log may show."""
    text = _TAGS.sub(" ", ssml) if "<" in ssml else ssml
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
        text = text.replace("&amp;", "&")
    return " ".join(text.split())  # runs of whitespace to one space, as re's \s+ would


class Voice:
    """Render replies from one catalog; the only place that writes SSML."""

    def __init__(
        self,
        catalog: Catalog | Mapping[str, Catalog],
        rng: random.Random | None = None,
        on_say: Callable[[str], None] | None = None,
    ) -> None:
        # Kept as given: a lazy mapping (the builder's) loads a market's content on its first request.
        catalogs: Mapping[str, Catalog] = {catalog.locale: catalog} if isinstance(catalog, Catalog) else catalog
        self._catalogs = catalogs
        # Every locale has the same keys (a test holds them together), so key checks use any one.
        self.catalog = catalogs.get(DEFAULT_LOCALE) or next(iter(catalogs.values()))
        self._rng = rng or random.Random()
        self._on_say = on_say  # tests listen here to assert on keys, not on one random variant

    def catalog_for(self, locale: str | None) -> Catalog:
        """The content for a request's locale (its market's words and limit), else en-US's, said in the log."""
        found = self._catalogs.get(locale or DEFAULT_LOCALE)
        if found is None:
            log.info("no content for locale %r; answering in %s", locale, DEFAULT_LOCALE)
            return self.catalog
        return found

    def _fill(self, template: str, params: Mapping[str, Any]) -> str:
        # Content text and values alike are escaped; only the [pause] markup becomes SSML.
        safe = {k: escape(xml_safe(str(v)), quotes=True) for k, v in params.items()}
        text = escape(template).format_map(safe)

        def _break(match: re.Match[str]) -> str:
            return f'<break time="{match.group(1) or "0.8"}s"/>'

        return _PAUSE.sub(_break, text) if "[pause" in text else text  # most sentences have no pause

    def _pick(self, line: Line, reprompt: bool = False, catalog: Catalog | None = None) -> tuple[str, int]:
        """One wording of a line, filled in, and which wording it was."""
        entry = (catalog or self.catalog)[line.key]
        options = entry.reprompt if reprompt else entry.say
        chosen = line.reprompt_variant if reprompt else line.variant
        index = chosen if chosen is not None and 0 <= chosen < len(options) else self._rng.randrange(len(options))
        if self._on_say and not reprompt:
            self._on_say(line.key)
        return self._fill(options[index], line.params), index

    def phrase(self, key: str, locale: str | None = None) -> str:
        """A short phrase from the content to use inside another sentence (its first wording)."""
        return self.catalog_for(locale)[key].say[0]

    def _for_market(self, reply: Reply, locale: str) -> Reply:
        """The reply without the lines its market's limit leaves unsaid (a line's `over_limit_mg`)."""
        if not any(line.over_limit_mg is not None for line in reply.lines):
            return reply
        limit = market_for(locale).limit_mg
        return replace(reply, lines=[line for line in reply.lines if line.over_limit_mg is None or line.over_limit_mg > limit])

    def render(self, reply: Reply, locale: str | None = None) -> Spoken:
        """Turn a reply into SSML, a reprompt and a card, in the content of `locale`."""
        catalog = self.catalog_for(locale)
        picked = [self._pick(line, catalog=catalog) for line in reply.lines]
        parts = [text for text, _ in picked]
        answer = " ".join(parts)  # what the card shows: the answer, not the question after it
        reprompt = None
        replay: dict[str, Any] = {
            "lines": [[line.key, index, dict(line.params)] for line, (_, index) in zip(reply.lines, picked)],
            "soft": reply.soft,
        }
        if reply.ask is not None:
            text, index = self._pick(reply.ask, catalog=catalog)
            reprompt, reprompt_index = self._pick(reply.ask, reprompt=True, catalog=catalog)
            parts.append(text)
            replay["ask"] = [reply.ask.key, index, reprompt_index, dict(reply.ask.params)]
        body = " ".join(parts)
        if len(body) > MAX_SSML_CHARS:
            # Content is written short; this is a last guard so Alexa never rejects the answer.
            body = body[:MAX_SSML_CHARS].rsplit(". ", 1)[0] + "."
        if reply.soft:
            body = f'<prosody rate="90%" volume="soft">{body}</prosody>'
            if reprompt:
                reprompt = f'<prosody rate="90%" volume="soft">{reprompt}</prosody>'
        ssml = f"<speak>{body}</speak>"
        title, card_text = self._card(reply, answer or body, catalog)
        keys = tuple(line.key for line in reply.lines) + ((reply.ask.key,) if reply.ask else ())
        return Spoken(ssml, f"<speak>{reprompt}</speak>" if reprompt else None, title, card_text, keys, replay)

    def _card(self, reply: Reply, spoken: str, catalog: Catalog) -> tuple[str | None, str | None]:
        """A simple card for the Alexa app, from the first line (or the question when there is none)."""
        source = reply.lines[0] if reply.lines else reply.ask
        if not reply.card or source is None:
            return None, None
        entry = catalog[source.key]
        title = f"{CARD_TITLE}: {entry.title}" if entry.title else CARD_TITLE
        text = self._fill(entry.card, source.params) if entry.card else spoken
        return title, to_text(text)

    def recall(self, stored: Any, state: State) -> Reply | None:
        """Rebuild the last reply from what `respond` kept, or None if it is not ours to replay.

        The reply leaves the same question open as it did (the state's `waiting`), so "yes" after a
        repeat still means what it meant.

        Session attributes come back from the client, so every key must be in the catalog, every
        wording index in range and every value a short scalar for the fields that entry takes.
        """
        read = self._read_stored(stored)
        if read is None or read[1] is None:
            return None  # only a reply that left the session open is remembered
        lines, ask = read
        return Reply(lines, ask=ask, soft=stored.get("soft") is True, waiting=state.waiting, then=state.then,
                     topic=state.topic, dose=state.dose)

    def _read_stored(self, stored: Any) -> tuple[list[Line], Line | None] | None:
        """The lines and question of a reply kept in the session, each checked against our content, or None."""
        if not isinstance(stored, dict) or not isinstance(stored.get("lines"), list) or len(stored["lines"]) > 20:
            return None
        try:
            lines = [self._recall_line(item) for item in stored["lines"]]
            ask = self._recall_line(stored["ask"], asks=True) if stored.get("ask") is not None else None
        except (TypeError, ValueError, KeyError):
            return None
        return lines, ask

    def _recall_line(self, item: Any, asks: bool = False) -> Line:
        size = 4 if asks else 3
        if not isinstance(item, list) or len(item) != size:
            raise ValueError("not a stored line")
        key, variant, *rest = item
        reprompt_variant = rest[0] if asks else None
        params = rest[-1]
        entry = self.catalog[key] if isinstance(key, str) and key in self.catalog else None
        if entry is None or not isinstance(params, dict) or set(params) != set(entry.fields):
            raise ValueError("not a line of ours")
        checks = [(variant, entry.say)] + ([(reprompt_variant, entry.reprompt)] if asks else [])
        for index, options in checks:
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(options):
                raise ValueError("no such wording")
        if not all(isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) <= 200 for v in params.values()):
            raise ValueError("not a value we would have said")
        return Line(key, params, variant, reprompt_variant if asks else None)

    def _screened(self, reply: Reply, state: State) -> tuple[Reply, dict[str, Any] | None]:
        """The reply as it may be said in this session, and any answer it holds back behind the screen.

        Every answer passes here, so no path can speak a figure unscreened: a figure after a health mention
        becomes the gate's words (the gate has already run on every path; this is the backstop), and the
        session's first figure waits behind the screening question, whatever handler produced it.
        """
        keys = {line.key for line in reply.lines}
        if state.health and keys & (FIGURE_KEYS | LABEL_FIGURE_KEYS):
            return self.gated(reply, [Line(f"gate.{gate.value}") for gate in safety_gate(state.health)]), None
        if not state.screened and keys & FIGURE_KEYS:
            ask = Reply([], ask=Line(SCREEN_ASK), soft=reply.soft, waiting=Waiting.SCREEN, topic=reply.topic,
                        dose=reply.dose, compared=reply.compared)
            return ask, self.hold(reply)
        # "Say that again" to the screening question repeats it and keeps the answer waiting.
        return reply, state.held if reply.waiting is Waiting.SCREEN else None

    @staticmethod
    def gated(reply: Reply, gate: list[Line]) -> Reply:
        """The same turn with the gate's words in place of its dose lines (a routine's step still moves on)."""
        if reply.ask is not None and reply.ask.key.startswith("routine."):
            return Reply([*gate, Line("disclaimer")], ask=reply.ask, soft=reply.soft, waiting=reply.waiting, then=reply.then)
        return Reply([*gate, Line("disclaimer")], done=True, soft=reply.soft)

    @staticmethod
    def hold(reply: Reply) -> dict[str, Any]:
        """A reply as the session keeps it while the screening question waits (keys and values, no SSML)."""
        held: dict[str, Any] = {"lines": [[line.key, 0, dict(line.params)] for line in reply.lines], "soft": reply.soft,
                                "waiting": reply.waiting.value, "then": reply.then, "more": reply.more,
                                "done": reply.done}
        if reply.ask is not None:
            held["ask"] = [reply.ask.key, 0, 0, dict(reply.ask.params)]
        return held

    def unhold(self, held: Any, state: State) -> Reply | None:
        """The answer held behind the screen, checked as `recall` checks a stored reply, or None."""
        read = self._read_stored(held)
        if read is None:
            return None
        lines, ask = read
        waiting = held.get("waiting")
        more, then, done = held.get("more"), held.get("then"), held.get("done") is True
        return Reply(
            [Line(line.key, line.params) for line in lines], ask=Line(ask.key, ask.params) if ask else None,
            end=ask is None and not done, done=done, more=more if isinstance(more, str) and more in self.catalog else None,
            soft=held.get("soft") is True,
            waiting=Waiting(waiting) if isinstance(waiting, str) and waiting in Waiting.__members__.values() else Waiting.NOTHING,
            then=then if isinstance(then, str) and len(then) <= 100 else None, topic=state.topic, dose=state.dose,
        )

    def respond(self, handler_input: HandlerInput, reply: Reply) -> Response:
        """Render a reply into the response, and write the conversation state it leaves (the one place)."""
        heard = handler_input.attributes_manager.request_attributes.get(HEARD_NOW)
        if isinstance(heard, set) and heard and not any(line.key.startswith(_ANSWERS_HEALTH) for line in reply.lines):
            # "I'm pregnant, which form is best?": the answer, then what the gate says for that mention.
            reply = replace(reply, lines=[*reply.lines, *(Line(f"gate.{gate.value}") for gate in safety_gate(heard))])
        state = state_of(handler_input)
        # Settled now, so an answer held behind the screening question keeps this market's lines.
        reply = self._for_market(reply, request_locale(handler_input))
        reply, held = self._screened(reply, state)
        if getattr(handler_input.request_envelope.request, "object_type", None) == "LaunchRequest":
            state = replace(state, conversing=True)
        if reply.done and reply.ask is None:
            # In a conversation: its details if it has them, else what next. A one-shot request: the end.
            ask = Line("offer_more") if reply.more else Line("anything_else")
            reply = replace(reply, ask=ask) if state.conversing else replace(reply, end=True)
        spoken = self.render(reply, request_locale(handler_input))
        builder = handler_input.response_builder
        builder.speak(spoken.ssml)
        if spoken.card_text:
            builder.set_card(SimpleCard(title=spoken.card_title, content=spoken.card_text))
        ends = reply.end or spoken.reprompt_ssml is None
        if ends or spoken.reprompt_ssml is None:
            builder.set_should_end_session(True)
            state = replace(state, waiting=Waiting.NOTHING, then=None, topic=None, dose=None, compared=None, held=None)
        else:
            builder.ask(spoken.reprompt_ssml)
            waiting, then = (Waiting.MORE, reply.more) if reply.more else (reply.waiting, reply.then)
            # Keys, wordings and values, not SSML: "repeat" renders again from our own content.
            state = replace(state, waiting=waiting, then=then, topic=reply.topic, dose=reply.dose,
                            last_said=spoken.replay, compared=reply.compared or state.compared, held=held)
        set_state(handler_input, state)
        if handler_input.request_envelope.session is not None:
            state.dump(session_of(handler_input))
        return builder.response
