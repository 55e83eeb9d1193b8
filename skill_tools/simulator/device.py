"""Device mode: understanding as an Alexa device would have it, from the interaction model ALONE.

``Resolver`` (nlu.py) carries many hand rules that no device runs. ``DeviceNLU`` judges an utterance
with what a device has: the skill's interaction model (intents, sample utterances with ``{slot}``
placeholders, slot types with values, ids and synonyms) and statistical models trained on it.

How it decides:

1. Text normalisation, generic only (``device_text``): lowercase, punctuation dropped, "300mg" ->
   "300 mg", "1,000" -> "1000"; a typed wake word ("alexa ...") is dropped.
2. Intent classification: TF-IDF (word 1-2 grams + character 2-5 grams) and a multinomial logistic
   regression, trained on the model's samples with each placeholder filled by the slot type's values
   and synonyms (custom types) or by generic spoken forms (``NUMBER_FORMS``, ``TIME_FORMS``,
   ``DURATION_FORMS`` for AMAZON.NUMBER / TIME / DURATION). Built-in intents also get a tiny generic
   set of phrasings (``BUILTIN_INTENT_PHRASES``), standing for Amazon's own training of them.
   There is no out-of-domain training data: AMAZON.FallbackIntent is out-of-domain detection, the
   answer when the top probability is below ``DEFAULT_THRESHOLD`` (chosen by cross-validation on the
   samples only, see ``calibrate``).
3. Slot filling: a linear-chain CRF (python-crfsuite) tags the words with BIO slot labels, trained on
   the same filled samples. Features: the word, prefixes/suffixes, shape, neighbour words, the intent
   chosen, and whether the words are a value/synonym of a custom type or a number/time (the model's
   values act as a gazetteer, as Alexa's catalogue does). In 30% of the training fillings the custom
   values lose their gazetteer marks, so values are also found by their place (unlisted values).
   One span per slot (the one with the highest mean marginal probability); only slots the chosen
   intent declares are kept. Custom types are open: a tagged span that is no value or synonym fills the slot with the
   words heard and no resolution (ER_SUCCESS_NO_MATCH); a value or synonym resolves to its id.
   AMAZON.NUMBER becomes digits, AMAZON.TIME "HH:MM", AMAZON.DURATION ISO-8601 (``builtin_slots``).

No hand rules and no word lists beyond the model, the generic built-in phrasings and spoken forms
above. Training is deterministic and cached per model content within the process, and on disk when
``BEDTIME_DEVICE_CACHE`` names a folder (see ``CACHE_ENV``).

``python -m skill_tools.simulator.device --calibrate`` re-runs the cross-validation that chose the
threshold and prints the cross-validated intent accuracy.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import re
import sys
import tempfile
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from skill_tools.locks import exclusive
from skill_tools.simulator.builtin_slots import may_end_a_value, parse_duration, parse_number, parse_time
from skill_tools.simulator.nlu import FALLBACK_INTENT, ModelError, Resolution, SlotMatch, read_model

if TYPE_CHECKING:
    import pycrfsuite  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion

# Chosen by ``calibrate`` on the samples alone (``python -m skill_tools.simulator.device --calibrate``):
# stratified 5-fold CV; the top probability that 95% of the held-out samples classified right reach
# (OOD detection's usual "95% true positives" point; Alexa's default LOW fallback sensitivity favours
# the skill's intents). On the model of this writing: CV intent accuracy 0.859 (0.815 right and above
# the threshold); of the samples of the skill's own intents held out whole (stand-ins for out-of-domain
# requests, of which the model has none) 37% fall below it. Re-run the calibration when samples change much.
DEFAULT_THRESHOLD = 0.29
SEED = 13
KEEP_RIGHT = 0.95

# Amazon trains its built-in intents on its own data; a tiny generic stand-in for it. Nothing here is
# about this skill. Used only for built-in intents the model declares.
BUILTIN_INTENT_PHRASES: dict[str, tuple[str, ...]] = {
    "AMAZON.StopIntent": ("stop", "off", "shut up", "be quiet", "exit", "quit"),
    "AMAZON.CancelIntent": ("cancel", "never mind", "forget it", "cancel that"),
    "AMAZON.HelpIntent": ("help", "help me", "what can you do", "what can i say"),
    "AMAZON.YesIntent": ("yes", "yeah", "yep", "sure", "yes please", "okay"),
    "AMAZON.NoIntent": ("no", "nope", "no thanks", "no thank you"),
    "AMAZON.RepeatIntent": ("repeat", "repeat that", "say that again", "what did you say"),
    "AMAZON.MoreIntent": ("more", "tell me more", "more please"),
    "AMAZON.NextIntent": ("next", "skip", "next one"),
    "AMAZON.PreviousIntent": ("previous", "go back"),
    "AMAZON.PauseIntent": ("pause", "hold on", "wait"),
    "AMAZON.ResumeIntent": ("resume", "continue", "keep going"),
    "AMAZON.StartOverIntent": ("start over", "restart", "start again"),
    "AMAZON.NavigateHomeIntent": ("go home", "home"),
}

# Representative spoken and written forms of the built-in types, generic (not from the skill).
NUMBER_FORMS: tuple[str, ...] = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "fifteen", "eighteen", "twenty", "twenty five", "thirty", "forty", "forty five", "fifty", "sixty",
    "seventy", "eighty", "ninety", "a hundred", "one hundred", "two hundred", "two hundred and fifty",
    "three hundred", "five hundred", "seven hundred and fifty", "a thousand", "two thousand", "half",
    "one and a half", "two point five", "1", "2", "3", "4", "5", "7", "10", "12", "16", "20", "25", "30",
    "40", "50", "65", "100", "120", "150", "200", "250", "300", "400", "500", "600", "800", "1000", "1500",
    "2000", "0.5", "1.5", "2.5",
)
TIME_FORMS: tuple[str, ...] = (
    "ten", "eleven", "nine", "ten thirty", "nine fifteen", "eleven forty five", "ten pm", "eleven pm",
    "nine thirty pm", "seven am", "six in the morning", "ten at night", "half past ten", "quarter to eleven",
    "quarter past nine", "ten o'clock", "eleven o'clock", "midnight", "noon", "10", "10 pm", "10:30",
    "10:30 pm", "11 pm", "9:45", "7 am", "22:00",
)
DURATION_FORMS: tuple[str, ...] = (
    "five minutes", "ten minutes", "twenty minutes", "half an hour", "an hour", "two hours",
    "an hour and a half", "thirty seconds", "15 minutes",
)
_BUILTIN_FORMS = {
    "AMAZON.NUMBER": NUMBER_FORMS, "AMAZON.FOUR_DIGIT_NUMBER": NUMBER_FORMS,
    "AMAZON.TIME": TIME_FORMS, "AMAZON.DURATION": DURATION_FORMS,
}
_BUILTIN_PARSERS = {
    "AMAZON.NUMBER": parse_number, "AMAZON.FOUR_DIGIT_NUMBER": parse_number,
    "AMAZON.TIME": parse_time, "AMAZON.DURATION": parse_duration,
}
# Alexa's invocation phrasing: "open <name>", "ask <name> to/about/whether ... <request>".
_LAUNCH_WORDS = ("ask", "tell", "open", "launch", "start", "begin", "load", "run", "use", "talk to", "play", "resume")
_ONE_SHOT_JOINERS = ("to", "for", "about", "whether", "if", "that", "and")

_FILLS_PER_SAMPLE = 3  # a sample with slots is trained in this many fillings, weighted to count once
_CRF_FILLS_PER_SAMPLE = 3
_UNLISTED_SHARE = 0.3  # share of the tagger's filled samples whose custom values are treated as unlisted
_C = 10.0  # inverse L2 strength of the logistic regression
_CRF_PARAMS = {"c1": 0.2, "c2": 0.01, "max_iterations": 50, "feature.possible_transitions": True}
_CLASS_WEIGHT: str | None = "balanced"
_SLOT = re.compile(r"\{([^{}]+)\}")


# --- text -----------------------------------------------------------------------------------------


def device_text(text: str) -> str:
    """Generic normalisation: lowercase, quotes unified, punctuation dropped (keeping apostrophes inside
    words, decimals and clock colons), "300mg" -> "300 mg", "1,000" -> "1000", "a.m." -> "am"."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)
    text = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = text.replace("&", " and ").replace("%", " percent ").replace("-", " ")
    text = re.sub(r"(?<!\d)[.:]|[.:](?!\d)", " ", text)
    text = re.sub(r"[^\w\s'.:]|_", " ", text)
    text = re.sub(r"(?<![^\W\d_])'|'(?![^\W\d_])", " ", text)
    return " ".join(text.split())


