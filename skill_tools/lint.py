"""Check an ASK skill package the way the developer console's build does, and a little further.

``lint(model_dir)`` reads ``skill.json`` and every ``interactionModels/custom/<locale>.json`` under
``model_dir`` (en-US at least) and returns one line per problem, ``"<file>: <where>: <what>"``; an empty list means
the package is fit to deploy. Given the intents the code handles, it also checks that the model
and the handlers agree. The manifest is held to what certification asks of a skill that keeps
anything about a person: usesPersonalInfo, a privacy policy at an https URL, the SKILL_DISABLED
event (so disabling can delete what was kept), and store icons of the right size.
"""
from __future__ import annotations

import itertools
import json
import re
import struct
from collections.abc import Collection, Iterable, Mapping
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from skill_tools.simulator.nlu import normalise

SKILL_JSON = "skill.json"
MODELS_DIR = "interactionModels/custom"
MODEL_JSON = f"{MODELS_DIR}/en-US.json"
LOCALE = "en-US"  # the base locale: every package has its model
# The locales Alexa serves a custom skill in English; a model for another name is a mistake.
ENGLISH_LOCALES = frozenset({"en-US", "en-GB", "en-CA", "en-AU", "en-IN"})

REQUIRED_BUILTINS = (
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.CancelIntent",
    "AMAZON.FallbackIntent",
    "AMAZON.NavigateHomeIntent",
)
MIN_CUSTOM_SAMPLES = 10
MAX_INVOCATION_CHARS = 50
# Launch phrases, wake words and words the invocation-name rules forbid.
FORBIDDEN_INVOCATION_WORDS = frozenset(
    "alexa amazon echo computer skill app launch ask open tell start begin load run use play resume enable".split()
)
# A two-word invocation name may not lean on one of these.
INVOCATION_ARTICLES = frozenset("the a an for to of".split())
# Expanding samples by custom values can explode; beyond this many, a sample is checked unexpanded.
MAX_EXPANSIONS = 2000

_SLOT_REF = re.compile(r"\{([^{}]*)\}")
# Letters (any script), spaces, apostrophes, periods and hyphens, as the ASK sample rules allow.
_SAMPLE_TEXT = re.compile(r"[^\W\d_]|[ '.\-]")


def lint(model_dir: Path, handled_intents: set[str] | None = None,
         stored_fields: Collection[str] | None = None) -> list[str]:
    """Return every problem found in the skill package at ``model_dir`` (empty when it is clean).

    ``stored_fields`` names what the skill keeps about a person between sessions; by default, the
    fields of the skill's own profile model.
    """
    model_dir = Path(model_dir)
    problems: list[str] = []
    if not model_dir.is_dir():
        return [f"{model_dir}: -: not a directory (expected a skill package with {SKILL_JSON})"]
    locales = sorted({LOCALE} | {path.stem for path in (model_dir / MODELS_DIR).glob("*.json")})
    problems += [f"{MODELS_DIR}/{locale}.json: -: {locale} is not a locale Alexa serves in English"
                 for locale in locales if locale not in ENGLISH_LOCALES]
    _check_manifest(model_dir, problems, stored_profile_fields() if stored_fields is None else stored_fields, locales)
    for locale in locales:
        label = f"{MODELS_DIR}/{locale}.json"
        model = _load(model_dir / label, label, problems)
        if model is None:
            continue
        interaction = model.get("interactionModel")
        language = interaction.get("languageModel") if isinstance(interaction, dict) else None
        if not isinstance(language, dict):
            problems.append(f"{label}: interactionModel.languageModel: missing")
            continue
        _ModelLinter(language, problems, label).run(handled_intents)
    return problems


def _load(path: Path, label: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{label}: -: file is missing")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{label}: -: cannot read: {exc}")
        return None
    except json.JSONDecodeError as exc:
        problems.append(f"{label}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{label}: -: the top level must be a JSON object")
        return None
    return data


