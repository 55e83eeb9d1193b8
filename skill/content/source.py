"""The content's source: TOML files per locale, validated with pydantic at build and test time.

`parse_catalog` names every problem at once (an unknown fact id, an empty variant, a question
without a reprompt, variants with different placeholders) and returns the runtime Catalog. The
Lambda request path never imports this module: it loads the catalog `compile_catalogs` wrote.
"""
from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from skill.content import COMPILED_FORMAT, MARKET_FILE, Catalog, ContentError, Entry, fingerprint, placeholders, source_files
from skill.knowledge.facts import is_fact_id
from skill.knowledge.markets import MARKETS, may_cite

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
    """Validate TOML texts (name -> text) into a catalog, naming every problem at once.

    With a `market.toml` among them, the catalog is a market's: its base's entries (the files named
    `<base>/...`), their words replaced as the market says, then its own entries in place of the base's.
    """
    if MARKET_FILE in files:
        return _market_catalog(files, locale)
    entries, problems = _entries(files)
    if problems:
        raise ContentError(f"content for {locale} is invalid:\n  " + "\n  ".join(problems))
    return Catalog(entries, locale)


def _entries(files: Mapping[str, str]) -> tuple[dict[str, Entry], list[str]]:
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
    return entries, problems


class MarketModel(BaseModel):
    """A market's `market.toml`: the locale it builds on, and words its people say differently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str
    # Whole words or phrases, replaced wherever the base says them (sentences, reprompts, titles, cards).
    words: dict[str, str] = Field(default_factory=dict)


def _market_catalog(files: Mapping[str, str], locale: str) -> Catalog:
    problems: list[str] = []
    try:
        market = MarketModel.model_validate(tomllib.loads(files[MARKET_FILE]))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ContentError(f"content for {locale}: {MARKET_FILE}: {exc}") from None
    prefix = f"{market.base}/"
    base = parse_catalog({name[len(prefix):]: text for name, text in files.items() if name.startswith(prefix)}, market.base)
    own, problems = _entries({name: text for name, text in files.items() if "/" not in name and name != MARKET_FILE})
    used: set[str] = set()
    entries: dict[str, Entry] = {}
    for key, entry in base.items():
        entries[key] = _reworded(entry, market.words, used)
    rules = MARKETS.get(locale)
    for key, entry in own.items():
        if key not in entries:
            problems.append(f"{key}: replaces no entry of {market.base}")
        if rules is not None:
            problems += [f"{key}: cites {fact}, which {locale} does not hold" for fact in entry.facts if not may_cite(rules, fact)]
        entries[key] = entry
    problems += [f"{MARKET_FILE}: the word {word!r} is never said in {market.base}" for word in market.words if word not in used]
    if problems:
        raise ContentError(f"content for {locale} is invalid:\n  " + "\n  ".join(problems))
    return Catalog(entries, locale)


def _reworded(entry: Entry, words: Mapping[str, str], used: set[str]) -> Entry:
    """An entry with the market's words in place of the base's (whole words only, case as written)."""
    if not words:
        return entry

    def swap(text: str) -> str:
        for word, instead in words.items():
            text, count = re.subn(rf"\b{re.escape(word)}\b", instead, text)
            if count:
                used.add(word)
        return text

    return replace(entry, say=tuple(swap(s) for s in entry.say), reprompt=tuple(swap(s) for s in entry.reprompt),
                   title=swap(entry.title) if entry.title else entry.title, card=swap(entry.card) if entry.card else entry.card)


def compiled_json(catalog: Catalog, files: Mapping[str, bytes], base: str | None = None) -> str:
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
        "generated": f"by skill.content.compile_catalogs from skill/content/{catalog.locale}/*.toml (and its base's, for a market): edit those, not this file",
        "format": COMPILED_FORMAT,
        "locale": catalog.locale,
        **({"base": base} if base else {}),
        "sources": fingerprint(files),
        "entries": entries,
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def market_base(folder: Path) -> str | None:
    """The locale a market folder builds on (its `market.toml`), or None for a whole catalog."""
    path = folder / MARKET_FILE
    if not path.exists():
        return None
    base = str(tomllib.loads(path.read_text(encoding="utf-8")).get("base", ""))
    if base == folder.name or not (folder.parent / base).is_dir() or (folder.parent / base / MARKET_FILE).exists():
        raise ContentError(f"{folder.name}/{MARKET_FILE}: base must name a whole catalog's folder, not {base!r}")
    return base


def locale_files(folder: Path) -> dict[str, bytes]:
    """Every source of a locale's catalog: its own files, and its base's for a market."""
    return source_files(folder, market_base(folder))


def compile_locale(folder: Path, out_dir: Path) -> Path:
    """Validate one locale folder and write its compiled catalog into out_dir; return the file."""
    base = market_base(folder)
    files = source_files(folder, base)
    if not files:
        raise ContentError(f"no content files in {folder}")
    catalog = parse_catalog({name: data.decode("utf-8") for name, data in files.items()}, folder.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{folder.name}.json"
    target.write_text(compiled_json(catalog, files, base), encoding="utf-8")
    return target