# --- the model's samples ------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """One sample utterance: literal words and slot references, in order."""

    intent: str
    text: str
    parts: tuple[tuple[str, str], ...]  # ("w", word) or ("s", slot name)


@dataclass(frozen=True)
class Example:
    """A filled template: its words, each word's BIO tag, and the template it came from."""

    template: Template
    words: tuple[str, ...]
    tags: tuple[str, ...]


def _language(model: Mapping[str, Any]) -> Mapping[str, Any]:
    language = model.get("interactionModel", {}).get("languageModel") if isinstance(model, Mapping) else None
    if not isinstance(language, Mapping) or not isinstance(language.get("intents"), list):
        raise ModelError("not an ASK interaction model: no interactionModel.languageModel.intents")
    return language


def _intents_and_templates(language: Mapping[str, Any]) -> tuple[dict[str, dict[str, str]], list[Template]]:
    """Each intent's declared slots (name -> type), and every sample as a template (with the built-in phrasings)."""
    intents: dict[str, dict[str, str]] = {}
    templates: list[Template] = []
    for intent in language["intents"]:
        if not isinstance(intent, Mapping) or not isinstance(intent.get("name"), str):
            continue
        name = intent["name"]
        declared = {s["name"]: str(s.get("type", "")) for s in intent.get("slots") or []
                    if isinstance(s, Mapping) and isinstance(s.get("name"), str)}
        intents[name] = declared
        if name == FALLBACK_INTENT:
            continue  # out-of-domain detection, not a class with samples
        texts = [s for s in intent.get("samples") or [] if isinstance(s, str) and s.strip()]
        for text in dict.fromkeys([*texts, *BUILTIN_INTENT_PHRASES.get(name, ())]):
            parsed = _parse_template(name, text, declared)
            if parsed is not None:
                templates.append(parsed)
    return intents, templates


