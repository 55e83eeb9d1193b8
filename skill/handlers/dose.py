"""Dose questions and their follow-ups. Every one goes through `assess_dose`, whose safety gate runs first."""
from __future__ import annotations

import math
from typing import NamedTuple

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill.handlers.base import (AGE, AMOUNT, ANY, CONDITION, COUNT, FORM, MORE_AMOUNT, OR_AMOUNT, SYMPTOM, TIMES, UNIT, Handler,
                                 Intent, Slot, elicit, health, hear_symptom, slot)
from skill.knowledge import (DOCTOR_ONLY_ABOVE_MG, ELEMENTAL_SHARE, Condition, Form, DoseAdvice, Gate, Label, Tier, Times, amount_for_the_day, assess_dose, parse_amount,
                             parse_form)
from skill.services import Services
from skill.speech import Line, Reply, Voice, fmt_mg, state_of
from skill.state import DoseAsked, Topic, Waiting

LINE = Slot("line", "LabelType")
# DoseIntent's amount is asked for with Dialog.ElicitSlot after "should I take two?" (how much does each hold?).
DOSE_AMOUNT = Slot("amount", "AMAZON.NUMBER", elicit=True)
# Below this, a number said without a unit is not taken as milligrams (no supplement dose is that small).
SMALLEST_BARE_AMOUNT = 20
# More capsules than this at once ("two of them", "and another one") is a mishearing (an age, an amount), not a count.
MOST_CAPSULES = 10


def dose_reply(advice: DoseAdvice, *, lead: list[Line] | None = None, asked: DoseAsked | None = None) -> Reply:
    """Say a dose decision: the gate's "ask your doctor", or the tier with its caveats.

    This is the one place dose advice becomes speech, so the disclaimer cannot be forgotten by any
    path that gives a dose. The health groups are not repeated here: every figure follows the screening
    question that names them (`Voice._screened`).
    """
    lines = list(lead or [])
    context = {"topic": Topic.DOSE, "dose": asked}
    if advice.tier is Tier.GATED:
        lines += gate_lines(advice)
        lines.append(Line("disclaimer"))
        only_amount = advice.gates == (Gate.OVER_800,)
        if only_amount and advice.label_matters and advice.stated_mg and advice.form:
            # 1000 mg "of glycinate" may be 140 mg of magnesium: ask rather than refuse on a guess.
            ask = Line("label.which", {"stated": fmt_mg(advice.stated_mg), "form": advice.form.value})
            return Reply(lines, ask=ask, waiting=Waiting.LABEL_LINE, **context)  # type: ignore[arg-type]
        return Reply(lines, done=True, **context)  # type: ignore[arg-type]
    if advice.tier is Tier.INVALID:
        return Reply(lines, ask=Line("dose.invalid"), **context)  # type: ignore[arg-type]
    if advice.tier is Tier.GENERAL:
        lines += [Line("dose.general"), Line("disclaimer")]
        # Whole with the disclaimer: at night the figure ends a one-shot; a conversation is offered the details.
        return Reply(lines, done=True, more="dose.general.more", **context)  # type: ignore[arg-type]
    assert advice.elemental_mg is not None and advice.stated_mg is not None
    if advice.converted and not lead:
        lines.append(Line("dose.converted", _conversion(advice)))
    lines.append(Line(f"dose.{advice.tier.value}", {"amount": fmt_mg(advice.elemental_mg)}))
    # Said only where the amount passes the request's market limit (the voice knows the market).
    lines.append(Line("dose.upper_limit", over_limit_mg=advice.elemental_mg))
    lines.append(Line("disclaimer"))
    if advice.label_matters and advice.form and advice.if_compound_mg is not None:
        ask = Line("label.which", {"stated": fmt_mg(advice.stated_mg), "form": advice.form.value})
        lines.insert(len(lines) - 2, Line("label.if_compound", {"stated": fmt_mg(advice.stated_mg),
                                                               "elemental": fmt_mg(advice.if_compound_mg)}))
        return Reply(lines, ask=ask, waiting=Waiting.LABEL_LINE, **context)  # type: ignore[arg-type]
    return Reply(lines, done=True, **context)  # type: ignore[arg-type]


