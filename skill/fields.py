"""One definition per record (the settings, the stored profile), read with or without pydantic.

A record is a plain dataclass. Each field's type annotation says what it holds, and `spec(...)`
puts the rest beside it: the description, a range, a normaliser that runs before the type check
(`before`) and a check that runs after it (`check`, which returns the value kept or raises
ValueError). From that one definition come two readers:

- the plain readers here, which the Lambda request path uses (pydantic costs a cold start about
  100 ms and 20 MiB): `read_text` takes environment text as pydantic's lax mode takes a `str`, and
  `read_value` takes a stored JSON value (or a Python value handed over in code) as pydantic's
  strict JSON mode does;
- `pydantic_type`, which hands the same rules to pydantic for the web server, the CLI and tests.

tests/test_settings_readers.py and tests/test_profile_models.py run hypothesis over both readers
and hold them to the same answers. Adding a field to a record is one line; a type the readers do
not know fails when the record is first used (at start-up), never on a request.
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

RULE = "skill.fields"  # the key of a field's Rule in dataclasses.field(metadata=...)


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """What a field's type alone does not say."""

    description: str = ""
    ge: float | None = None
    le: float | None = None
    before: Callable[[Any], Any] | None = None  # normalise raw input (a spoken form name) before the type check
    check: Callable[[Any], Any] | None = None  # after the type check: return the value to keep or raise ValueError


def spec(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    description: str = "",
    ge: float | None = None,
    le: float | None = None,
    before: Callable[[Any], Any] | None = None,
    check: Callable[[Any], Any] | None = None,
) -> Any:
    """A dataclass field carrying its Rule (use it as `name: type = spec(default, description=...)`)."""
    rule = Rule(description, ge, le, before, check)
    return dataclasses.field(default=default, default_factory=default_factory, metadata={RULE: rule})


class FieldError(ValueError):
    """One field's value was refused; `field` names it and `reason` says why, for a log or an operator."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# -- the shape of a type, worked out once per field -------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class Kind:
    """A field type reduced to what the readers need: a name, the literal choices, an item kind."""

    name: str  # str, int, float, bool, path, date, literal, list, dict, any
    optional: bool = False
    choices: tuple[Any, ...] = ()
    item: Kind | None = None


_SCALARS: dict[Any, str] = {str: "str", int: "int", float: "float", bool: "bool", Path: "path", date: "date"}


def kind_of(tp: Any) -> Kind:
    """Reduce an annotation to a Kind; a type the readers cannot read is a TypeError at import."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) != 1 or len(get_args(tp)) != 2:
            raise TypeError(f"only `X | None` unions are supported, not {tp!r}")
        inner = kind_of(members[0])
        return Kind(inner.name, True, inner.choices, inner.item)
    if origin is Literal:
        choices = get_args(tp)
        if not all(type(c) is str for c in choices):
            raise TypeError(f"only literals of strings are supported, not {tp!r}")
        return Kind("literal", choices=choices)
    if origin is list:
        return Kind("list", item=kind_of(get_args(tp)[0]))
    if origin is dict:
        key, _ = get_args(tp)
        if key is not str:
            raise TypeError(f"only dict[str, ...] is supported, not {tp!r}")
        return Kind("dict")
    if tp is Any:
        return Kind("any")
    if tp in _SCALARS:
        return Kind(_SCALARS[tp])
    raise TypeError(f"the plain readers cannot read {tp!r}; add it to skill/fields.py and its property test")


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """One field of a record: its name, annotation, kind, rule and dataclass field."""

    name: str
    type: Any
    kind: Kind
    rule: Rule
    field: dataclasses.Field[Any]

    def default(self) -> Any:
        if self.field.default_factory is not dataclasses.MISSING:
            return self.field.default_factory()
        return self.field.default

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


def fresh_state(cls: type) -> dict[str, Any]:
    """Every field of a record at its default, default factories called afresh."""
    cached = cls.__dict__.get("__defaults_of_fields__")
    if cached is None:
        static = {name: s.field.default for name, s in slots(cls).items() if s.field.default_factory is dataclasses.MISSING}
        factories = [(name, s.field.default_factory) for name, s in slots(cls).items() if name not in static]
        cached = (static, factories)
        type.__setattr__(cls, "__defaults_of_fields__", cached)
    static, factories = cached
    state = dict(static)
    for name, factory in factories:
        state[name] = factory()  # type: ignore[operator]  # only fields with a factory are listed here
    return state