def _parse_template(intent: str, text: str, declared: Mapping[str, str]) -> Template | None:
    parts: list[tuple[str, str]] = []
    at = 0
    for m in _SLOT.finditer(text):
        parts.extend(("w", w) for w in device_text(text[at:m.start()]).split())
        name = m.group(1).strip()
        if name not in declared:
            return None  # a sample naming an undeclared slot is a build error on ASK; skipped here
        parts.append(("s", name))
        at = m.end()
    parts.extend(("w", w) for w in device_text(text[at:]).split())
    return Template(intent, text, tuple(parts)) if parts else None


class _Catalogue:
    """The model's custom slot values and synonyms (normalised), and what each resolves to."""

    def __init__(self, types: Iterable[Mapping[str, Any]]) -> None:
        self.lookup: dict[str, dict[str, tuple[str, str]]] = {}  # type -> phrase -> (id, name)
        self.phrases: dict[str, list[str]] = {}  # type -> phrases, in model order
        for spec in types:
            if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
                continue
            type_name = spec["name"]
            table: dict[str, tuple[str, str]] = {}
            for value in spec.get("values") or []:
                name_block = value.get("name") if isinstance(value, Mapping) else None
                if not isinstance(name_block, Mapping):
                    continue
                name = str(name_block.get("value", ""))
                given = value.get("id")
                vid = given if isinstance(given, str) and given else sha256(f"{type_name}:{name}".encode()).hexdigest()[:32]
                for phrase in [name, *[s for s in name_block.get("synonyms") or [] if isinstance(s, str)]]:
                    key = device_text(phrase)
                    if key:
                        table.setdefault(key, (vid, name))  # the first value to claim a phrase keeps it
            self.lookup[type_name] = table
            self.phrases[type_name] = list(table)
        # Gazetteer: phrase -> types, and the longest phrase in words.
        self.gazetteer: dict[str, set[str]] = defaultdict(set)
        for type_name, table in self.lookup.items():
            for phrase in table:
                self.gazetteer[phrase].add(type_name)
        self.longest = max((len(p.split()) for p in self.gazetteer), default=0)

    def resolve(self, slot_type: str, words: str) -> tuple[str, str] | None:
        return self.lookup.get(slot_type, {}).get(device_text(words))


def _fill_values(slot_type: str, catalogue: _Catalogue, slot_name: str) -> list[str]:
    if slot_type in catalogue.phrases and catalogue.phrases[slot_type]:
        return catalogue.phrases[slot_type]
    if slot_type in _BUILTIN_FORMS:
        return [device_text(f) for f in _BUILTIN_FORMS[slot_type]]
    return [device_text(slot_name.replace("_", " ")) or "thing"]