def gate_lines(advice: DoseAdvice) -> list[Line]:
    """The gate's words for each reason it closed: over 800 mg names the amount."""
    return [Line(f"gate.{gate.value}", {"amount": fmt_mg(advice.elemental_mg)}
                 if gate is Gate.OVER_800 and advice.elemental_mg else {}) for gate in advice.gates]


def share_percent(form: Form) -> str:
    """A form's share of magnesium by weight as said aloud (S5): "14", or "5 to 6" for gluconate."""
    share = round(ELEMENTAL_SHARE[form] * 100, 1)  # 0.14 * 100 is 14.000000000000002
    return str(round(share)) if share == round(share) else f"{math.floor(share)} to {math.ceil(share)}"


def _conversion(advice: DoseAdvice) -> dict[str, str]:
    assert advice.form is not None and advice.stated_mg is not None and advice.elemental_mg is not None
    return {"stated": fmt_mg(advice.stated_mg), "form": advice.form.value, "elemental": fmt_mg(advice.elemental_mg)}


def _count(raw: str | None) -> int | None:
    try:
        count = int(float(raw or ""))
    except (ValueError, OverflowError):  # "?", words, "inf": no count
        return None
    return count if 0 < count <= MOST_CAPSULES else None


def times_a_day(handler_input: HandlerInput) -> int:
    """How often a day the person said ("twice a day": 2), else once."""
    times_id, _ = slot(handler_input, "times")
    return Times(times_id).per_day if times_id is not None and times_id in Times.__members__.values() else 1


class DoseHeard(NamedTuple):
    """A dose question as heard in one request."""

    asked: DoseAsked  # amount in mg (the day's, when several numbers were said), form, capsule count
    conditions: set[Condition]  # every health mention of the session
    said: bool  # anything new (False: "is that enough" continues the last question)
    times: int  # how often a day was said ("twice a day": 2)
    added_mg: float | None  # "another 200": a second amount said alone, to add to the one before
    added_units: int | None = None  # "and another one": more of what was taken before, each the same


def read_dose(handler_input: HandlerInput) -> DoseHeard:
    """Read the dose question in this request, every slot once."""
    _, amount_heard = slot(handler_input, "amount")
    unit_id, unit_heard = slot(handler_input, "unit")
    form_id, form_heard = slot(handler_input, "form")
    _, count_heard = slot(handler_input, "count")
    _, also_heard = slot(handler_input, "more_amount")
    _, or_heard = slot(handler_input, "or_amount")
    if amount_heard is None and count_heard is not None and _count(count_heard) is None:
        amount_heard = count_heard  # "can I take 400": more than any capsule count is an amount
    amount = parse_amount(amount_heard, unit_id or unit_heard)
    if amount is None and (unit_id == "g" or (unit_heard or "").strip().lower() in ("gram", "a gram")):
        amount = 1000.0  # "a gram of magnesium": a unit said alone is one of it
    lone = parse_amount(also_heard or or_heard, unit_id or unit_heard) if amount is None else None
    added = None
    # "and another one in the morning" after "I take two of the 400s": a small number with no unit is more of
    # the same capsules or doses, not milligrams; continue_dose weighs them with the ones before.
    # "?" (a number Alexa heard but could not make out) reads as NaN: never a count, and never int(NaN).
    units = int(lone) if (lone is not None and math.isfinite(lone) and also_heard is not None and not (unit_id or unit_heard)
                          and lone == int(lone) and 1 <= lone <= MOST_CAPSULES) else None
    if lone is not None and lone >= SMALLEST_BARE_AMOUNT:
        # A second amount with no first ("okay and is 200 enough" heard as "or 200") is the amount; after
        # another amount, "another 200" adds to it (continue_dose).
        added = lone if also_heard is not None else None
        amount_heard, amount, also_heard, or_heard = also_heard or or_heard, lone, None, None
    if amount is not None and amount < SMALLEST_BARE_AMOUNT and not (unit_id or unit_heard):
        # "I'm 16, can I take...": a small bare number is an age or a count far more often than a dose;
        # answering it as milligrams would call it too little. Ask for the amount instead.
        amount = math.nan
    count = _count(count_heard)
    # "500 twice a day", "600 in the morning and 600 at night", "800 or 1000": the day's amount, so the
    # gate and the upper limit see what the person means to take (the second number in the first's unit).
    times = times_a_day(handler_input)
    also, alternative = (parse_amount(heard, unit_id or unit_heard) for heard in (also_heard, or_heard))
    if amount is not None and (times > 1 or also is not None or alternative is not None):
        amount, count = amount_for_the_day(amount, count=count, times=times, also_mg=also, or_mg=alternative), None
    asked = DoseAsked(amount_mg=amount, form=parse_form(form_id) or parse_form(form_heard), count=count)
    # A unit said alone ("is a gram too much") or a second amount is something new, never "the same again".
    said = any(v is not None for v in (amount_heard, form_heard, count_heard, unit_heard, also_heard, or_heard)) or times > 1
    # "another 200 twice a day" is its own day's amount, not one to add.
    return DoseHeard(asked, health(handler_input), said, times, added if times == 1 else None, units)


