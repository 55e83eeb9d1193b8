"""What the skill knows, as plain Python: no Alexa types, no sentences, just decisions and data.

The voice layer turns these answers into speech through the content files; tests can ask the
knowledge layer questions with no request envelope at all.
"""
from skill.knowledge.dose import DoseAdvice, Label, Tier, amount_for_the_day, assess_dose, parse_amount
from skill.knowledge.facts import FACT_IDS, is_fact_id
from skill.knowledge.forms import ELEMENTAL_SHARE, Form, Need, advise_form, elemental_mg, parse_form, parse_need
from skill.knowledge.topics import Food, Mechanism, Symptom, Times, Uncovered, Unit, is_warning_sign
from skill.knowledge.safety import (DOCTOR_ONLY_ABOVE_MG, Condition, Gate, age_mention, health_mention, parse_condition,
                                    safety_gate)

__all__ = [
    "age_mention",
    "DOCTOR_ONLY_ABOVE_MG",
    "ELEMENTAL_SHARE",
    "FACT_IDS",
    "Condition",
    "Mechanism",
    "Symptom",
    "Food",
    "Times",
    "Uncovered",
    "Unit",
    "is_warning_sign",
    "DoseAdvice",
    "Form",
    "Gate",
    "Label",
    "Need",
    "Tier",
    "advise_form",
    "assess_dose",
    "elemental_mg",
    "is_fact_id",
    "parse_amount",
    "amount_for_the_day",
    "health_mention",
    "parse_condition",
    "parse_form",
    "parse_need",
    "safety_gate",
]