class _Filler:
    """Deterministic fillings: each type's values are dealt in a shuffled cycle, so all of them are used."""

    def __init__(self, catalogue: _Catalogue, seed: int) -> None:
        self.catalogue = catalogue
        self.rng = random.Random(seed)
        self.decks: dict[tuple[str, str], list[str]] = {}

    def draw(self, slot_type: str, slot_name: str) -> str:
        key = (slot_type, slot_name if slot_type not in self.catalogue.phrases and slot_type not in _BUILTIN_FORMS else "")
        deck = self.decks.get(key)
        if not deck:
            deck = list(_fill_values(slot_type, self.catalogue, slot_name))
            self.rng.shuffle(deck)
            self.decks[key] = deck
        return deck.pop()

    def fill(self, template: Template, declared: Mapping[str, str]) -> Example:
        words: list[str] = []
        tags: list[str] = []
        for kind, item in template.parts:
            if kind == "w":
                words.append(item)
                tags.append("O")
                continue
            value = self.draw(declared[item], item).split()
            words.extend(value)
            tags.extend([f"B-{item}"] + [f"I-{item}"] * (len(value) - 1))
        return Example(template, tuple(words), tuple(tags))


# --- slot tagging features ------------------------------------------------------------------------


def _shape(word: str) -> str:
    shape = re.sub(r"[a-z]+", "a", re.sub(r"\d+", "0", word))
    return shape[:4]


def _gazette(words: Sequence[str], catalogue: _Catalogue) -> list[set[str]]:
    """Per word, which custom types (B-/I-) and built-in readings a run of words starting or covering it has."""
    marks: list[set[str]] = [set() for _ in words]
    n = len(words)
    for i in range(n):
        for j in range(min(n, i + max(catalogue.longest, 6)), i, -1):
            phrase = " ".join(words[i:j])
            types = set(catalogue.gazetteer.get(phrase, ()))
            if j - i <= 6 and may_end_a_value(words[j - 1]):
                if parse_number(phrase) is not None:
                    types.add("NUM")
                if parse_time(phrase) is not None:
                    types.add("TIME")
                if parse_duration(phrase) is not None:
                    types.add("DURATION")
            for t in types:
                marks[i].add(f"B-{t}")
                for k in range(i + 1, j):
                    marks[k].add(f"I-{t}")
    return marks


def _features(words: Sequence[str], intent: str, catalogue: _Catalogue, unlisted: Iterable[int] = ()) -> list[list[str]]:
    """CRF features of each word; ``unlisted`` words get no gazetteer marks (training on unlisted values)."""
    gaz = _gazette(words, catalogue)
    for i in unlisted:
        gaz[i] = set()
    padded = ["<s2>", "<s>", *words, "</s>", "</s2>"]
    out: list[list[str]] = []
    for i, word in enumerate(words):
        p = i + 2
        feats = [
            "bias", f"w={word}", f"p3={word[:3]}", f"s3={word[-3:]}", f"s2={word[-2:]}", f"shape={_shape(word)}",
            f"w-1={padded[p - 1]}", f"w-2={padded[p - 2]}", f"w+1={padded[p + 1]}", f"w+2={padded[p + 2]}",
            f"w-2:-1={padded[p - 2]}|{padded[p - 1]}", f"w+1:+2={padded[p + 1]}|{padded[p + 2]}",
            f"w-1:0={padded[p - 1]}|{word}", f"w0:+1={word}|{padded[p + 1]}",
            f"intent={intent}", f"intent|w-1={intent}|{padded[p - 1]}",
        ]
        if word.isdigit():
            feats.append("digits")
        feats.extend(f"gaz={g}" for g in sorted(gaz[i]))
        out.append(feats)
    return out


# --- training ------------------------------------------------------------------------------------


@dataclass
class _Trained:
    vectoriser: FeatureUnion
    classifier: LogisticRegression
    tagger_bytes: bytes
    labels: list[str]
    template_rows: Any  # sparse matrix of the classifier's training texts
    row_templates: list[Template]


def _vectoriser() -> FeatureUnion:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", token_pattern=r"[^ ]+", ngram_range=(1, 2), sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
    ])


def _classifier_data(templates: Sequence[Template], declared: Mapping[str, Mapping[str, str]],
                     catalogue: _Catalogue, seed: int, fills: int = _FILLS_PER_SAMPLE
                     ) -> tuple[list[str], list[str], list[float], list[Template]]:
    filler = _Filler(catalogue, seed)
    texts: list[str] = []
    labels: list[str] = []
    weights: list[float] = []
    origins: list[Template] = []
    for template in templates:
        count = fills if any(kind == "s" for kind, _ in template.parts) else 1
        for _ in range(count):
            example = filler.fill(template, declared[template.intent])
            texts.append(" ".join(example.words))
            labels.append(template.intent)
            weights.append(1.0 / count)
            origins.append(template)
    return texts, labels, weights, origins