def answer_dose(handler: Handler, handler_input: HandlerInput, asked: DoseAsked, conditions: set[Condition],
                label: Label = Label.UNKNOWN) -> Response:
    """Answer a (possibly continued) dose question; the gate runs before any number is spoken."""
    if asked.count and asked.amount_mg is None:
        if conditions:
            return handler.voice.respond(handler_input, dose_reply(assess_dose(None, asked.form, conditions),
                                                                   asked=asked))
        # "Should I take two?": two of what? Ask rather than guess what a capsule holds, with
        # Dialog.ElicitSlot on DoseIntent's amount so "two hundred each" is heard as the answer.
        elicit(handler_input, "DoseIntent", DOSE_AMOUNT.name)
        ask = Line("dose.per_capsule", {"count": asked.count})
        return handler.voice.respond(handler_input, Reply([], ask=ask, waiting=Waiting.PER_CAPSULE,
                                                          topic=Topic.DOSE, dose=asked))
    total = amount_for_the_day(asked.amount_mg, count=asked.count)
    advice = assess_dose(total, asked.form, conditions, label)
    return handler.voice.respond(handler_input, dose_reply(advice, asked=asked))


def continue_dose(handler: Handler, handler_input: HandlerInput, *, follow_up: bool = False) -> Response:
    """Answer a dose question, continuing the last one when the person only says what changed.

    "is that enough" repeats it; "is 800 okay" keeps the form said before; a follow-up ("and
    threonate?", "what about 800?") keeps everything not said again.
    """
    heard = read_dose(handler_input)
    asked, conditions, said, times = heard.asked, heard.conditions, heard.said, heard.times
    state = state_of(handler_input)
    before = state.dose if state.topic in (Topic.DOSE, Topic.ELEMENTAL) and state.dose else None
    if before is not None and before.amount_mg is not None and heard.added_units is not None:
        # "and another one" after "two of the 400s" (or after "300 in the morning"): each is what was said before.
        day = (amount_for_the_day(before.amount_mg, count=before.count) or before.amount_mg) + heard.added_units * before.amount_mg
        asked = DoseAsked(day, asked.form or before.form)
    elif before is not None and before.amount_mg is not None and heard.added_mg is not None:
        # "can I take another 200 at night?" after "I take 200 in the morning": the gate weighs both.
        asked = DoseAsked(amount_for_the_day(before.amount_mg, count=before.count, also_mg=heard.added_mg),
                          asked.form or before.form)
    elif (before is not None and before.amount_mg is not None and asked.count and asked.amount_mg is None
          and before.amount_mg * asked.count > DOCTOR_ONLY_ABOVE_MG):
        # "is four capsules okay?" after "my bottle says 500 mg per capsule": if each holds what was just
        # said, that is past the gate's line, and the gate speaks rather than asking what one holds.
        asked = DoseAsked(before.amount_mg, asked.form or before.form, asked.count)
    elif before is not None and asked.amount_mg is None and times > 1 and before.amount_mg is not None:
        # "and if I took it twice a day?" after "is 500 mg okay": the gate weighs 1000 mg a day.
        asked = DoseAsked(amount_for_the_day(before.amount_mg, count=before.count, times=times), asked.form or before.form)
    elif before is not None:
        if not said:
            asked = before
        else:
            keep = follow_up and asked.amount_mg is None
            # "so can I take 7 of them" right after "how much is in 1000 mg of glycinate": each is the 1000 mg
            # just asked about, so the gate weighs 7 of them rather than asking what one holds.
            each = before.amount_mg if state.topic is Topic.ELEMENTAL and asked.count and asked.amount_mg is None else None
            asked = DoseAsked(amount_mg=before.amount_mg if keep else (each or asked.amount_mg), form=asked.form or before.form,
                              count=(asked.count or before.count) if keep or each else asked.count)
    return answer_dose(handler, handler_input, asked, conditions)


