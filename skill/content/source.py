"""The content's source: TOML files per locale, validated with pydantic at build and test time.

`parse_catalog` names every problem at once (an unknown fact id, an empty variant, a question
without a reprompt, variants with different placeholders) and returns the runtime Catalog. The
Lambda request path never imports this module: it loads the catalog `compile_catalogs` wrote.
"""
from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from skill.content import COMPILED_FORMAT, Catalog, ContentError, Entry, fingerprint, placeholders, source_files
from skill.knowledge.facts import is_fact_id

Sentence = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1500)]


class EntryModel(BaseModel):
    """One thing the skill can say, in a few wordings, as the TOML must write it."""

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
    def _consistent(self) -> EntryModel:
        if self.ask and not self.reprompt:
            raise ValueError("an entry that asks a question needs a reprompt")
        # Every wording must take the same fields, or one variant would fail at render time.
        fields = {placeholders(s) for s in self.say}
        if len(fields) > 1:
            raise ValueError("variants of one entry use different {placeholders}")
        return self

    def to_entry(self) -> Entry:
        """The runtime form: plain, immutable, its placeholders worked out once."""
        return Entry(
            say=tuple(self.say), facts=tuple(self.facts), ask=self.ask, reprompt=tuple(self.reprompt),
            title=self.title, card=self.card, fields=placeholders(self.say[0]),
        )


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
                entries[key] = EntryModel.model_validate(raw).to_entry()
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"]) or "entry"
                    problems.append(f"{name}: {key}: {where}: {err['msg']}")
    if problems:
        raise ContentError(f"content for {locale} is invalid:\n  " + "\n  ".join(problems))
    return Catalog(entries, locale)


def compiled_json(catalog: Catalog, files: Mapping[str, bytes]) -> str:
    """The validated catalog as the JSON text the runtime loads (stable: same sources, same bytes)."""
    entries = {}
    for key, entry in catalog.items():
        raw: dict[str, Any] = {"say": list(entry.say)}
        if entry.ask:
            raw["ask"] = True
        if entry.reprompt:
            raw["reprompt"] = list(entry.reprompt)
        if entry.title is not None:
            raw["title"] = entry.title
        if entry.card is not None:
            raw["card"] = entry.card
        if entry.facts:
            raw["facts"] = list(entry.facts)
        if entry.fields:
            raw["fields"] = sorted(entry.fields)
        entries[key] = raw
    document = {
        "generated": f"by skill.content.compile_catalogs from skill/content/{catalog.locale}/*.toml: edit those, not this file",
        "format": COMPILED_FORMAT,
        "locale": catalog.locale,
        "sources": fingerprint(files),
        "entries": entries,
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def compile_locale(folder: Path, out_dir: Path) -> Path:
    """Validate one locale folder and write its compiled catalog into out_dir; return the file."""
    files = source_files(folder)
    if not files:
        raise ContentError(f"no content files in {folder}")
    catalog = parse_catalog({name: data.decode("utf-8") for name, data in files.items()}, folder.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{folder.name}.json"
    target.write_text(compiled_json(catalog, files), encoding="utf-8")
    return target