def _train_classifier(templates: Sequence[Template], declared: Mapping[str, Mapping[str, str]], catalogue: _Catalogue,
                      seed: int) -> tuple[FeatureUnion, LogisticRegression, Any, list[Template]]:
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    texts, labels, weights, origins = _classifier_data(templates, declared, catalogue, seed)
    vectoriser = _vectoriser()
    matrix = vectoriser.fit_transform(texts)
    classifier = LogisticRegression(C=_C, solver="newton-cg", max_iter=200, class_weight=_CLASS_WEIGHT)
    # One BLAS thread: on a small problem more threads only contend (several times slower on 2 cores).
    with threadpool_limits(limits=1):
        classifier.fit(matrix, labels, sample_weight=np.asarray(weights))
    return vectoriser, classifier, matrix, origins


def _train_tagger(templates: Sequence[Template], declared: Mapping[str, Mapping[str, str]], catalogue: _Catalogue,
                  seed: int) -> bytes:
    import pycrfsuite

    filler = _Filler(catalogue, seed + 1)
    rng = random.Random(seed + 2)
    trainer = pycrfsuite.Trainer(verbose=False)
    for template in templates:
        slotted = any(kind == "s" for kind, _ in template.parts)
        for _ in range(_CRF_FILLS_PER_SAMPLE if slotted else 1):
            example = filler.fill(template, declared[template.intent])
            unlisted: list[int] = []
            if slotted and rng.random() < _UNLISTED_SHARE:
                # As if this filling's custom values were not in the catalogue: custom slots are open, and
                # the tagger must find them by their place, not only by the gazetteer.
                custom = {name for name, t in declared[template.intent].items() if t in catalogue.phrases}
                unlisted = [i for i, tag in enumerate(example.tags) if tag[2:] in custom]
            trainer.append(_features(example.words, template.intent, catalogue, unlisted), list(example.tags))
    trainer.set_params(_CRF_PARAMS)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "slots.crfsuite")
        trainer.train(path)
        return Path(path).read_bytes()


# --- keeping trained models -----------------------------------------------------------------------


_CACHE: dict[str, _Trained] = {}
_CACHE_LOCK = threading.Lock()

# A folder where trained models are kept for other processes: training the real model takes 10-20 s,
# loading a kept one a fraction of a second. The test suite points it at pytest's cache, so its two
# workers share one training. Pickles are loaded from it: name only a folder you alone write to.
CACHE_ENV = "BEDTIME_DEVICE_CACHE"
_KEPT_MAGIC = b"bedtime device nlu\n"


@cache
def _code_version() -> str:
    """What training depends on besides the model and the seed: this code, the built-in slot parsers
    (gazetteer features), the libraries that train and pickle, and the Python running them."""
    from importlib.metadata import version

    here = Path(__file__).resolve().parent
    digest = sha256()
    for name in ("device.py", "builtin_slots.py"):
        digest.update((here / name).read_bytes())
    for dist in ("scikit-learn", "python-crfsuite", "numpy", "scipy"):
        digest.update(f"|{dist}={version(dist)}".encode())
    digest.update(f"|{sys.version}".encode())
    return digest.hexdigest()


def _kept_path(folder: Path, key: str) -> Path:
    # The code version leads the name, so models an older version kept can be told apart and removed.
    return folder / f"{_code_version()[:16]}-{key[:32]}.pickle"