def slots(cls: type) -> dict[str, Slot]:
    """The fields of a record dataclass in order, worked out once per class."""
    cached = cls.__dict__.get("__slots_of_fields__")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    # Records are written without `from __future__ import annotations`, so their annotations are
    # already objects: evaluating strings (typing.get_type_hints) would cost a cold start ~2M instructions.
    hints = dict(cls.__annotations__)
    if any(isinstance(tp, str) for tp in hints.values()):
        hints = typing.get_type_hints(cls)
    out = {
        f.name: Slot(f.name, hints[f.name], kind_of(hints[f.name]), f.metadata.get(RULE, Rule()), f)
        for f in dataclasses.fields(cls)
    }
    type.__setattr__(cls, "__slots_of_fields__", out)
    return out


class RecordError(ValueError):
    """Several fields were refused at once; each is a FieldError."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def record(cls: type[R]) -> type[R]:
    """Declare a record: a dataclass whose init, repr and equality come from `Record`.

    `Record.__init__` reads each value given with `read_value`, so a record never holds a value its
    type and rule refuse; @dataclass contributes the field list that `slots` reads.
    """
    return dataclasses.dataclass(init=False, repr=False, eq=False)(cls)


R = typing.TypeVar("R", bound="Record")


class Record:
    """The behaviour of every record: keyword init (each given value read by `read_value`), repr, eq.

    Defaults are trusted, as pydantic trusts them: they are not checked on every construction.
    """

    def __init__(self, **values: Any) -> None:
        fields = slots(type(self))
        state = fresh_state(type(self))
        if values:
            unknown = values.keys() - fields.keys()
            if unknown:
                raise TypeError(f"{type(self).__name__} has no field(s) {', '.join(sorted(unknown))}")
            errors: list[FieldError] = []
            for name, value in values.items():
                slot = fields[name]
                if value is not slot.field.default:
                    try:
                        value = read_value(slot, value)
                    except FieldError as exc:
                        errors.append(exc)
                        continue
                state[name] = value
            if errors:
                raise errors[0] if len(errors) == 1 else RecordError(errors)
        self.__dict__.update(state)  # not setattr: a frozen record refuses it, and the values are read

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in slots(type(self)))
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in slots(type(self)))

    __hash__ = None  # type: ignore[assignment]

    def replace(self: R, **changes: Any) -> R:
        """A copy with some fields changed; the changed values are checked."""
        return type(self)(**({name: getattr(self, name) for name in slots(type(self))} | changes))


# -- the plain reader of environment text (pydantic's lax str conversions) -----------------------

# Rust's str::trim(), which pydantic-core uses, strips Unicode White_Space; Python's str.strip()
# strips a slightly different set (it includes \x1c-\x1f), so the set is spelt out.
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_TRUE = frozenset({"1", "t", "y", "on", "yes", "true"})
_FALSE = frozenset({"0", "f", "n", "no", "off", "false"})
# Compiled on first use (re.compile costs a cold start ~0.1 ms each; most starts read no number).
_JSON_INT = r"-?(?:0|[1-9][0-9]*)\Z"
_RUST_FLOAT = r"(?i)[+-]?(?:inf|infinity|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)\Z"
_INT_DIGITS_LIMIT = 4300  # Python's own limit on int(str), which pydantic-core applies too


def _strip_underscores(s: str) -> str | None:
    """1_000 -> 1000, as Python allows; None when there is nothing (valid) to strip."""
    if s.startswith("_") or s.endswith("_") or "_" not in s or "__" in s:
        return None
    return s.replace("_", "")


def _strip_leading_zeros(s: str) -> str | None:
    """pydantic-core's rule: keep one zero (and the one before a dot); None for a non-number start."""
    if not s:
        return None
    if s[0] != "0":
        return s if s[0] in "123456789-" else None
    for i in range(1, len(s)):
        c = s[i]
        if c in "0_":
            continue
        if c in "123456789-":
            return s[i:]
        if c == ".":
            return s[i - 1:]
        return None
    return s[-1]


