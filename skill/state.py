"""What the conversation is waiting for, as one typed value read and written in one place.

Session attributes come back from the client on every turn, so they are untrusted input: `State.load`
accepts only the closed set of values below and drops anything else. Handlers read `State`, declare
which `Waiting` they answer (see `skill.handlers.base.Handler.claims`), and say what the next turn
waits for through their `Reply`; `Voice.respond` writes the state back. Nothing here is stored beyond
the session, and conditions a person names live only here (never in the profile).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from skill.knowledge import Condition, Form

# Session attribute names; the state owns all of them.
WAITING = "waiting"
THEN = "then"
TOPIC = "topic"
DOSE = "dose"
CONDITIONS = "conditions"
LAST_SAID = "last_said"
PROFILE = "profile"  # the profile for the session when no store is configured (offline tools)
COMPARED = "compared"
SCREENED = "screened"
HELD = "held"
CONVERSING = "conversing"
KEYS = (WAITING, THEN, TOPIC, DOSE, CONDITIONS, LAST_SAID, PROFILE, COMPARED, SCREENED, HELD, CONVERSING)


class Waiting(StrEnum):
    """The question the skill last asked, which the next "yes", "no" or value answers."""

    NOTHING = "nothing"
    MORE = "more"  # "Want the details?"; `then` names the details entry
    BEDTIME = "bedtime"  # "What time do you go to bed?"; `then` is what follows: routine or reminder
    RESUME = "resume"  # "Shall we carry on from there?"
    FORGET = "forget"  # "Should I forget everything?"
    CHECKIN = "checkin"  # the routine's check-in was said; "next" goes on to the dose step
    DOSE_STEP = "dose_step"  # the routine's dose step was said; "next" breathes
    BREATHE = "breathe"  # "Shall we breathe for a minute?" (offered to someone who cannot sleep)
    PER_CAPSULE = "per_capsule"  # "How many milligrams does each capsule hold?"
    LABEL_LINE = "label_line"  # "Is that the magnesium line on the label, or the compound's weight?"
    COUNT_OFFER = "count_offer"  # "Shall I keep count of your nights?" (asked once, after the first "I took it")
    SCREEN = "screen"  # "Before I give an amount: kidney or heart problems, regular medicines...?"; `held` waits
    REMINDER_TIME = "reminder_time"  # "What time should I remind you?"; `then` is the time suggested, if any


class Topic(StrEnum):
    """What the last answer was about, so a follow-up ("and threonate?", "what about kids") continues it."""

    DOSE = "dose"
    ELEMENTAL = "elemental"
    FORM_INFO = "form_info"
    FORM_ADVICE = "form_advice"
    SAFETY = "safety"
    TIMING = "timing"
    COMPARE = "compare"  # two forms side by side: "which one's gentler?" picks between them


@dataclass(frozen=True, slots=True)
class DoseAsked:
    """The dose question last asked, so "is 800 okay" or "and threonate?" can complete it."""

    amount_mg: float | None = None
    form: Form | None = None
    count: int | None = None  # capsules or tablets

    def to_json(self) -> dict[str, Any]:
        # A misheard amount ("?") is NaN in the knowledge layer; JSON has no NaN, and nothing to keep.
        amount = self.amount_mg if self.amount_mg is not None and math.isfinite(self.amount_mg) else None
        return {"amount": amount, "form": self.form.value if self.form else None, "count": self.count}

    @classmethod
    def from_json(cls, raw: Any) -> DoseAsked | None:
        if not isinstance(raw, dict):
            return None
        amount, form, count = raw.get("amount"), raw.get("form"), raw.get("count")
        ok_amount = isinstance(amount, int | float) and not isinstance(amount, bool) and 0 < amount <= 1_000_000
        ok_count = isinstance(count, int) and not isinstance(count, bool) and 0 < count <= 100
        return cls(
            amount_mg=float(amount) if ok_amount and isinstance(amount, int | float) else None,
            form=Form(form) if isinstance(form, str) and form in Form.__members__.values() else None,
            count=count if ok_count else None,
        )


@dataclass(frozen=True, slots=True)
class State:
    """The whole conversation state of one session."""

    waiting: Waiting = Waiting.NOTHING
    then: str | None = None
    topic: Topic | None = None
    dose: DoseAsked | None = None
    # Condition values (OTHER for a health mention not recognised); every later dose answer is gated by them.
    conditions: frozenset[str] = field(default_factory=frozenset)
    last_said: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    # The two forms last compared, for "the other one" a few turns on; replaced by the next comparison.
    compared: tuple[Form, Form] | None = None
    # A clear "no" to the screening question this session: dose figures may be spoken. Session only, like
    # conditions; it says nothing about health, and a new session asks again.
    screened: bool = False
    # The answer held back behind the screening question (a reply as `Voice.hold` writes it), spoken after "no".
    held: dict[str, Any] | None = None
    # The person opened the skill ("open bedtime magnesium") rather than asking one thing: a complete
    # answer asks what next instead of ending (`Reply.done`).
    conversing: bool = False

    @classmethod
    def load(cls, session: dict[str, Any]) -> State:
        """Read the state from session attributes, keeping only values of the closed sets."""
        waiting = session.get(WAITING)
        topic = session.get(TOPIC)
        then = session.get(THEN)
        raw_conditions = session.get(CONDITIONS)
        conditions: set[str] = set()
        if isinstance(raw_conditions, list):
            known = {c.value for c in Condition}
            conditions = {c for c in raw_conditions if isinstance(c, str) and c in known}
            # Anything else a client sent under this key still means "something was said": fail closed.
            if len(conditions) != len(raw_conditions):
                conditions.add(Condition.OTHER.value)
        last_said = session.get(LAST_SAID)
        profile = session.get(PROFILE)
        raw_pair = session.get(COMPARED)
        known_forms = Form.__members__.values()
        # Exactly two different known forms, or nothing: a half-readable pair is no pair.
        pair = ([Form(f) for f in raw_pair if isinstance(f, str) and f in known_forms]
                if isinstance(raw_pair, list) and len(raw_pair) == 2 else [])
        return cls(
            waiting=Waiting(waiting) if isinstance(waiting, str) and waiting in Waiting.__members__.values() else Waiting.NOTHING,
            then=then if isinstance(then, str) and len(then) <= 100 else None,
            topic=Topic(topic) if isinstance(topic, str) and topic in Topic.__members__.values() else None,
            dose=DoseAsked.from_json(session.get(DOSE)),
            conditions=frozenset(conditions),
            last_said=last_said if isinstance(last_said, dict) else None,
            profile=profile if isinstance(profile, dict) else None,
            compared=(pair[0], pair[1]) if len(pair) == 2 and pair[0] != pair[1] else None,
            screened=session.get(SCREENED) is True,
            held=session.get(HELD) if isinstance(session.get(HELD), dict) else None,
            conversing=session.get(CONVERSING) is True,
        )

    def dump(self, session: dict[str, Any]) -> None:
        """Write the state into session attributes (ours only; anything else there is dropped)."""
        session.clear()
        values: dict[str, Any] = {
            WAITING: self.waiting.value if self.waiting is not Waiting.NOTHING else None,
            THEN: self.then,
            TOPIC: self.topic.value if self.topic else None,
            DOSE: self.dose.to_json() if self.dose else None,
            CONDITIONS: sorted(self.conditions) or None,
            LAST_SAID: self.last_said,
            PROFILE: self.profile,
            COMPARED: [f.value for f in self.compared] if self.compared else None,
            SCREENED: True if self.screened else None,
            HELD: self.held,
            CONVERSING: True if self.conversing else None,
        }
        session.update({k: v for k, v in values.items() if v is not None})

    def other_form(self) -> Form | None:
        """For "the other one": the compared form not just described (the second, right after the comparison)."""
        if self.compared is None:
            return None
        first, second = self.compared
        just_said = self.dose.form if self.topic is Topic.FORM_INFO and self.dose else None
        if self.topic is Topic.COMPARE or just_said == first:
            return second
        return first if just_said == second else None

    def with_condition(self, condition: Condition) -> State:
        """Remember a health mention for the rest of this session only."""
        return replace(self, conditions=self.conditions | {condition.value})

    @property
    def health(self) -> set[Condition]:
        """Every health mention heard this session, for the safety gate."""
        return {Condition(c) for c in self.conditions}
