"""One Settings definition, two readers: the plain one (Lambda) and pydantic-settings (web, CLI) agree.

Whatever an operator puts in BEDTIME_*, both readers accept it with the same values or both refuse
it, naming the same variables. Hypothesis writes the environments: well-formed values, values that
are nearly well-formed (signs, spaces, underscores, odd case) and plain noise.
"""
from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any, Literal
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from skill import fields
from skill.fields import FieldError, Kind, Record, RecordError, read_env, record, slots, spec
from skill.settings import ENV_PREFIX, Settings

PROBE_PREFIX = "PROBE_"

# -- environments ---------------------------------------------------------------------------------

SPACE = st.sampled_from(["", "", "", " ", "\t", "\n", "  ", "\xa0", "\u3000"])
BOOL_WORDS = ["0", "1", "t", "f", "y", "n", "yes", "no", "on", "off", "true", "false"]


def _mixed_case(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda ups: "".join(c.upper() if up else c for c, up in zip(word, ups))
    )


@st.composite
def number_text(draw: st.DrawFn) -> str:
    """Numbers as people (and scripts) write them: signs, zeros, underscores, decimals, exponents, spaces."""
    digits = draw(st.from_regex(r"[0-9]{1,6}", fullmatch=True))
    if draw(st.booleans()) and len(digits) > 1:
        cut = draw(st.integers(1, len(digits) - 1))
        digits = digits[:cut] + draw(st.sampled_from(["_", "__", "."])) + digits[cut:]
    sign = draw(st.sampled_from(["", "", "-", "+", "+-", "--"]))
    tail = draw(st.sampled_from(["", "", ".0", ".00", ".", ".5", "e2", "E-1", "_", "0"]))
    return draw(SPACE) + sign + digits + tail + draw(SPACE)


NOISE = st.text(alphabet="0123456789+-._eEinfatrusyoINF \t\nAZaz/", max_size=12)
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=8)  # an environment holds neither NUL nor lone surrogates


def text_for(kind: Kind) -> st.SearchStrategy[str]:
    """Text aimed at one kind of field, mixed with noise."""
    aimed: list[st.SearchStrategy[str]] = [NOISE, ANY_TEXT]
    if kind.name == "bool":
        aimed += [st.sampled_from(BOOL_WORDS).flatmap(_mixed_case), st.tuples(SPACE, st.sampled_from(BOOL_WORDS)).map("".join)]
    elif kind.name in ("int", "float"):
        aimed += [number_text(), number_text(), st.sampled_from(["inf", "-Infinity", "nan", "NaN", "1e400", "1_e10"])]
    elif kind.name == "literal":
        aimed += [st.sampled_from(kind.choices), st.sampled_from(kind.choices).flatmap(_mixed_case)]
    elif kind.name == "str":
        aimed += [st.sampled_from(["", "America/New_York", "Europe/London", "Mars/Base", " UTC", "en-US"])]
    return st.one_of(aimed)


@st.composite
def environments(draw: st.DrawFn, cls: type, prefix: str) -> dict[str, str]:
    """Some of the record's variables (any case, as an operator might type them) and some others."""
    env: dict[str, str] = {}
    for name, slot in slots(cls).items():
        if draw(st.integers(0, 3)) == 0:
            key = draw(st.sampled_from([f"{prefix}{name}".upper(), f"{prefix}{name}".lower(), f"{prefix}{name.upper()}"]))
            env[key] = draw(text_for(slot.kind))
    env |= draw(st.dictionaries(st.sampled_from(["PATH", "HOME", f"{prefix}WORKERS", f"{prefix}NOT_A_SETTING"]),
                                ANY_TEXT, max_size=2))
    return env


# -- the two readers, as outcomes that can be compared ------------------------------------------

def plain_outcome(cls: type, env: dict[str, str]) -> tuple[str, Any]:
    try:
        values = read_env(cls, env, prefix_of(cls))
        return "ok", comparable(cls(**values))
    except RecordError as exc:
        return "refused", {e.field for e in exc.errors}
    except FieldError as exc:
        return "refused", {exc.field}


def pydantic_outcome(cls: type, env: dict[str, str]) -> tuple[str, Any]:
    model = settings_model() if cls is Settings else fields.pydantic_settings_model(cls, prefix_of(cls))
    with mock.patch.dict(os.environ, env, clear=True):
        try:
            values = model().model_dump()
        except ValidationError as exc:
            return "refused", {str(e["loc"][0]) for e in exc.errors()}
    return "ok", comparable(cls(**values))


def settings_model() -> Any:
    """The model the web server and the CLI read Settings with."""
    from skill.settings import pydantic_settings_model

    return pydantic_settings_model()


def prefix_of(cls: type) -> str:
    return ENV_PREFIX if cls is Settings else PROBE_PREFIX