def _clean_int_text(s: str) -> str | None:
    """pydantic-core's second try at an int: trim, one sign, leading zeros, `.000`, underscores."""
    before = len(s)
    s = s.strip(WHITE_SPACE)
    if s.startswith("+"):
        if s[1:].startswith("-"):
            return None
        s = s[1:]
    negative = s.startswith("-")
    if negative:
        if s[1:].startswith(("-", "+")):
            return None
        s = s[1:]
    stripped = _strip_leading_zeros(s)
    if stripped is None:
        return None
    s = stripped
    dot = s.find(".")
    if dot >= 0 and s[dot + 1:] and set(s[dot + 1:]) == {"0"}:
        s = s[:dot]
    sign = "-" if negative else ""
    no_underscores = _strip_underscores(s)
    if no_underscores is not None:
        return sign + no_underscores
    if before == len(s):
        return None
    return sign + s


def _int_from_text(text: str) -> int:
    for candidate in (text, _clean_int_text(text)):
        if candidate is not None and re.match(_JSON_INT, candidate):
            if len(candidate.lstrip("-")) > _INT_DIGITS_LIMIT:
                raise ValueError("a number with too many digits")
            return int(candidate)
    raise ValueError("not a whole number")


def _float_from_text(text: str) -> float:
    trimmed = text.strip(WHITE_SPACE)
    if re.match(_RUST_FLOAT, trimmed):
        return float(trimmed)
    stripped = _strip_underscores(text)
    if stripped is not None and re.match(_RUST_FLOAT, stripped):
        return float(stripped)
    raise ValueError("not a number")


def _bool_from_text(text: str) -> bool:
    lowered = text.lower() if text.isascii() else text
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("not true or false (use true/false, yes/no, on/off or 1/0)")


def _from_text(kind: Kind, text: str) -> Any:
    name = kind.name
    if name == "str":
        return text
    if name == "bool":
        return _bool_from_text(text)
    if name == "int":
        return _int_from_text(text)
    if name == "float":
        return _float_from_text(text)
    if name == "path":
        return Path(text)
    if name == "literal":
        if text in kind.choices:
            return text
        raise ValueError(f"must be one of {', '.join(kind.choices)}")
    raise TypeError(f"a {name} cannot be read from environment text")


# -- the plain reader of values (pydantic's strict JSON mode, plus the Python objects code passes) --