class DoseHandler(Handler):
    """Serve "how much magnesium should I take", "is 500 milligrams too much", "should I take two"."""

    intent = Intent("DoseIntent", (DOSE_AMOUNT, UNIT, FORM, CONDITION, COUNT, AGE, SYMPTOM, MORE_AMOUNT, OR_AMOUNT, TIMES))
    keys = ("symptom.warning", "side_effects.stomach", "dose.general", "dose.general.more", "dose.low", "dose.everyday", "dose.between", "dose.deficient",
            "dose.upper_limit", "dose.converted", "dose.invalid", "dose.per_capsule",
            "gate.kidney", "gate.pregnancy", "gate.child", "gate.medicines", "gate.other", "gate.over_800",
            "label.which", "label.if_compound", "disclaimer")

    def handle(self, handler_input: HandlerInput) -> Response:
        # "I feel dizzy since I took it, should I take less?": a symptom said with a dose question is answered
        # as the symptom (T5), never with a dose.
        said, symptom = hear_symptom(handler_input)
        if said:
            return self.symptom_answer(handler_input, symptom)
        return continue_dose(self, handler_input)


class PerCapsuleHandler(Handler):
    """Serve the answer to "how many milligrams does each capsule hold?"."""

    claims = (("DoseIntent", Waiting.PER_CAPSULE), ("ElementalIntent", Waiting.PER_CAPSULE))

    def handle(self, handler_input: HandlerInput) -> Response:
        heard = read_dose(handler_input)
        asked, before = heard.asked, state_of(handler_input).dose or DoseAsked()
        merged = DoseAsked(amount_mg=asked.amount_mg, form=asked.form or before.form, count=before.count or asked.count)
        return answer_dose(self, handler_input, merged, heard.conditions)


class LabelLineHandler(Handler):
    """Serve "it's the magnesium line" or "that's the compound" after "which line does your label show?",
    and a label line read out unasked ("it says elemental magnesium 200 mg")."""

    # An amount read out may come with a health mention ("...200 mg, i'm pregnant"): heard like every dose question.
    intent = Intent("LabelLineIntent", (LINE, AMOUNT, UNIT, CONDITION, AGE))
    claims = (("LabelLineIntent", Waiting.LABEL_LINE), ("LabelLineIntent", ANY))
    keys = ("label.explain",)

    def handle(self, handler_input: HandlerInput) -> Response:
        state = state_of(handler_input)
        resolved, heard = slot(handler_input, "line")
        label = Label(resolved) if resolved in (Label.COMPOUND.value, Label.ELEMENTAL.value) else None
        said = read_dose(handler_input).asked.amount_mg if slot(handler_input, "amount")[1] is not None else None
        if said is not None and not said >= SMALLEST_BARE_AMOUNT and slot(handler_input, "unit")[1] is None:
            # "magnesium glycinate, the big ONE": no amount on a label is that small (read_dose gives NaN for it).
            said = None
        if state.waiting is not Waiting.LABEL_LINE and (heard or "").lower().removeprefix("the ") == "magnesium":
            label = None  # "the magnesium" answers "which line?"; unasked, "magnesium" names no line at all
        if state.waiting is Waiting.LABEL_LINE and state.dose is not None and label is not None:
            asked = state.dose if said is None else DoseAsked(said, state.dose.form, state.dose.count)
            return answer_dose(self, handler_input, asked, health(handler_input), label)
        if said is not None and label is None:
            # An amount with no line named ("i take one thousand milligram every day, is good?") is a dose question.
            return continue_dose(self, handler_input)
        if said is not None and label is not None:
            # Read out unasked: how labels work, and the amount kept for "is that enough?", which the gate weighs.
            # The elemental line is magnesium itself, so no form may shrink it; a compound's weight with no form
            # known is read as magnesium too, the reading that gives more (never a nudge to take more on a guess).
            form = state.dose.form if label is Label.COMPOUND and state.dose else None
            return self.voice.respond(handler_input, self.answer("label.explain", topic=Topic.DOSE, dose=DoseAsked(said, form)))
        return self.voice.respond(handler_input, self.answer("label.explain"))


