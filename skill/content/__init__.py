"""Every sentence the skill speaks, loaded from TOML and validated once at start-up.

An entry is addressed by a dotted key (`dose.everyday`) and holds spoken variants, a reprompt
when it asks something, optional card text, and the fact ids it rests on.
"""
from __future__ import annotations

import string
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from skill.knowledge.facts import is_fact_id

Sentence = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1500)]


# What people say (the interaction model's samples and slot synonyms) sits beside what the skill says,
# in each locale's folder; it is for the model generator, not part of the spoken catalog.
SAMPLES_FILE = "samples.toml"


class ContentError(RuntimeError):
    """The content files are wrong; raised at start-up so that no user ever hears the mistake."""


def placeholders(text: str) -> frozenset[str]:
    """Name the {fields} a sentence needs."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


class Entry(BaseModel):
    """One thing the skill can say, in a few wordings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    say: list[Sentence] = Field(min_length=1)
    facts: list[str] = Field(default_factory=list)
    ask: bool = False  # the entry ends with a question, so the session stays open
    reprompt: list[Sentence] = Field(default_factory=list)
    title: str | None = None
    card: str | None = None

    @field_validator("facts")
    @classmethod
    def _known_facts(cls, facts: list[str]) -> list[str]:
        unknown = [f for f in facts if not is_fact_id(f)]
        if unknown:
            raise ValueError(f"unknown fact id(s) {', '.join(unknown)}")
        return facts

    @model_validator(mode="after")
    def _consistent(self) -> "Entry":
        if self.ask and not self.reprompt:
            raise ValueError("an entry that asks a question needs a reprompt")
        # Every wording must take the same fields, or one variant would fail at render time.
        fields = {placeholders(s) for s in self.say}
        if len(fields) > 1:
            raise ValueError("variants of one entry use different {placeholders}")
        return self

    @property
    def fields(self) -> frozenset[str]:
        return placeholders(self.say[0])


class Catalog:
    """The validated content of one locale, looked up by key."""

    def __init__(self, entries: Mapping[str, Entry], locale: str) -> None:
        self.locale = locale
        self._entries = dict(entries)

    def __getitem__(self, key: str) -> Entry:
        try:
            return self._entries[key]
        except KeyError:
            raise KeyError(f"no content entry {key!r} in {self.locale}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def items(self) -> Iterator[tuple[str, Entry]]:
        return iter(self._entries.items())

    def require(self, keys: Mapping[str, frozenset[str]] | list[str]) -> None:
        """Fail at start-up when code needs a key (with these fields) the files do not have."""
        wanted = keys if isinstance(keys, Mapping) else {k: frozenset() for k in keys}
        problems = []
        for key, fields in wanted.items():
            if key not in self._entries:
                problems.append(f"missing entry {key!r}")
            elif fields and self._entries[key].fields - fields:
                missing = sorted(self._entries[key].fields - fields)
                problems.append(f"entry {key!r} needs fields the code does not give: {missing}")
        if problems:
            raise ContentError(f"content for {self.locale}: " + "; ".join(problems))


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Walk nested TOML tables; a table with a `say` key is an entry."""
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and "say" in value:
            yield key, value
            nested = {k: v for k, v in value.items() if isinstance(v, Mapping)}
            yield from _flatten(nested, f"{key}.")
        elif isinstance(value, Mapping):
            yield from _flatten(value, f"{key}.")
        else:
            raise ContentError(f"{key}: expected a table of entries, found {type(value).__name__}")


def parse_catalog(files: Mapping[str, str], locale: str) -> Catalog:
    """Validate TOML texts (name -> text) into a catalog, naming every problem at once."""
    entries: dict[str, Entry] = {}
    problems: list[str] = []
    for name, text in sorted(files.items()):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{name}: {exc}")
            continue
        try:
            flat = list(_flatten(data))
        except ContentError as exc:
            problems.append(f"{name}: {exc}")
            continue
        for key, raw in flat:
            raw = {k: v for k, v in raw.items() if not isinstance(v, Mapping)}
            if key in entries:
                problems.append(f"{name}: {key}: defined twice")
                continue
            try:
                entries[key] = Entry.model_validate(raw)
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"]) or "entry"
                    problems.append(f"{name}: {key}: {where}: {err['msg']}")
    if problems:
        raise ContentError(f"content for {locale} is invalid:\n  " + "\n  ".join(problems))
    return Catalog(entries, locale)


@cache
def load_catalog(locale: str = "en-US") -> Catalog:
    """Load and validate the packaged content of a locale once per process."""
    folder = resources.files("skill.content").joinpath(locale)
    if not folder.is_dir():
        raise ContentError(f"no content for locale {locale!r}")
    files = {f.name: f.read_text(encoding="utf-8") for f in folder.iterdir()
             if f.name.endswith(".toml") and f.name != SAMPLES_FILE}
    return parse_catalog(files, locale)


def available_locales() -> list[str]:
    """The locales the package has content for (folders like en-US)."""
    root = resources.files("skill.content")
    return sorted(f.name for f in root.iterdir() if f.is_dir() and "-" in f.name and not f.name.startswith("_"))