def _str(kind: Kind, value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise ValueError("must be text")


def _bool(kind: Kind, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


def _int(kind: Kind, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("must be a whole number")


def _float(kind: Kind, value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError("must be a number")


def _path(kind: Kind, value: Any) -> Any:
    if isinstance(value, Path):
        return value
    if isinstance(value, str):
        return Path(value)
    raise ValueError("must be a path")


@lru_cache(maxsize=4096)  # a person's dose nights come back on every request: parse each once
def _iso_date(text: str) -> date | None:
    if not re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", text):
        return None  # date.fromisoformat alone would also take 20261101 and 2026-W44-1
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _date(kind: Kind, value: Any) -> Any:
    if type(value) is date:  # not a datetime, which is a date too
        return value
    parsed = _iso_date(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError("must be a date written YYYY-MM-DD")
    return parsed


def _literal(kind: Kind, value: Any) -> Any:
    if isinstance(value, str) and value in kind.choices:
        return value
    raise ValueError(f"must be one of {', '.join(kind.choices)}")


def _list(kind: Kind, value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError("must be a list")
    assert kind.item is not None
    item_kind, read_item = kind.item, _VALUE_READERS[kind.item.name]
    return [read_item(item_kind, item) for item in value]


def _dict(kind: Kind, value: Any) -> Any:
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return dict(value)
    raise ValueError("must be an object with text keys")


def _any(kind: Kind, value: Any) -> Any:
    return value


_VALUE_READERS: dict[str, Callable[[Kind, Any], Any]] = {
    "str": _str, "bool": _bool, "int": _int, "float": _float, "path": _path, "date": _date,
    "literal": _literal, "list": _list, "dict": _dict, "any": _any,
}


def _finish(slot: Slot, value: Any) -> Any:
    """The range and the check, after the type: in pydantic's order."""
    rule = slot.rule
    if value is not None and (rule.ge is not None or rule.le is not None):
        if rule.ge is not None and not value >= rule.ge:
            raise ValueError(f"must be at least {_number(rule.ge)}")
        if rule.le is not None and not value <= rule.le:
            raise ValueError(f"must be at most {_number(rule.le)}")
    return rule.check(value) if rule.check is not None else value


def _number(limit: float) -> str:
    return str(int(limit)) if float(limit).is_integer() else str(limit)


def read_text(slot: Slot, text: str) -> Any:
    """Read one field from environment text; FieldError says what was wrong."""
    try:
        return _finish(slot, _from_text(slot.kind, text))
    except ValueError as exc:
        raise FieldError(slot.name, str(exc)) from None


def read_value(slot: Slot, value: Any) -> Any:
    """Read one field from a stored JSON value or a value passed in code; FieldError says what was wrong."""
    try:
        if slot.rule.before is not None:
            value = slot.rule.before(value)
        if value is None:
            if not slot.kind.optional:
                raise ValueError("must not be empty")
            return _finish(slot, None)
        return _finish(slot, _VALUE_READERS[slot.kind.name](slot.kind, value))
    except ValueError as exc:
        raise FieldError(slot.name, str(exc)) from None


def to_json(value: Any) -> Any:
    """A field value as JSON data: dates as YYYY-MM-DD, paths as text, lists item by item."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


def read_env(cls: type, environ: Mapping[str, str], prefix: str) -> dict[str, Any]:
    """Every field of `cls` set in `environ` as PREFIX_NAME (any case, as pydantic-settings reads it)."""
    lowered = {key.lower(): value for key, value in environ.items()}
    found: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, slot in slots(cls).items():
        text = lowered.get(f"{prefix}{name}".lower())
        if text is None:
            continue
        try:
            found[name] = read_text(slot, text)
        except FieldError as exc:
            errors.append(exc)
    if errors:
        raise RecordError(errors)
    return found


# -- the same rules, handed to pydantic (web, CLI, tests) ----------------------------------------

def pydantic_type(slot: Slot) -> Any:
    """The field's annotation with its range, description and checks in pydantic's own terms."""
    from pydantic import AfterValidator, BeforeValidator, Field

    rule = slot.rule
    extras: list[Any] = [Field(description=rule.description or None, ge=rule.ge, le=rule.le)]
    if rule.before is not None:
        extras.insert(0, BeforeValidator(rule.before))
    if rule.check is not None:
        extras.append(AfterValidator(rule.check))
    return typing.Annotated[(slot.type, *extras)]  # type: ignore[misc]


def pydantic_settings_model(cls: type, prefix: str) -> Any:
    """A pydantic-settings model of a record: the same fields, defaults and rules, read from PREFIX_*."""
    from pydantic import create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class Base(BaseSettings):
        model_config = SettingsConfigDict(env_prefix=prefix, extra="ignore")

    fields = {name: (pydantic_type(slot), slot.field.default) for name, slot in slots(cls).items()}
    return create_model(cls.__name__, __base__=Base, **fields)  # type: ignore[call-overload]


def pydantic_reader() -> Callable[[Slot, Any], Any]:
    """Read one field as pydantic's strict JSON mode does: the reference the plain `read_value` meets.

    Stored rows are JSON, so this is how pydantic would read them; tests and tools use it.
    """
    import json

    from pydantic import TypeAdapter, ValidationError

    adapters: dict[int, Any] = {}

    def read(slot: Slot, value: Any) -> Any:
        adapter = adapters.get(id(slot))
        if adapter is None:
            adapter = adapters[id(slot)] = TypeAdapter(pydantic_type(slot))
        try:
            text = json.dumps(value, default=to_json)
        except (TypeError, ValueError) as exc:
            raise FieldError(slot.name, str(exc)) from None
        try:
            return adapter.validate_json(text, strict=True)
        except ValidationError as exc:
            raise FieldError(slot.name, exc.errors()[0]["msg"]) from None

    return read