class ElementalHandler(Handler):
    """Serve "how much magnesium is in 1000 milligrams of glycinate": the label conversion (S5).

    A converted figure is a dose figure, so with a health mention it is gated too; it carries no
    verdict on the amount, so a conversion never nudges anyone to take more.
    """

    intent = Intent("ElementalIntent", (AMOUNT, UNIT, FORM, CONDITION, AGE))
    keys = ("elemental.explain", "elemental.explain.more", "elemental.converted", "elemental.share", "label.explain")

    def handle(self, handler_input: HandlerInput) -> Response:
        heard = read_dose(handler_input)
        asked, state = heard.asked, state_of(handler_input)
        form = asked.form or (state.dose.form if state.dose else None)
        unit_said = slot(handler_input, "unit")[1] is not None
        amount = asked.amount_mg
        if amount is None and state.topic in (Topic.DOSE, Topic.ELEMENTAL) and state.dose and state.dose.amount_mg:
            # "how much actual magnesium is that?" right after "my label says 1000 mg of glycinate": that amount.
            amount, unit_said = state.dose.amount_mg, True
        return convert(self, handler_input, DoseAsked(amount, form, asked.count), heard.conditions, unit_said=unit_said)


def convert(handler: Handler, handler_input: HandlerInput, asked: DoseAsked, conditions: set[Condition], *,
            unit_said: bool) -> Response:
    """The label conversion for an amount and form, through the gate; a lesson on labels when one is missing."""
    voice, form = handler.voice, asked.form
    if conditions:
        return voice.respond(handler_input, dose_reply(assess_dose(asked.amount_mg, form, conditions), asked=asked))
    if asked.amount_mg is not None and form is None and unit_said:
        # "my supplement has 1000 mg of magnesium": with no form, read as magnesium (the larger
        # reading), so more than 800 mg meets the gate rather than a lesson on labels. A bare
        # number ("it says 1000 but also 140") may be either line: the lesson answers that.
        advice = assess_dose(asked.amount_mg, None, ())
        if advice.tier is Tier.GATED:
            return voice.respond(handler_input, dose_reply(advice, asked=asked))
    # The amount or form said is kept, so "mine says 500 milligrams" after "how much is in glycinate",
    # or "and taurate?" after "how much is in 500 mg", converts.
    kept = DoseAsked(asked.amount_mg, form)
    if asked.amount_mg is None and form is not None:
        # "how much magnesium is in taurate": that form's share, never another form's example.
        share = Line("elemental.share", {"form": form.value, "percent": share_percent(form)})
        return voice.respond(handler_input, Reply([share], done=True, topic=Topic.ELEMENTAL, dose=kept))
    if asked.amount_mg is None:
        # "what does elemental mean on my label", "which number counts": with no amount and no form, how to read a
        # label, the same answer LabelLineIntent gives, since people ask it in the words of either.
        return voice.respond(handler_input, handler.answer("label.explain", offer=False, topic=Topic.ELEMENTAL))
    if form is None:
        return voice.respond(handler_input, handler.answer("elemental.explain", offer=False, topic=Topic.ELEMENTAL,
                                                           dose=kept))
    advice = assess_dose(asked.amount_mg, form, (), Label.COMPOUND)
    if advice.tier in (Tier.INVALID, Tier.GATED):  # gated: even as a compound, more than 800 mg of magnesium
        return voice.respond(handler_input, dose_reply(advice, asked=asked))
    lines = [Line("elemental.converted", _conversion(advice))]
    return voice.respond(handler_input, Reply(lines, done=True, topic=Topic.ELEMENTAL,
                                              dose=DoseAsked(asked.amount_mg, form)))


def handlers(voice: Voice, services: Services) -> list[Handler]:
    """This module's handlers for the builder: doses, always through the gate. A new handler here is registered by its line."""
    return [
        DoseHandler(voice),
        PerCapsuleHandler(voice),
        LabelLineHandler(voice),
        ElementalHandler(voice),
    ]
