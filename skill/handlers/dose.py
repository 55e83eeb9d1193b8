"""Dose questions. Every one goes through `assess_dose`, whose safety gate runs first."""
from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput

from ask_sdk_model import Response

from skill.handlers.base import Handler, remember_condition, session_conditions, slot
from skill.knowledge import Condition, DoseAdvice, Form, Gate, Tier, assess_dose, parse_amount, parse_condition, parse_form
from skill.speech import Line, Reply, fmt_mg


def dose_reply(advice: DoseAdvice, *, lead: list[Line] | None = None) -> Reply:
    """Say a dose decision: the gate's "ask your doctor", or the tier with its caveats.

    This is the one place dose advice becomes speech, so the caveat and the disclaimer cannot be
    forgotten by any path that gives a dose.
    """
    lines = list(lead or [])
    if advice.tier is Tier.GATED:
        for gate in advice.gates:
            params = {"amount": fmt_mg(advice.elemental_mg)} if gate is Gate.OVER_800 and advice.elemental_mg else {}
            lines.append(Line(f"gate.{gate.value}", params))
        lines.append(Line("disclaimer"))
        return Reply(lines, ask=Line("anything_else"))
    if advice.tier is Tier.INVALID:
        return Reply(lines, ask=Line("dose.invalid"))
    if advice.tier is Tier.GENERAL:
        lines += [Line("dose.general"), Line("dose.caveat"), Line("disclaimer")]
        return Reply(lines, ask=Line("offer_more"), more="dose.general.more")
    assert advice.elemental_mg is not None and advice.stated_mg is not None
    if advice.converted and not lead:
        lines.append(Line("dose.converted", _conversion(advice)))
    lines.append(Line(f"dose.{advice.tier.value}", {"amount": fmt_mg(advice.elemental_mg)}))
    if advice.above_upper_limit:
        lines.append(Line("dose.upper_limit"))
    lines += [Line("dose.caveat"), Line("disclaimer")]
    return Reply(lines, ask=Line("anything_else"))


def _conversion(advice: DoseAdvice) -> dict[str, str]:
    assert advice.form is not None and advice.stated_mg is not None and advice.elemental_mg is not None
    return {"stated": fmt_mg(advice.stated_mg), "form": advice.form.value, "elemental": fmt_mg(advice.elemental_mg)}


def _read(handler_input: HandlerInput) -> tuple[float | None, Form | None, set[Condition]]:
    """Amount in mg, form and conditions from the slots, plus conditions named earlier this session."""
    _, amount = slot(handler_input, "amount")
    unit_id, unit_heard = slot(handler_input, "unit")
    form_id, form_heard = slot(handler_input, "form")
    cond_id, cond_heard = slot(handler_input, "condition")
    conditions = session_conditions(handler_input)
    named = parse_condition(cond_id) or parse_condition(cond_heard)
    if named is not None:
        remember_condition(handler_input, named)
        conditions.add(named)
    return parse_amount(amount, unit_id or unit_heard), parse_form(form_id) or parse_form(form_heard), conditions


class DoseHandler(Handler):
    """Serve "how much magnesium should I take" and "is 500 milligrams too much"."""

    intents = ("DoseIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        amount, form, conditions = _read(handler_input)
        return self.voice.respond(handler_input, dose_reply(assess_dose(amount, form, conditions)))


class ElementalHandler(Handler):
    """Serve "how much magnesium is in 1000 milligrams of glycinate": the label conversion (S5).

    A converted figure is a dose figure, so with an amount and a form it goes through the gate too.
    """

    intents = ("ElementalIntent",)

    def handle(self, handler_input: HandlerInput) -> Response:
        amount, form, conditions = _read(handler_input)
        if amount is None or form is None:
            return self.voice.respond(handler_input, self.answer("elemental.explain"))
        advice = assess_dose(amount, form, conditions)
        if advice.tier in (Tier.GATED, Tier.INVALID) or not advice.converted:
            return self.voice.respond(handler_input, dose_reply(advice))
        lead = [Line("elemental.converted", _conversion(advice))]
        return self.voice.respond(handler_input, dose_reply(advice, lead=lead))
