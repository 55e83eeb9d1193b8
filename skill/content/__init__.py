"""Every sentence the skill speaks, addressed by a dotted key (`dose.everyday`).

An entry holds spoken variants, a reprompt when it asks something, optional card text, and the
fact ids it rests on. The sources are TOML files per locale (`<locale>/*.toml`). What people say, for
the interaction model, sits beside them and is not spoken content: `<locale>/sentences/<Intent>.toml`
per intent and `<locale>/slot_types/<Type>.toml` per slot type.

The build validates them with pydantic (`skill.content.source`) and `compile_catalogs` writes
each locale's validated catalog as JSON into `compiled/` (checked in; a test fails when it drifts
from the TOML, and the Lambda build writes it afresh). `load_catalog` reads that JSON without
validating it again, so the request path never imports pydantic. When the JSON is missing, or the
TOML changed after it was compiled (a writer editing content), it validates the TOML instead.
"""
from __future__ import annotations

import json
import logging
import os
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from skill.digest import sha256

log = logging.getLogger(__name__)

CONTENT_DIR = Path(__file__).resolve().parent
COMPILED_DIR = CONTENT_DIR / "compiled"
COMPILED_FORMAT = 1  # the loader reads only this shape of compiled JSON
# What people say (the interaction model's words), not what the skill says: folders beside the content.
SENTENCES_DIR = "sentences"  # <Intent>.toml: an intent's samples; invocation.toml: the invocation name
INVOCATION_FILE = "invocation.toml"
SLOT_TYPES_DIR = "slot_types"  # <Type>.toml: each value id's name and synonyms
# A market's folder holds only what differs from its base: `market.toml` (the base, and words to replace)
# and entries that replace the base's whole. Its catalog is compiled from the base's files and its own.
MARKET_FILE = "market.toml"
_LOCALE = re.compile(r"[a-z]{2,3}-[A-Z]{2}\Z")


class ContentError(RuntimeError):
    """The content files are wrong; raised at start-up so that no user ever hears the mistake."""


