"""How the skill says things: content keys in, valid and gentle SSML out.

Handlers decide *what* to say as a `Reply` of content keys; `Voice` decides *how*: it picks a
variant, fills in escaped values, adds pauses, keeps within Alexa's limits and builds the card.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from ask_sdk_model.ui import SimpleCard

from skill.content import Catalog

# Alexa rejects output speech over 8,000 characters; stay well inside it.
MAX_SSML_CHARS = 6000
CARD_TITLE = "Bedtime Magnesium"
# Session attribute names the voice layer owns.
LAST_SAID = "last_said"
OFFERED_MORE = "offered_more"
ROUTINE = "routine"  # the wind-down step just spoken, waiting for "next"
PENDING = "pending"  # what the next yes, no or time answers ("bedtime:<then>", "resume", "forget")
# Conversation context lasts exactly one turn: every reply says what its question leaves open, so a
# stale "yes" can never confirm something asked three answers ago.
CONTEXT = (OFFERED_MORE, ROUTINE, PENDING)

# Content may write "[pause]" or "[pause 3s]"; everything else in content is plain text.
_PAUSE = re.compile(r"\[pause(?: (\d{1,2}(?:\.\d)?)s)?\]")
_TAGS = re.compile(r"<[^>]+>")
# Characters XML 1.0 forbids even escaped; a slot value carrying one would make the SSML unparseable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# The only SSML elements this skill ever writes; anything else in a replay did not come from us.
OUR_ELEMENTS = frozenset({"speak", "break", "prosody"})


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
    return handler_input.attributes_manager.session_attributes  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Line:
    """One content entry to speak, with the values its sentences need."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    """What a handler wants said: lines in order, then maybe a question, maybe the end."""

    lines: list[Line]
    ask: Line | None = None  # spoken last; its reprompt keeps the session open
    end: bool = False
    more: str | None = None  # a details entry that "yes" will speak next
    soft: bool = False  # slower, quieter delivery for the wind-down
    card: bool = True
    context: dict[str, str] = field(default_factory=dict)  # what the next turn answers (keys from CONTEXT)


@dataclass(frozen=True)
class Spoken:
    """A rendered reply: what Alexa will say, and what the Alexa app will show."""

    ssml: str
    reprompt_ssml: str | None
    card_title: str | None
    card_text: str | None
    keys: tuple[str, ...]

    @property
    def text(self) -> str:
        """The answer as plain text, for logs and tools."""
        return to_text(self.ssml)


def fmt_mg(value: float) -> str:
    """Say an amount a person can picture: whole milligrams, rounded to 5 above 20."""
    return str(int(round(value / 5) * 5)) if value >= 20 else str(max(1, int(round(value))))


def is_valid_ssml(ssml: object) -> bool:
    """True for a <speak> document of our own elements that parses as XML and fits Alexa's limit."""
    if not isinstance(ssml, str) or len(ssml) > MAX_SSML_CHARS + 200 or not ssml.startswith("<speak>"):
        return False
    try:
        root = ElementTree.fromstring(ssml)
    except ElementTree.ParseError:
        return False
    return root.tag == "speak" and all(element.tag in OUR_ELEMENTS for element in root.iter())


def to_text(ssml: str) -> str:
    """Strip SSML to what a card or a log may show."""
    text = _TAGS.sub(" ", ssml)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
    return re.sub(r"\s+", " ", text.replace("&amp;", "&")).strip()


class Voice:
    """Render replies from one catalog; the only place that writes SSML."""

    def __init__(
        self,
        catalog: Catalog,
        rng: random.Random | None = None,
        on_say: Callable[[str], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self._rng = rng or random.Random()
        self._on_say = on_say  # tests listen here to assert on keys, not on one random variant

    def _fill(self, template: str, params: Mapping[str, Any]) -> str:
        # Content text and values alike are escaped; only the [pause] markup becomes SSML.
        safe = {k: escape(_XML_INVALID.sub("", str(v)), quotes=True) for k, v in params.items()}
        text = escape(template).format_map(safe)

        def _break(match: re.Match[str]) -> str:
            return f'<break time="{match.group(1) or "0.8"}s"/>'

        return _PAUSE.sub(_break, text)

    def _pick(self, key: str, params: Mapping[str, Any], variants: str = "say") -> str:
        entry = self.catalog[key]
        options = entry.say if variants == "say" else entry.reprompt
        if self._on_say and variants == "say":
            self._on_say(key)
        return self._fill(self._rng.choice(options), params)

    def phrase(self, key: str) -> str:
        """A short phrase from the content to use inside another sentence (its first wording)."""
        return self.catalog[key].say[0]

    def render(self, reply: Reply) -> Spoken:
        """Turn a reply into SSML, a reprompt and a card."""
        parts = [self._pick(line.key, line.params) for line in reply.lines]
        answer = " ".join(parts)  # what the card shows: the answer, not the question after it
        reprompt = None
        if reply.ask is not None:
            parts.append(self._pick(reply.ask.key, reply.ask.params))
            reprompt = self._pick(reply.ask.key, reply.ask.params, variants="reprompt")
        body = " ".join(parts)
        if len(body) > MAX_SSML_CHARS:
            # Content is written short; this is a last guard so Alexa never rejects the answer.
            body = body[:MAX_SSML_CHARS].rsplit(". ", 1)[0] + "."
        if reply.soft:
            body = f'<prosody rate="90%" volume="soft">{body}</prosody>'
            if reprompt:
                reprompt = f'<prosody rate="90%" volume="soft">{reprompt}</prosody>'
        ssml = f"<speak>{body}</speak>"
        title, card_text = self._card(reply, answer or body)
        keys = tuple(line.key for line in reply.lines) + ((reply.ask.key,) if reply.ask else ())
        return Spoken(ssml, f"<speak>{reprompt}</speak>" if reprompt else None, title, card_text, keys)

    def _card(self, reply: Reply, spoken: str) -> tuple[str | None, str | None]:
        """A simple card for the Alexa app, from the first line (or the question when there is none)."""
        source = reply.lines[0] if reply.lines else reply.ask
        if not reply.card or source is None:
            return None, None
        entry = self.catalog[source.key]
        title = f"{CARD_TITLE}: {entry.title}" if entry.title else CARD_TITLE
        text = self._fill(entry.card, source.params) if entry.card else spoken
        return title, to_text(text)

    def respond(self, handler_input: HandlerInput, reply: Reply) -> Response:
        """Render a reply into the response, and remember it for "repeat" and "yes"."""
        spoken = self.render(reply)
        builder = handler_input.response_builder
        builder.speak(spoken.ssml)
        session = session_of(handler_input)
        if spoken.card_text:
            builder.set_card(SimpleCard(title=spoken.card_title, content=spoken.card_text))
        if reply.end or spoken.reprompt_ssml is None:
            builder.set_should_end_session(True)
        else:
            builder.ask(spoken.reprompt_ssml)
            session[LAST_SAID] = {"ssml": spoken.ssml, "reprompt": spoken.reprompt_ssml}
        for key in CONTEXT:
            session.pop(key, None)
        if not reply.end:
            session.update(reply.context)
            if reply.more:
                session[OFFERED_MORE] = reply.more
        return builder.response