def _check_manifest(model_dir: Path, problems: list[str], stored_fields: Collection[str],
                    models: Iterable[str] = (LOCALE,)) -> None:
    skill = _load(model_dir / SKILL_JSON, SKILL_JSON, problems)
    if skill is None:
        return
    manifest = skill.get("manifest")
    if not isinstance(manifest, dict):
        problems.append(f"{SKILL_JSON}: manifest: missing")
        return
    publishing = manifest.get("publishingInformation")
    locales = publishing.get("locales") if isinstance(publishing, dict) else None
    locales = locales if isinstance(locales, dict) else {}
    # Every model is published (a name, icons, a privacy policy) and every published locale has a model.
    for name in sorted(set(models) | set(locales)):
        where = f"{SKILL_JSON}: manifest.publishingInformation.locales"
        if name not in models:
            problems.append(f"{where}.{name}: published, but {MODELS_DIR}/{name}.json is missing")
        if not isinstance(locales.get(name), dict):
            problems.append(f"{where}: no {name} locale")
        elif not str(locales[name].get("name") or "").strip():
            problems.append(f"{where}.{name}.name: missing or empty")
        else:
            _check_icons(model_dir, name, locales[name], problems)
    apis = manifest.get("apis")
    if not isinstance(apis, dict) or not isinstance(apis.get("custom"), dict):
        problems.append(f"{SKILL_JSON}: manifest.apis.custom: missing (this is a custom skill)")
    _check_privacy(manifest, problems, stored_fields, sorted(set(models) | set(locales)))
    _check_events(manifest, problems, stored_fields)


def stored_profile_fields() -> list[str]:
    """What the skill's profile keeps about a person (its fields, less the schema version)."""
    from skill.profile import models

    profile = models.UserProfile
    fields = getattr(profile, "model_fields", None) or getattr(profile, "__dataclass_fields__", {})
    return sorted(name for name in fields if name != "schema_version")


# Store icons: Alexa's sizes, as PNG.
ICON_SIZES = {"smallIconUri": 108, "largeIconUri": 512}
PRIVACY_FLAGS = ("usesPersonalInfo", "isChildDirected", "containsAds", "allowsPurchases", "isExportCompliant",
                 "usesHealthInfo")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def https_problem(value: Any) -> str | None:
    """Why ``value`` is not a well-formed https URL, or None when it is one."""
    if not isinstance(value, str) or not value.strip():
        return "missing or empty"
    parts = urlsplit(value)
    if parts.scheme != "https":
        return f"'{value}' is not an https URL"
    if not parts.hostname or "." not in parts.hostname or any(ch.isspace() for ch in value):
        return f"'{value}' is not a well-formed URL"
    return None


def _png_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG's header, or None when the file is not a PNG."""
    try:
        with path.open("rb") as file:
            head = file.read(24)
    except OSError:
        return None
    if len(head) < 24 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _check_icons(model_dir: Path, name: str, locale: dict[str, Any], problems: list[str]) -> None:
    for key, size in ICON_SIZES.items():
        where = f"{SKILL_JSON}: manifest.publishingInformation.locales.{name}.{key}"
        uri = locale.get(key)
        if not isinstance(uri, str) or not uri.strip():
            problems.append(f"{where}: missing (a {size} x {size} PNG is required to publish)")
            continue
        if not uri.startswith("file://"):
            reason = https_problem(uri)
            if reason:
                problems.append(f"{where}: {reason}; use https or a file:// path in the skill package")
            continue
        relative = uri.removeprefix("file://")
        path = (model_dir / relative).resolve()
        if model_dir.resolve() not in path.parents:
            problems.append(f"{where}: '{uri}' points outside the skill package")
            continue
        if not path.is_file():
            problems.append(f"{where}: '{uri}' names a file the package does not have")
            continue
        found = _png_size(path)
        if found is None:
            problems.append(f"{where}: '{uri}' is not a PNG")
        elif found != (size, size):
            problems.append(f"{where}: '{uri}' is {found[0]} x {found[1]}; it must be {size} x {size}")


