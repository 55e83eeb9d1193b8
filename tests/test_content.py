"""The content files: validated at start-up, complete for every key the code can ask for, covering every fact."""
from __future__ import annotations

import pytest

from skill.content import ContentError, load_catalog, parse_catalog
from skill.builder import declared_handlers
from skill.content import available_locales
from skill.knowledge import Condition, Form, Gate, Need, Tier
from skill.knowledge.facts import FACT_IDS, top_level

catalog = load_catalog("en-US")


def test_every_fact_of_the_sheet_is_used_by_some_entry() -> None:
    used = {fact for _, entry in catalog.items() for fact in entry.facts}
    missing = {f for f in FACT_IDS if f not in used and not any(top_level(u) == f for u in used)}
    assert not missing, f"facts no one can hear: {sorted(missing)}"
    assert {f"A{n}" for n in range(1, 15)} | {f"S{n}" for n in range(1, 7)} | {f"T{n}" for n in range(1, 7)} \
        <= {top_level(f) for f in used}


def test_every_key_the_code_can_build_exists() -> None:
    keys = (
        [f"form.info.{f.value}" for f in Form]
        + [f"form.advice.{n.value}" for n in Need]
        + [f"safety.{c.value}" for c in Condition]
        + [f"gate.{g.value}" for g in Gate]
        + [f"dose.{t.value}" for t in Tier if t is not Tier.GATED]
        + [key for handler in declared_handlers() for key in handler.keys]
    )
    catalog.require(keys)


def test_every_locale_has_every_key_of_en_us() -> None:
    for locale in available_locales():
        assert set(load_catalog(locale)) == set(catalog), locale


def test_every_question_has_a_reprompt_and_every_variant_has_words() -> None:
    for key, entry in catalog.items():
        assert all(s.strip() for s in entry.say), key
        if entry.ask:
            assert entry.reprompt, key


def test_first_answers_are_short_and_details_come_in_parts() -> None:
    for key, entry in catalog.items():
        # Details and the breathing exercise are long by design; everything a person hears first is short.
        limit = 90 if key.endswith(".more") or key == "routine.breathe" else 40
        for variant in entry.say:
            assert len(variant.split()) <= limit, f"{key}: {len(variant.split())} words"


def test_the_article_calls_magnesium_a_trace_element_but_the_skill_does_not() -> None:
    for key, entry in catalog.items():
        assert not any("trace element" in s.lower() for s in entry.say), key


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[a]\nsay = ["Hi."]\nfacts = ["A99"]', "unknown fact id"),
        ('[a]\nsay = [""]', "at least 1 character"),
        ('[a]\nsay = []', "at least 1 item"),
        ('[a]\nsay = ["Which one?"]\nask = true', "needs a reprompt"),
        ('[a]\nsay = ["{x} mg", "{y} mg"]', "different {placeholders}"),
        ('[a]\nsay = ["Hi."]\nloud = true', "Extra inputs"),
        ("[a\nsay=", "a.toml"),
    ],
)
def test_a_broken_content_file_stops_the_start_with_a_clear_message(text: str, problem: str) -> None:
    with pytest.raises(ContentError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        parse_catalog({"a.toml": text}, "en-US")


def test_a_key_the_code_needs_but_the_files_lack_stops_the_start() -> None:
    small = parse_catalog({"a.toml": '[a]\nsay = ["Hi {name}."]'}, "en-US")
    with pytest.raises(ContentError, match="missing entry 'b'"):
        small.require(["b"])
    with pytest.raises(ContentError, match="needs fields"):
        small.require({"a": frozenset({"other"})})


def test_every_key_named_in_the_code_exists() -> None:
    # Keys written out in handlers are checked here, so a typo fails the build, not a night.
    import re
    from pathlib import Path

    source = "\n".join(p.read_text() for p in (Path(__file__).parent.parent / "skill").rglob("*.py"))
    named = set(re.findall(r'(?:Line|phrase)\(\s*"([a-z_][a-z0-9_.]*)"', source))
    assert len(named) > 30
    assert sorted(k for k in named if k not in catalog) == []


def test_no_sentence_states_a_time_before_bed_as_a_finding() -> None:
    # T1: the sources name no best time; a number of minutes or hours before bed would sound like a finding.
    import re

    before_bed = re.compile(r"\b(?:minutes?|hours?|an hour)\b[^.]*\bbefore (?:bed|sleep)", re.I)
    for key, entry in catalog.items():
        for variant in entry.say + entry.reprompt:
            assert not before_bed.search(variant), f"{key}: {variant!r}"
