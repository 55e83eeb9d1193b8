"""The content files: validated at build, compiled for the runtime, complete for every key the code can ask for, covering every fact."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skill.builder import declared_handlers
from skill.content.source import locale_files
from skill.content import (
    COMPILED_DIR,
    CONTENT_DIR,
    ContentError,
    available_locales,
    compile_catalogs,
    fingerprint,
    load_catalog,
    parse_catalog,
    source_files,
)
from skill.knowledge import Condition, Form, Gate, Need, Tier
from skill.knowledge.facts import FACT_IDS, top_level

catalog = load_catalog("en-US")


def test_every_fact_of_the_sheet_is_used_by_some_entry() -> None:
    used = {fact for _, entry in catalog.items() for fact in entry.facts}
    # U1-U4 are the other English markets' limits: heard once those locales ship (en-US speaks U5).
    not_shipped = {f"U{n}" for n in range(1, 5)}
    missing = {f for f in FACT_IDS - not_shipped if f not in used and not any(top_level(u) == f for u in used)}
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


# -- compiled at build time, loaded without pydantic --------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
LOCALES = sorted(p.name for p in CONTENT_DIR.iterdir() if p.is_dir() and list(p.glob("*.toml")))


def toml_catalog(locale: str):  # type: ignore[no-untyped-def]
    files = {name: data.decode("utf-8") for name, data in locale_files(CONTENT_DIR / locale).items()}
    return parse_catalog(files, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalog_says_exactly_what_the_toml_says(locale: str) -> None:
    compiled = load_catalog(locale)  # the checked-in JSON, read without validation

    assert compiled == toml_catalog(locale)  # every key, in order, every field of every entry
    assert len(list(compiled)) > 100


def test_the_checked_in_compiled_content_is_current(tmp_path: Path) -> None:
    # Edit the TOML, then run `make content` (or `python -m skill.content`): this test says when you forgot.
    written = compile_catalogs(tmp_path)

    assert sorted(p.name for p in written) == sorted(p.name for p in COMPILED_DIR.glob("*.json"))
    for fresh in written:
        assert fresh.read_bytes() == (COMPILED_DIR / fresh.name).read_bytes(), f"run `make content`: {fresh.name} is stale"


def test_what_people_say_is_not_read_as_what_the_skill_says() -> None:
    # Sentences and slot words sit in folders beside the content: the catalog is the top-level files only.
    folder = CONTENT_DIR / "en-US"
    assert (folder / "sentences" / "DoseIntent.toml").exists() and (folder / "slot_types" / "FormType.toml").exists()

    files = source_files(folder)

    assert set(files) == {path.name for path in folder.glob("*.toml")}
    assert not any(key.startswith(("samples", "invocation", "glycinate")) for key in load_catalog("en-US"))


def test_the_loader_validates_the_toml_when_the_compiled_form_is_stale(tmp_path: Path) -> None:
    # A writer edits content and restarts the server before compiling: they hear the TOML, not old JSON.
    code = """
import json, sys
from pathlib import Path
import skill.content as content
content.COMPILED_DIR = Path(sys.argv[1])
catalog = content.load_catalog("en-US")
print(json.dumps({"pydantic": "pydantic" in sys.modules, "launch": catalog["launch"].say[0]}))
"""
    stale = json.loads((COMPILED_DIR / "en-US.json").read_text(encoding="utf-8"))
    stale["sources"] = "0" * 64
    stale["entries"]["launch"]["say"] = ["Old words."]
    (tmp_path / "en-US.json").write_text(json.dumps(stale), encoding="utf-8")

    def load(compiled_dir: Path) -> tuple[dict[str, object], str]:
        done = subprocess.run([sys.executable, "-c", code, str(compiled_dir)], capture_output=True, text=True,
                              cwd=ROOT, timeout=60, check=True)
        return json.loads(done.stdout), done.stderr

    current, quiet = load(COMPILED_DIR)
    assert current["pydantic"] is False and quiet == ""  # the compiled form is read as it is
    fallback, warned = load(tmp_path)
    assert fallback["pydantic"] is True and fallback["launch"] == current["launch"] != "Old words."
    assert "older than its TOML" in warned and "make content" in warned


def test_the_fingerprint_follows_every_byte_and_name_of_the_sources() -> None:
    files = source_files(CONTENT_DIR / "en-US")
    changed = dict(files, **{"core.toml": files["core.toml"] + b"\n"})
    renamed = {("x" + name if name == "core.toml" else name): data for name, data in files.items()}

    assert len({fingerprint(files), fingerprint(changed), fingerprint(renamed)}) == 3


def test_a_locale_that_is_not_a_locale_is_refused() -> None:
    for bad in ("../../etc", "en-US/../en-US", "", "xx-YY"):
        with pytest.raises(ContentError, match="no content for locale"):
            load_catalog(bad)