def placeholders(text: str) -> frozenset[str]:
    """Name the {fields} a sentence needs."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


@dataclass(slots=True)
class Entry:
    """One thing the skill can say, in a few wordings (validated before it got here)."""

    say: tuple[str, ...]
    facts: tuple[str, ...] = ()
    ask: bool = False  # the entry ends with a question, so the session stays open
    reprompt: tuple[str, ...] = ()
    title: str | None = None
    card: str | None = None
    fields: frozenset[str] = frozenset()  # the {placeholders} every wording takes


class Catalog:
    """The validated content of one locale, looked up by key.

    Entries may arrive as the compiled JSON's plain dicts; each becomes an Entry the first time it
    is looked up, so a cold start builds only the few a request speaks.
    """

    def __init__(self, entries: Mapping[str, Entry | Mapping[str, Any]], locale: str) -> None:
        self.locale = locale
        self._entries: dict[str, Entry | Mapping[str, Any]] = dict(entries)

    def __getitem__(self, key: str) -> Entry:
        try:
            entry = self._entries[key]
        except KeyError:
            raise KeyError(f"no content entry {key!r} in {self.locale}") from None
        if type(entry) is not Entry:
            entry = self._entries[key] = _entry(entry)  # type: ignore[arg-type]
        return entry  # type: ignore[return-value]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Catalog):
            return NotImplemented
        return self.locale == other.locale and list(self.items()) == list(other.items())

    __hash__ = None  # type: ignore[assignment]

    def items(self) -> Iterator[tuple[str, Entry]]:
        return ((key, self[key]) for key in list(self._entries))

    def require(self, keys: Mapping[str, frozenset[str]] | list[str]) -> None:
        """Fail at start-up when code needs a key (with these fields) the files do not have."""
        wanted = keys if isinstance(keys, Mapping) else {k: frozenset() for k in keys}
        problems = []
        for key, fields in wanted.items():
            if key not in self._entries:
                problems.append(f"missing entry {key!r}")
            elif fields and self[key].fields - fields:
                missing = sorted(self[key].fields - fields)
                problems.append(f"entry {key!r} needs fields the code does not give: {missing}")
        if problems:
            raise ContentError(f"content for {self.locale}: " + "; ".join(problems))


def parse_catalog(files: Mapping[str, str], locale: str) -> Catalog:
    """Validate TOML texts (name -> text) with pydantic into a catalog, naming every problem at once."""
    from skill.content.source import parse_catalog as parse

    return parse(files, locale)


def _entry(raw: Mapping[str, Any]) -> Entry:
    """An Entry from its compiled JSON form (keys left out hold their defaults)."""
    return Entry(
        say=tuple(raw["say"]),
        facts=tuple(raw.get("facts", ())),
        ask=raw.get("ask", False),
        reprompt=tuple(raw.get("reprompt", ())),
        title=raw.get("title"),
        card=raw.get("card"),
        fields=frozenset(raw.get("fields", ())),
    )


def source_files(folder: Path, base: str | None = None) -> dict[str, bytes]:
    """The TOML files a locale's catalog is made from (not its sentences or slot types).

    A market (a folder with `market.toml`, built on `base`) adds its base's files, named
    `<base>/<file>`, so its compiled form goes stale when either changes.
    """
    names = sorted(n for n in os.listdir(folder) if n.endswith(".toml"))
    files = {name: (folder / name).read_bytes() for name in names}
    if base is not None:
        files.update({f"{base}/{name}": data for name, data in source_files(folder.parent / base).items()})
    return files


def fingerprint(files: Mapping[str, bytes]) -> str:
    """SHA-256 over the sources' names and bytes: the compiled form records it, the loader compares."""
    digest = sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def _compiled_is_current(document: Mapping[str, Any], folder: Path) -> bool:
    """True unless the TOML sources are present and differ from those the JSON was compiled from."""
    if not folder.is_dir():
        return True  # a package that ships only the compiled form
    base = document.get("base")
    if base is not None and not (folder.parent / str(base)).is_dir():
        return True
    return bool(document.get("sources") == fingerprint(source_files(folder, base)))


def load_catalog(locale: str = "en-US") -> Catalog:
    """The catalog of a locale, once per process: the compiled JSON if current, else the validated TOML."""
    return _load_catalog(locale)  # one cache entry per locale, however the caller spells the call


@cache
def _load_catalog(locale: str) -> Catalog:
    if not _LOCALE.match(locale):
        raise ContentError(f"no content for locale {locale!r}")
    folder = CONTENT_DIR / locale
    try:
        document = json.loads((COMPILED_DIR / f"{locale}.json").read_bytes())
    except FileNotFoundError:
        document = None
    if document is not None and document.get("format") == COMPILED_FORMAT and _compiled_is_current(document, folder):
        return Catalog(document["entries"], locale)
    if not folder.is_dir():
        raise ContentError(f"no content for locale {locale!r}")
    if document is not None:
        log.warning("compiled content for %s is older than its TOML; validating the TOML (run `make content`)", locale)
    from skill.content.source import locale_files, parse_catalog as parse

    return parse({name: data.decode("utf-8") for name, data in locale_files(folder).items()}, locale)


def available_locales() -> list[str]:
    """The locales the package has content for: its locale folders, or the compiled files it ships."""
    folders = {p.name for p in CONTENT_DIR.iterdir() if p.is_dir() and _LOCALE.match(p.name)}
    compiled = {p.stem for p in COMPILED_DIR.glob("*.json") if _LOCALE.match(p.stem)} if COMPILED_DIR.is_dir() else set()
    return sorted(folders | compiled)


def compile_catalogs(out_dir: Path | str) -> list[Path]:
    """Validate every locale's TOML with pydantic and write `<locale>.json` into out_dir (the build's hook).

    Raises ContentError naming every problem; returns the files written.
    """
    from skill.content.source import compile_locale

    folders = sorted(p for p in CONTENT_DIR.iterdir() if p.is_dir() and _LOCALE.match(p.name))
    return [compile_locale(folder, Path(out_dir)) for folder in folders]