def _check_privacy(manifest: dict[str, Any], problems: list[str], stored_fields: Collection[str],
                   names: Iterable[str] = (LOCALE,)) -> None:
    where = f"{SKILL_JSON}: manifest.privacyAndCompliance"
    privacy = manifest.get("privacyAndCompliance")
    if not isinstance(privacy, dict):
        problems.append(f"{where}: missing (certification needs every privacy question answered)")
        return
    for flag in PRIVACY_FLAGS:
        if not isinstance(privacy.get(flag), bool):
            problems.append(f"{where}.{flag}: must be true or false")
    if stored_fields and privacy.get("usesPersonalInfo") is False:
        problems.append(f"{where}.usesPersonalInfo: false, but the skill keeps {', '.join(sorted(stored_fields))}")
    locales = privacy.get("locales")
    for name in names:
        locale = locales.get(name) if isinstance(locales, dict) else None
        urls = locale if isinstance(locale, dict) else {}
        reason = https_problem(urls.get("privacyPolicyUrl"))
        if reason:
            problems.append(f"{where}.locales.{name}.privacyPolicyUrl: {reason} (a privacy policy is required)")
        if "termsOfUseUrl" in urls and (reason := https_problem(urls["termsOfUseUrl"])):
            problems.append(f"{where}.locales.{name}.termsOfUseUrl: {reason}")


def _check_events(manifest: dict[str, Any], problems: list[str], stored_fields: Collection[str]) -> None:
    """A skill that keeps anything subscribes to SKILL_DISABLED, on the same endpoint as its requests."""
    events = manifest.get("events")
    subscriptions = events.get("subscriptions") if isinstance(events, dict) else None
    names = {s.get("eventName") for s in subscriptions if isinstance(s, dict)} if isinstance(subscriptions, list) else set()
    if stored_fields and "SKILL_DISABLED" not in names:
        problems.append(f"{SKILL_JSON}: manifest.events.subscriptions: no SKILL_DISABLED, so disabling the skill "
                        f"cannot delete what it keeps")
    apis = manifest.get("apis")
    custom = apis.get("custom") if isinstance(apis, dict) else None
    requests_at = custom.get("endpoint") if isinstance(custom, dict) else None
    events_at = events.get("endpoint") if isinstance(events, dict) else None
    # The ASK CLI fills both from the stack's output; until the first deploy neither is there.
    if names and requests_at is not None and events_at != requests_at:
        problems.append(f"{SKILL_JSON}: manifest.events.endpoint: {events_at!r} differs from apis.custom.endpoint "
                        f"{requests_at!r}; events would not reach the skill")


# The overlap problems of the models linted in this process, by their intents and slot types (see check_conflicts).
_CONFLICTS: dict[str, list[tuple[str, str]]] = {}
_CONFLICTS_KEPT = 16