def _load_kept(path: Path, key: str) -> _Trained | None:
    """The model kept at ``path`` if it is whole and was trained for ``key`` by this code; else None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_KEPT_MAGIC)
    digest, payload = data[head:head + 32], data[head + 32:]
    if data[:head] != _KEPT_MAGIC or sha256(payload).digest() != digest:
        return None  # missing header, truncated or changed: never unpickle it
    try:
        kept_key, kept_version, trained = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - any unreadable pickle is trained again
        return None
    if kept_key != key or kept_version != _code_version() or not isinstance(trained, _Trained):
        return None  # another model's, or an older version's: stale
    return trained


def _keep(path: Path, key: str, trained: _Trained) -> None:
    """Write ``trained`` at ``path`` whole (aside, then renamed); drop what other code versions kept."""
    payload = pickle.dumps((key, _code_version(), trained), protocol=pickle.HIGHEST_PROTOCOL)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(_KEPT_MAGIC + sha256(payload).digest() + payload)
        os.replace(partial, path)
        for other in [*path.parent.glob("*.pickle"), *path.parent.glob("*.lock")]:
            if not other.name.startswith(_code_version()[:16]):
                other.unlink(missing_ok=True)
    except OSError:
        partial.unlink(missing_ok=True)  # a cache that cannot be written only costs the next process a training


def _trained_once(key: str, train: Callable[[], _Trained]) -> _Trained:
    """The model for ``key``: kept in this process, else kept on disk (``CACHE_ENV``), else trained and kept.

    On disk, a lock per model lets one process train while the others wait for it and load what it kept.
    """
    with _CACHE_LOCK:
        trained = _CACHE.get(key)
        if trained is not None:
            return trained
        folder = os.environ.get(CACHE_ENV)
        if not folder:
            trained = train()
        else:
            path = _kept_path(Path(folder), key)
            with exclusive(path.with_suffix(".lock")):
                trained = _load_kept(path, key)
                if trained is None:
                    trained = train()
                    _keep(path, key, trained)
        _CACHE[key] = trained
        return trained


# --- the device's understanding --------------------------------------------------------------------


class DeviceNLU:
    """Understands utterances as a device would, from one interaction model; same interface as ``Resolver``."""

    def __init__(self, model: Mapping[str, Any], *, threshold: float = DEFAULT_THRESHOLD, seed: int = SEED) -> None:
        language = _language(model)
        self.threshold = threshold
        self.invocation_name = device_text(str(language.get("invocationName") or ""))
        self.intents, self.templates = _intents_and_templates(language)
        self.catalogue = _Catalogue(language.get("types") or [])
        key = sha256(json.dumps(language, sort_keys=True).encode() + f"|{seed}".encode()).hexdigest()
        self._trained = _trained_once(key, lambda: self._train(seed))
        self._tagger = _open_tagger(self._trained.tagger_bytes)
        self._tag_lock = threading.Lock()
        launch = "|".join(re.escape(w) for w in sorted(_LAUNCH_WORDS, key=len, reverse=True))
        self._invocation_re = (re.compile(rf"(?:alexa )?(?:(?:{launch}) )?{re.escape(self.invocation_name)}(?: (?P<rest>.+))?")
                               if self.invocation_name else None)

    @classmethod
    def from_model(cls, path: Path, *, threshold: float = DEFAULT_THRESHOLD) -> "DeviceNLU":
        """Read the model file at ``path`` (an ASK ``en-US.json``) and train on it (cached per content)."""
        return cls(read_model(path), threshold=threshold)

    def _train(self, seed: int) -> _Trained:
        vectoriser, classifier, matrix, origins = _train_classifier(self.templates, self.intents, self.catalogue, seed)
        tagger_bytes = _train_tagger(self.templates, self.intents, self.catalogue, seed)
        return _Trained(vectoriser, classifier, tagger_bytes, [str(c) for c in classifier.classes_], matrix, origins)

    # --- the interface the Simulator uses ---

    def split_invocation(self, utterance: str) -> tuple[bool, str]:
        """``(True, "")`` for "open <name>", ``(True, rest)`` for "ask <name> <rest>", else ``(False, utterance)``."""
        text = device_text(utterance)
        if self._invocation_re is not None:
            m = self._invocation_re.fullmatch(text)
            if m:
                rest = m.group("rest") or ""
                first, _, after = rest.partition(" ")
                if first in _ONE_SHOT_JOINERS and after:
                    rest = after
                return True, rest
        return False, utterance

    def custom_value(self, slot_type: str, text: str) -> SlotMatch | None:
        """``text`` heard whole as a value or synonym of a custom type (an elicited slot's answer); else None."""
        found = self.catalogue.resolve(slot_type, text)
        if found is None:
            return None
        return SlotMatch("", device_text(text), slot_type, found[0], found[1])

    def probabilities(self, utterance: str) -> dict[str, float]:
        """Every intent's probability for ``utterance`` (before the Fallback threshold)."""
        words = self._words(utterance)
        if not words:
            return {}
        row = self._trained.vectoriser.transform([" ".join(words)])
        probs = self._trained.classifier.predict_proba(row)[0]
        return {label: float(p) for label, p in zip(self._trained.labels, probs)}

    def resolve(self, utterance: str) -> Resolution:
        """The intent and slots a device would most likely send for ``utterance``, or AMAZON.FallbackIntent."""
        words = self._words(utterance)
        fallback_slots = self.intents.get(FALLBACK_INTENT, {})
        if not words:
            return Resolution(FALLBACK_INTENT, {}, 0.0, None, fallback_slots)
        text = " ".join(words)
        row = self._trained.vectoriser.transform([text])
        probs = self._trained.classifier.predict_proba(row)[0]
        best = int(np.argmax(probs))
        intent, confidence = self._trained.labels[best], float(probs[best])
        if confidence < self.threshold:
            return Resolution(FALLBACK_INTENT, {}, round(confidence, 3), None, fallback_slots)
        slots = self._slots(words, intent)
        return Resolution(intent, slots, round(confidence, 3), self._nearest(row, intent), self.intents.get(intent, {}))

    # --- internals ---

    @staticmethod
    def _words(utterance: str) -> list[str]:
        words = device_text(utterance).split()
        if len(words) > 1 and words[0] == "alexa":
            words = words[1:]  # a device never passes the wake word on
        return words

    def tag(self, words: Sequence[str], intent: str) -> list[tuple[str, float]]:
        """The BIO slot tag of each of ``words`` for ``intent``, with its marginal probability."""
        with self._tag_lock:  # a crfsuite tagger holds the sequence it is working on
            tags = self._tagger.tag(_features(words, intent, self.catalogue))
            return [(tag, self._tagger.marginal(tag, i)) for i, tag in enumerate(tags)]

    def _slots(self, words: Sequence[str], intent: str) -> dict[str, SlotMatch]:
        declared = self.intents.get(intent, {})
        spans: list[tuple[str, int, int, float]] = []  # slot, start, end, summed marginal
        for i, (tag, marginal) in enumerate(self.tag(words, intent)):
            if tag == "O":
                continue
            kind, _, name = tag.partition("-")
            if kind == "I" and spans and spans[-1][0] == name and spans[-1][2] == i:
                spans[-1] = (name, spans[-1][1], i + 1, spans[-1][3] + marginal)
            else:
                spans.append((name, i, i + 1, marginal))
        # One value per slot, as Alexa sends: the span the tagger is surest of (mean marginal).
        chosen: dict[str, tuple[int, int, float]] = {}
        for name, start, end, total in spans:
            mean = total / (end - start)
            if name not in chosen or mean > chosen[name][2]:
                chosen[name] = (start, end, mean)
        slots: dict[str, SlotMatch] = {}
        for name, (start, end, _) in sorted(chosen.items(), key=lambda item: item[1][0]):
            slot_type = declared.get(name)
            if slot_type is None:
                continue  # only the slots the chosen intent declares
            heard = " ".join(words[start:end])
            parser = _BUILTIN_PARSERS.get(slot_type)
            if parser is not None:
                value = parser(heard)
                if value is not None:
                    slots[name] = SlotMatch(name, value, slot_type, None, None)
                continue
            found = self.catalogue.resolve(slot_type, heard)
            if found is not None:
                slots[name] = SlotMatch(name, heard, slot_type, found[0], found[1])
            else:
                slots[name] = SlotMatch(name, heard, slot_type, None, None)  # ER_SUCCESS_NO_MATCH
        return slots

    def _nearest(self, row: Any, intent: str) -> str | None:
        trained = self._trained
        rows = [i for i, t in enumerate(trained.row_templates) if t.intent == intent]
        if not rows:
            return None
        scores = (trained.template_rows[rows] @ row.T).toarray().ravel()
        return trained.row_templates[rows[int(np.argmax(scores))]].text


def _open_tagger(data: bytes) -> pycrfsuite.Tagger:
    import pycrfsuite

    tagger = pycrfsuite.Tagger()
    tagger.open_inmemory(data)
    return tagger


# --- cross-validation and the threshold --------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """What cross-validation on the samples says: accuracy, and the threshold it chooses."""

    accuracy: float  # held-out samples classified as their own intent (no threshold)
    accuracy_at_threshold: float  # ... and above the threshold
    ood_rejected: float  # held-out intents' samples sent to Fallback at the threshold
    threshold: float
    in_domain: list[tuple[float, bool]]
    out_of_domain: list[float]


def _folds(items: Sequence[Any], key: Any, k: int, seed: int) -> list[int]:
    """A stratified fold number for each item (by ``key(item)``), dealt round-robin after a seeded shuffle."""
    groups: dict[Any, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[key(item)].append(i)
    fold = [0] * len(items)
    rng = random.Random(seed)
    offset = 0
    for _, members in sorted(groups.items()):
        rng.shuffle(members)
        for n, i in enumerate(members):
            fold[i] = (n + offset) % k
        offset += len(members)
    return fold


def calibrate(model: Mapping[str, Any], folds: int = 5, seed: int = SEED) -> Calibration:
    """Cross-validate the intent classifier on the model's samples and choose the Fallback threshold.

    In-domain: stratified ``folds``-fold CV over the samples (each held-out sample filled once, with
    values drawn afresh). Out-of-domain stand-ins: the skill's own intents dealt into ``folds`` groups;
    each group is held out whole and its samples are scored by a classifier that never saw those
    intents. The threshold is the confidence that KEEP_RIGHT of the correctly classified held-out
    samples reach.
    """
    language = _language(model)
    intents, templates = _intents_and_templates(language)
    catalogue = _Catalogue(language.get("types") or [])

    def scored(train: Sequence[Template], test: Sequence[Template], fold_seed: int) -> tuple[np.ndarray, list[str]]:
        vectoriser, classifier, _, _ = _train_classifier(train, intents, catalogue, fold_seed)
        texts, _, _, _ = _classifier_data(test, intents, catalogue, fold_seed + 1000, fills=1)
        probs = classifier.predict_proba(vectoriser.transform(texts))
        return probs, list(classifier.classes_)

    in_domain: list[tuple[float, bool]] = []
    fold_of = _folds(templates, lambda t: t.intent, folds, seed)
    for f in range(folds):
        train = [t for t, n in zip(templates, fold_of) if n != f]
        test = [t for t, n in zip(templates, fold_of) if n == f]
        probs, classes = scored(train, test, seed + f)
        for t, p in zip(test, probs):
            best = int(np.argmax(p))
            in_domain.append((float(p[best]), classes[best] == t.intent))
    out_of_domain: list[float] = []
    own = sorted({t.intent for t in templates if not t.intent.startswith("AMAZON.")})
    rng = random.Random(seed)
    rng.shuffle(own)
    for f in range(folds):
        held = set(own[f::folds])
        train = [t for t in templates if t.intent not in held]
        test = [t for t in templates if t.intent in held]
        probs, _ = scored(train, test, seed + 100 + f)
        out_of_domain.extend(float(p.max()) for p in probs)

    # The threshold keeps KEEP_RIGHT of the held-out samples the classifier gets right (the usual
    # "95% true positives" operating point of out-of-domain detection, and Alexa's default LOW fallback
    # sensitivity, which favours the skill's intents); the stand-ins show how much it rejects.
    right = sorted(p for p, ok in in_domain if ok)
    threshold = round(float(np.percentile(right, 100 * (1 - KEEP_RIGHT))), 2) if right else 0.0
    accuracy = sum(right for _, right in in_domain) / len(in_domain)
    at = sum(right and p >= threshold for p, right in in_domain) / len(in_domain)
    rejected = sum(p < threshold for p in out_of_domain) / len(out_of_domain)
    return Calibration(accuracy, at, rejected, threshold, in_domain, out_of_domain)


def main(argv: list[str] | None = None) -> int:
    """`python -m skill_tools.simulator.device [--calibrate] [utterance ...]`: device-mode understanding."""
    from skill_tools.paths import MODEL_FILE, default_model_dir

    parser = argparse.ArgumentParser(prog="python -m skill_tools.simulator.device", description=main.__doc__)
    parser.add_argument("utterance", nargs="*")
    parser.add_argument("--calibrate", action="store_true", help="cross-validate on the samples and choose the threshold")
    parser.add_argument("--model", type=Path, default=None, help="skill package directory")
    args = parser.parse_args(argv)
    path = (args.model or default_model_dir()) / MODEL_FILE
    if args.calibrate:
        result = calibrate(read_model(path))
        print(json.dumps({"cv_accuracy": round(result.accuracy, 3),
                          "cv_accuracy_at_threshold": round(result.accuracy_at_threshold, 3),
                          "held_out_intents_to_fallback": round(result.ood_rejected, 3),
                          "threshold": result.threshold, "in_domain": len(result.in_domain),
                          "out_of_domain_stand_ins": len(result.out_of_domain)}))
    if args.utterance:
        nlu = DeviceNLU.from_model(path)
        res = nlu.resolve(" ".join(args.utterance))
        slots = {k: [v.value, v.resolved_id] for k, v in res.slots.items()}
        print(json.dumps({"intent": res.intent, "confidence": res.confidence, "slots": slots, "sample": res.sample}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