def comparable(obj: Any) -> dict[str, Any]:
    """Field values, with NaN made equal to itself."""
    return {name: "nan" if isinstance(v, float) and math.isnan(v) else v
            for name, v in ((n, getattr(obj, n)) for n in slots(type(obj)))}


# -- the real settings ----------------------------------------------------------------------------

@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(environments(Settings, ENV_PREFIX))
@example({"BEDTIME_TIMESTAMP_TOLERANCE": " 0_300 "})
@example({"bedtime_seed": "0-5", "BEDTIME_VERIFY_SIGNATURE": "OFF"})
@example({"BEDTIME_DEFAULT_TIME_ZONE": "Mars/Base", "BEDTIME_PERSISTENCE": "SQLite"})
@example({"BEDTIME_SKILL_ID": "", "BEDTIME_MAX_BODY_BYTES": "1e4"})
def test_both_readers_give_the_same_settings_or_refuse_the_same_variables(env: dict[str, str]) -> None:
    assert plain_outcome(Settings, env) == pydantic_outcome(Settings, env)


# -- every kind the plain reader knows, on a record made for the test ------------------------------


def _even(value: int) -> int:
    if value % 2:
        raise ValueError("must be even")
    return value


@record
class Probe(Record):
    """One field of each kind and rule the readers support, so a setting added later is covered."""

    text: str = spec("x")
    maybe_text: str | None = spec(None)
    flag: bool = spec(False)
    count: int = spec(1, ge=-5, le=10**6)
    maybe_count: int | None = spec(None)
    even: int = spec(2, check=_even)
    ratio: float = spec(0.5)
    bounded_ratio: float | None = spec(None, ge=0.0, le=1.0)
    where: Path = spec(Path("."))
    maybe_where: Path | None = spec(None)
    choice: Literal["a", "bc"] = spec("a")
    maybe_choice: Literal["a", "bc"] | None = spec(None)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(environments(Probe, PROBE_PREFIX))
@example({"PROBE_RATIO": " 1_0 "})
@example({"PROBE_RATIO": "1_e10", "PROBE_COUNT": "00.000"})
@example({"PROBE_BOUNDED_RATIO": "nan", "PROBE_EVEN": "3"})
@example({"PROBE_FLAG": " true"})
def test_every_supported_kind_reads_the_same_both_ways(env: dict[str, str]) -> None:
    assert plain_outcome(Probe, env) == pydantic_outcome(Probe, env)


# -- what the plain reader promises, said plainly ---------------------------------------------------

def test_the_lambda_reads_bedtime_variables_without_pydantic() -> None:
    env = {"BEDTIME_PERSISTENCE": "none", "bedtime_verify_signature": "no", "BEDTIME_TIMESTAMP_TOLERANCE": " 300 "}

    read = Settings.from_env(env, data_dir="/tmp/bedtime")

    assert (read.persistence, read.verify_signature, read.timestamp_tolerance) == ("none", False, 300)
    assert read.data_dir == Path("/tmp/bedtime")  # an override wins, as the Lambda entry uses it


def test_every_bad_variable_is_named_at_once() -> None:
    env = {"BEDTIME_TIMESTAMP_TOLERANCE": "0", "BEDTIME_SEED": "lots", "BEDTIME_LOG_LEVEL": "LOUD"}

    with pytest.raises(RecordError) as refused:
        Settings.from_env(env)

    assert {e.field for e in refused.value.errors} == {"timestamp_tolerance", "seed", "log_level"}
    assert "must be at least 1" in str(refused.value)


def test_values_given_in_code_are_checked_and_settings_do_not_change() -> None:
    with pytest.raises(ValueError, match="persistence: must be one of sqlite, dynamodb, none"):
        Settings(persistence="floppy")
    chosen = Settings(_env_file=None, seed=7)  # the pydantic-settings call shape still works

    with pytest.raises(dataclasses.FrozenInstanceError):
        chosen.seed = 8  # type: ignore[misc]
    assert chosen.replace(seed=8).seed == chosen.model_copy(update={"seed": 8}).seed == 8
    assert dataclasses.replace(chosen, alexa_api=False) == Settings(seed=7, alexa_api=False)


def test_the_settings_are_one_definition() -> None:
    # pydantic's model is built from the dataclass: same names, defaults and descriptions.
    model = settings_model()
    ours = {f.name: f for f in dataclasses.fields(Settings)}
    assert list(model.model_fields) == list(ours)
    for name, info in model.model_fields.items():
        assert info.default == ours[name].default, name
        assert info.description and info.description == slots(Settings)[name].rule.description, name


def test_a_type_the_readers_cannot_read_is_refused_when_the_record_is_first_used() -> None:
    @record
    class Unreadable(Record):
        tags: set[str] = spec(default_factory=set)

    with pytest.raises(TypeError, match="cannot read"):
        Unreadable()