class _ModelLinter:
    """Checks on one languageModel; appends problem lines as it goes."""

    def __init__(self, language: dict[str, Any], problems: list[str], label: str = MODEL_JSON) -> None:
        self.language = language
        self.problems = problems
        self.label = label  # the model file the problems are in
        self._phrases: dict[str, list[str] | None] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.types: dict[str, dict[str, Any]] = {}

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{self.label}: {where}: {what}")

    def run(self, handled_intents: set[str] | None) -> None:
        self.check_invocation()
        self.collect_types()
        self.collect_intents()
        for name, intent in self.intents.items():
            self.check_intent(name, intent)
        self.check_types()
        self.check_conflicts()
        for required in REQUIRED_BUILTINS:
            if required not in self.intents:
                self.problem("intents", f"required built-in intent {required} is missing")
        if handled_intents is not None:
            self.check_handlers(handled_intents)

    # --- invocation name ---------------------------------------------------------------------

    def check_invocation(self) -> None:
        where = "invocationName"
        name = self.language.get("invocationName")
        if not isinstance(name, str) or not name.strip():
            self.problem(where, "missing or empty")
            return
        if len(name) > MAX_INVOCATION_CHARS:
            self.problem(where, f"'{name}' is {len(name)} characters; at most {MAX_INVOCATION_CHARS}")
        if not re.fullmatch(r"[a-z.' ]+", name):
            self.problem(where, f"'{name}' may hold only lowercase letters, spaces, periods and apostrophes")
        words = re.split(r"[ .]+", name.strip(" ."))
        words = [w for w in words if w]
        forbidden = sorted({w for w in words if w in FORBIDDEN_INVOCATION_WORDS})
        if forbidden:
            self.problem(where, f"'{name}' contains {', '.join(repr(w) for w in forbidden)}: launch phrases and wake words are not allowed")
        if len(words) < 2:
            self.problem(where, f"'{name}' is one word; use two or more unless it is a brand you own")
        elif len(words) == 2 and any(w in INVOCATION_ARTICLES for w in words):
            self.problem(where, f"'{name}' is two words and one is an article or connecting word")

    # --- collecting --------------------------------------------------------------------------

    def collect_types(self) -> None:
        types = self.language.get("types", [])
        if not isinstance(types, list):
            self.problem("types", "must be a list")
            return
        for index, spec in enumerate(types):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
                self.problem(f"types[{index}]", "a slot type needs a name")
                continue
            if spec["name"] in self.types:
                self.problem(f"types[{spec['name']}]", "slot type is declared twice")
                continue
            self.types[spec["name"]] = spec

    def collect_intents(self) -> None:
        intents = self.language.get("intents")
        if not isinstance(intents, list):
            self.problem("intents", "missing or not a list")
            return
        for index, intent in enumerate(intents):
            if not isinstance(intent, dict) or not isinstance(intent.get("name"), str) or not intent["name"]:
                self.problem(f"intents[{index}]", "an intent needs a name")
                continue
            if intent["name"] in self.intents:
                self.problem(f"intents[{intent['name']}]", "intent is declared twice")
                continue
            self.intents[intent["name"]] = intent

    # --- intents -----------------------------------------------------------------------------

    def declared_slots(self, intent: dict[str, Any]) -> dict[str, str]:
        slots = intent.get("slots", [])
        out: dict[str, str] = {}
        for slot in slots if isinstance(slots, list) else []:
            if isinstance(slot, dict) and isinstance(slot.get("name"), str):
                out[slot["name"]] = str(slot.get("type") or "")
        return out

    def check_intent(self, name: str, intent: dict[str, Any]) -> None:
        where = f"intents[{name}]"
        slots = intent.get("slots", [])
        if not isinstance(slots, list):
            self.problem(f"{where}.slots", "must be a list")
            slots = []
        seen: set[str] = set()
        for index, slot in enumerate(slots):
            if not isinstance(slot, dict) or not isinstance(slot.get("name"), str) or not slot["name"]:
                self.problem(f"{where}.slots[{index}]", "a slot needs a name")
                continue
            slot_where = f"{where}.slots[{slot['name']}]"
            if slot["name"] in seen:
                self.problem(slot_where, "slot is declared twice")
            seen.add(slot["name"])
            slot_type = slot.get("type")
            if not isinstance(slot_type, str) or not slot_type:
                self.problem(slot_where, "slot has no type")
            elif slot_type not in self.types and not slot_type.startswith("AMAZON."):
                self.problem(slot_where, f"type {slot_type} is neither a custom type of this model nor an AMAZON.* type")
        declared = self.declared_slots(intent)

        samples = intent.get("samples", [])
        if not isinstance(samples, list):
            self.problem(f"{where}.samples", "must be a list")
            samples = []
        seen_samples: dict[str, int] = {}
        for index, sample in enumerate(samples):
            sample_where = f"{where}.samples[{index}]"
            if not isinstance(sample, str) or not sample.strip():
                self.problem(sample_where, "a sample must be non-empty text")
                continue
            self.check_sample_text(sample_where, sample)
            for ref in _SLOT_REF.findall(sample):
                if ref not in declared:
                    self.problem(sample_where, f"'{sample}' uses slot {{{ref}}}, which this intent does not declare")
            key = " ".join(sample.lower().split())
            if key in seen_samples:
                self.problem(sample_where, f"'{sample}' repeats samples[{seen_samples[key]}]")
            else:
                seen_samples[key] = index
        if not name.startswith("AMAZON.") and len(samples) < MIN_CUSTOM_SAMPLES:
            self.problem(f"{where}.samples", f"only {len(samples)} samples; a custom intent needs at least {MIN_CUSTOM_SAMPLES}")

    def check_sample_text(self, where: str, sample: str) -> None:
        outside = _SLOT_REF.sub(" ", sample)
        if "{" in outside or "}" in outside:
            self.problem(where, f"'{sample}' has an unmatched brace")
            outside = outside.replace("{", " ").replace("}", " ")
        if re.search(r"\d", outside):
            self.problem(where, f"'{sample}' contains digits; spell numbers out as words")
        bad = sorted({ch for ch in outside if not _SAMPLE_TEXT.fullmatch(ch) and not ch.isdigit()})
        if bad:
            shown = " ".join(repr(ch) for ch in bad)
            self.problem(where, f"'{sample}' contains {shown}; only letters, spaces, apostrophes, periods and hyphens are allowed")

    # --- slot types --------------------------------------------------------------------------

    def check_types(self) -> None:
        for type_name, spec in self.types.items():
            where = f"types[{type_name}]"
            values = spec.get("values", [])
            if not isinstance(values, list):
                self.problem(f"{where}.values", "must be a list")
                continue
            names: dict[str, str] = {}
            ids: dict[str, str] = {}
            owner: dict[str, str] = {}  # phrase -> the value that claims it
            for index, value in enumerate(values):
                name_block = value.get("name") if isinstance(value, dict) else None
                raw = name_block.get("value") if isinstance(name_block, dict) else None
                if not isinstance(raw, str) or not raw.strip():
                    self.problem(f"{where}.values[{index}]", "a value needs name.value")
                    continue
                key = _phrase_key(raw)
                value_where = f"{where}.values[{raw}]"
                if key in names:
                    self.problem(value_where, f"value '{raw}' is listed twice")
                    continue
                names[key] = raw
                value_id = value.get("id")
                if isinstance(value_id, str) and value_id:
                    if value_id in ids:
                        self.problem(value_where, f"id '{value_id}' is also the id of '{ids[value_id]}'")
                    ids[value_id] = raw
                synonyms = name_block.get("synonyms", []) if isinstance(name_block, dict) else []
                if not isinstance(synonyms, list):
                    self.problem(f"{value_where}.synonyms", "must be a list")
                    synonyms = []
                for phrase in [raw, *[s for s in synonyms if isinstance(s, str)]]:
                    phrase_key = _phrase_key(phrase)
                    claimant = owner.get(phrase_key)
                    if claimant is not None and claimant != raw:
                        self.problem(value_where, f"'{phrase}' is claimed by both '{claimant}' and '{raw}'")
                    owner.setdefault(phrase_key, raw)

    # --- overlaps ----------------------------------------------------------------------------

    def phrases_of(self, slot_type: str) -> list[str] | None:
        """Every way to say a value of a custom type, or None for a built-in type (worked out once a type)."""
        if slot_type not in self._phrases:
            self._phrases[slot_type] = self._spell_out(slot_type)
        return self._phrases[slot_type]

    def _spell_out(self, slot_type: str) -> list[str] | None:
        spec = self.types.get(slot_type)
        if spec is None or not isinstance(spec.get("values"), list):
            return None
        phrases: list[str] = []
        for value in spec["values"]:
            block = value.get("name") if isinstance(value, dict) else None
            if not isinstance(block, dict) or not isinstance(block.get("value"), str):
                continue
            phrases.append(block["value"])
            phrases.extend(s for s in block.get("synonyms", []) or [] if isinstance(s, str))
        return sorted({_phrase_key(p) for p in phrases if p.strip()})

    def expansions(self, sample: str, declared: Mapping[str, str]) -> Iterable[str]:
        """The sample with each custom slot filled by every value and synonym; built-in slots
        become a placeholder of their type, so "{a}" and "{b}" of one type collide."""
        parts = re.split(r"(\{[^{}]*\})", sample)
        choices: list[list[str]] = []
        count = 1
        for part in parts:
            if part.startswith("{") and part.endswith("}"):
                slot_type = declared.get(part[1:-1], "")
                phrases = self.phrases_of(slot_type)
                if phrases:
                    choices.append(phrases)
                    count *= len(phrases)
                else:
                    choices.append([f"<{slot_type or '?'}>"])
            else:
                choices.append([_phrase_key(part)])
        if count > MAX_EXPANSIONS:
            # Too many to spell out: compare the sample with typed placeholders only.
            choices = [[f"<{declared.get(p[1:-1], '?')}>"] if p.startswith("{") and p.endswith("}") else [_phrase_key(p)] for p in parts]
        for combo in itertools.product(*choices):
            yield " ".join(" ".join(combo).split())

    def check_conflicts(self) -> None:
        # The overlap check spells out every sample with every value (a second or more a model) and
        # reads only the intents and the slot types: a model with the same ones is checked once a
        # process (en-AU and en-CA say what en-US says; the tests lint the real package several times).
        key = sha256(json.dumps([self.language.get("intents"), self.language.get("types")], sort_keys=True,
                                default=repr).encode()).hexdigest()
        found = _CONFLICTS.get(key)
        if found is None:
            found = self._conflicts()
            if len(_CONFLICTS) >= _CONFLICTS_KEPT:
                del _CONFLICTS[next(iter(_CONFLICTS))]  # the oldest: a long run of edited models stays small
            _CONFLICTS[key] = found
        for where, what in found:
            self.problem(where, what)

    def _conflicts(self) -> list[tuple[str, str]]:
        """Each sample that another intent's sample also says, as (where, what) problems, in file order."""
        found: list[tuple[str, str]] = []
        claimed: dict[str, tuple[str, str]] = {}  # utterance -> (intent, original sample)
        reported: set[tuple[str, str, str, str]] = set()
        for name, intent in self.intents.items():
            declared = self.declared_slots(intent)
            samples = intent.get("samples", [])
            for sample in samples if isinstance(samples, list) else []:
                if not isinstance(sample, str) or not sample.strip():
                    continue
                for utterance in self.expansions(sample, declared):
                    other = claimed.get(utterance)
                    if other is None:
                        claimed[utterance] = (name, sample)
                        continue
                    other_intent, other_sample = other
                    pair = (other_intent, other_sample, name, sample)
                    if other_intent == name or pair in reported:
                        continue
                    reported.add(pair)
                    heard = f" (as '{utterance}')" if utterance != _phrase_key(sample) else ""
                    found.append((
                        f"intents[{name}]",
                        f"sample '{sample}' is also claimed by {other_intent} sample '{other_sample}'{heard}",
                    ))
        return found

    # --- code and model agree ----------------------------------------------------------------

    def check_handlers(self, handled: set[str]) -> None:
        for name in self.intents:
            if name not in handled:
                self.problem(f"intents[{name}]", "no handler handles this intent")
        for name in sorted(handled - set(self.intents)):
            if not name.startswith("AMAZON."):
                self.problem("intents", f"a handler handles {name}, which the model does not declare")


def _phrase_key(text: str) -> str:
    """Compare phrases as Alexa hears them: case, punctuation and spacing do not matter."""
    return normalise(text)
