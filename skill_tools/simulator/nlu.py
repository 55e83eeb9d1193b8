"""Offline language understanding: turn a typed utterance into the intent and slots Alexa would send.

The resolver reads any ASK interaction model (``interactionModel.languageModel``), compiles every
sample utterance once into a regular expression, and at run time tries an exact match first
(confidence 1.0) and a fuzzy match second (token sequence similarity and token-set overlap, with
recognised slot values counted as slot fills). Below the threshold the answer is
AMAZON.FallbackIntent, as on a real device.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from hashlib import md5
from pathlib import Path
from typing import Any, Callable

from skill_tools.simulator.builtin_slots import BUILTIN_TYPES

FALLBACK_INTENT = "AMAZON.FallbackIntent"

# Phrases Alexa understands for built-in intents even when the model lists no samples for them.
BUILTIN_PHRASES: dict[str, tuple[str, ...]] = {
    "AMAZON.HelpIntent": ("help", "help me", "what can i say", "what can you do", "how does this work"),
    "AMAZON.StopIntent": ("stop", "shut up", "quiet", "be quiet", "off", "goodbye", "bye"),
    "AMAZON.CancelIntent": ("cancel", "never mind", "nevermind", "forget it"),
    "AMAZON.YesIntent": ("yes", "yeah", "yep", "sure", "yes please", "ok", "okay", "please do"),
    "AMAZON.NoIntent": ("no", "nope", "no thanks", "no thank you", "not now"),
    "AMAZON.RepeatIntent": ("repeat", "repeat that", "say that again", "what did you say", "again"),
    "AMAZON.StartOverIntent": ("start over", "restart", "start again", "begin again"),
    "AMAZON.NavigateHomeIntent": ("go home", "home"),
    "AMAZON.PauseIntent": ("pause", "hold on", "wait"),
    "AMAZON.ResumeIntent": ("resume", "continue", "carry on"),
    "AMAZON.NextIntent": ("next", "skip", "next one"),
    "AMAZON.PreviousIntent": ("previous", "go back", "back"),
    "AMAZON.MoreIntent": ("more", "tell me more"),
}

# Words a person puts before a skill's name to open it or to ask it something in one go.
LAUNCH_WORDS = ("ask", "tell", "open", "launch", "start", "begin", "load", "run", "use", "talk to", "play", "resume")
# Words joining the skill's name to a one-shot request: "ask bedtime magnesium ABOUT forms".
_ONE_SHOT_JOINERS = ("to ", "for ", "about ", "whether ", "if ", "that ", "and ")

_FREE_WORDS = r"[^ ]+(?: [^ ]+){0,7}?"  # an unknown custom value: a few words, as Alexa would capture
_MAX_SPAN = 8  # longest built-in value (in words) the fuzzy pass looks for
DEFAULT_THRESHOLD = 0.6


class ModelError(ValueError):
    """The interaction model file cannot be used (missing, not JSON, or not an ASK model)."""


@dataclass(frozen=True)
class SlotMatch:
    """One filled slot: what was heard and, for custom types, what it resolved to."""

    name: str
    value: str
    slot_type: str
    resolved_id: str | None
    resolved_name: str | None


@dataclass(frozen=True)
class Resolution:
    """The chosen intent, its filled slots, how sure the match is, and the sample it came from."""

    intent: str
    slots: dict[str, SlotMatch]
    confidence: float
    sample: str | None
    # Every slot the model declares on this intent (name -> type); requests list them all.
    declared_slots: Mapping[str, str] = field(default_factory=dict)


def normalise(text: str) -> str:
    """Lowercase, drop punctuation (keeping apostrophes, decimals, clock colons), unify units."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)  # a.m. / p.m.
    text = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)  # 300mg -> 300 mg
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    text = text.replace("&", " and ").replace("%", " percent ").replace("-", " ")
    text = re.sub(r"(?<!\d)[.:]|[.:](?!\d)", " ", text)  # keep "2.5" and "10:30" only
    text = re.sub(r"[^\w\s'.:]|_", " ", text)
    text = re.sub(r"(?<![^\W\d_])'|'(?![^\W\d_])", " ", text)  # keep what's, o'clock
    # People type "mg"; samples say "milligrams". One spelling makes both sides meet.
    text = re.sub(r"\b(?:mgs?|milligram)\b", "milligrams", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class _CustomType:
    """A custom slot type: every value and synonym (normalised) -> (id, canonical name)."""

    phrases: dict[str, tuple[str, str]]
    pattern: str


@dataclass(frozen=True)
class _SlotRef:
    group: str
    name: str
    slot_type: str


@dataclass(frozen=True)
class _Sample:
    intent: str
    text: str
    regex: re.Pattern[str]
    slots: tuple[_SlotRef, ...]
    tokens: tuple[str, ...]  # literals, and "\0<type>" where a slot sits (for the fuzzy pass)
    literal_count: int


def _alternation(phrases: Iterable[str]) -> str:
    return "|".join(re.escape(p) for p in sorted(set(phrases), key=lambda p: (-len(p), p)))


def _value_id(type_name: str, value: Mapping[str, Any], name: str) -> str:
    """The value's own id, or a stable hash like the ids Alexa makes for values without one."""
    given = value.get("id")
    if isinstance(given, str) and given:
        return given
    return md5(f"{type_name}:{name}".encode()).hexdigest()


class Resolver:
    """Resolve utterances against one interaction model, compiled once at construction."""

    def __init__(self, model: Mapping[str, Any], *, threshold: float = DEFAULT_THRESHOLD) -> None:
        language = _language_model(model)
        self.threshold = threshold
        self.invocation_name = normalise(str(language.get("invocationName") or ""))
        self._types = {t["name"]: self._compile_type(t) for t in _list(language.get("types")) if _named(t)}
        self.intents: dict[str, dict[str, str]] = {}
        self._samples: list[_Sample] = []
        for intent in _list(language.get("intents")):
            if not _named(intent):
                continue
            name = intent["name"]
            declared = {s["name"]: str(s.get("type", "")) for s in _list(intent.get("slots")) if _named(s)}
            self.intents[name] = declared
            samples = [s for s in _list(intent.get("samples")) if isinstance(s, str) and s.strip()]
            for text in [*samples, *BUILTIN_PHRASES.get(name, ())]:
                compiled = self._compile_sample(name, text, declared)
                if compiled is not None:
                    self._samples.append(compiled)
        self._invocation_re = self._compile_invocation()

    @classmethod
    def from_model(cls, path: Path, *, threshold: float = DEFAULT_THRESHOLD) -> "Resolver":
        """Read and compile the model file at ``path`` (an ASK ``en-US.json``)."""
        try:
            model = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"{path}: no such interaction model file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"{path}: cannot read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
        return cls(model, threshold=threshold)

    # --- compiling ---------------------------------------------------------------------------

    def _compile_type(self, spec: Mapping[str, Any]) -> _CustomType:
        phrases: dict[str, tuple[str, str]] = {}
        for value in _list(spec.get("values")):
            if not isinstance(value, Mapping) or not isinstance(value.get("name"), Mapping):
                continue
            name = str(value["name"].get("value", ""))
            if not name.strip():
                continue
            resolved = (_value_id(spec["name"], value, name), name)
            synonyms = [s for s in _list(value["name"].get("synonyms")) if isinstance(s, str)]
            for phrase in [name, *synonyms]:
                # The first value to claim a phrase keeps it, as the linter asks models to avoid clashes.
                phrases.setdefault(normalise(phrase), resolved)
        phrases.pop("", None)
        known = _alternation(phrases)
        pattern = f"(?:{known}|{_FREE_WORDS})" if known else _FREE_WORDS
        return _CustomType(phrases, pattern)

    def _fragment(self, slot_type: str) -> str:
        if slot_type in BUILTIN_TYPES:
            return BUILTIN_TYPES[slot_type][0]
        if slot_type in self._types:
            return self._types[slot_type].pattern
        return _FREE_WORDS  # AMAZON.SearchQuery, AMAZON.FirstName ... : words as spoken

    def _compile_sample(self, intent: str, text: str, declared: Mapping[str, str]) -> _Sample | None:
        pieces: list[str] = []
        tokens: list[str] = []
        slots: list[_SlotRef] = []
        for part in re.split(r"(\{[^{}]*\})", text):
            if part.startswith("{") and part.endswith("}"):
                slot_name = part[1:-1].strip()
                slot_type = declared.get(slot_name, "")
                group = f"s{len(slots)}"
                slots.append(_SlotRef(group, slot_name, slot_type))
                pieces.append(f"(?P<{group}>{self._fragment(slot_type)})")
                tokens.append("\0" + slot_type)
            else:
                words = normalise(part).split()
                pieces.extend(re.escape(w) for w in words)
                tokens.extend(words)
        if not pieces:
            return None
        literal_count = len(tokens) - len(slots)
        return _Sample(intent, text, re.compile(" ".join(pieces)), tuple(slots), tuple(tokens), literal_count)

    def _compile_invocation(self) -> re.Pattern[str] | None:
        if not self.invocation_name:
            return None
        launch = _alternation(LAUNCH_WORDS)
        name = re.escape(self.invocation_name)
        return re.compile(rf"(?:alexa )?(?:(?:{launch}) )?{name}(?: (?P<rest>.+))?")

    # --- resolving ---------------------------------------------------------------------------

    def split_invocation(self, utterance: str) -> tuple[bool, str]:
        """Tell whether the utterance names the skill ("open ...", "ask ... how much") and what follows.

        Returns ``(True, "")`` for a plain launch, ``(True, rest)`` for a one-shot request, and
        ``(False, utterance)`` when the skill's name is not said.
        """
        text = normalise(utterance)
        if self._invocation_re is not None:
            m = self._invocation_re.fullmatch(text)
            if m:
                rest = m.group("rest") or ""
                for joiner in _ONE_SHOT_JOINERS:
                    if rest.startswith(joiner):
                        rest = rest[len(joiner):]
                        break
                return True, rest
        return False, utterance

    def resolve(self, utterance: str) -> Resolution:
        """Return the best intent for ``utterance``, or AMAZON.FallbackIntent if nothing is close."""
        text = normalise(utterance)
        exact, matched = self._exact(text)
        if exact and exact[0][0] >= 1.0:
            return exact[0][2]
        ranked = self._rank(text, exact, matched)
        if not ranked or ranked[0].confidence < self.threshold:
            best = ranked[0].confidence if ranked else 0.0
            return Resolution(FALLBACK_INTENT, {}, round(best, 3), None, self.intents.get(FALLBACK_INTENT, {}))
        return ranked[0]

    def candidates(self, utterance: str, n: int = 3) -> list[Resolution]:
        """The ``n`` best intents for ``utterance`` (one resolution per intent), best first."""
        text = normalise(utterance)
        return self._rank(text, *self._exact(text))[:n]

    def _rank(self, text: str, exact: list[tuple[float, int, Resolution]], matched: set[int]) -> list[Resolution]:
        scored = exact + self._fuzzy(text, matched)
        scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
        seen: set[str] = set()
        out: list[Resolution] = []
        for _, _, resolution in scored:
            if resolution.intent not in seen:
                seen.add(resolution.intent)
                out.append(resolution)
        return out

    def _exact(self, text: str) -> tuple[list[tuple[float, int, Resolution]], set[int]]:
        """Samples the utterance matches word for word, best first, and their indexes."""
        found: list[tuple[float, int, Resolution]] = []
        matched: set[int] = set()
        if not text:
            return found, matched
        for index, sample in enumerate(self._samples):
            m = sample.regex.fullmatch(text)
            if not m:
                continue
            slots: dict[str, SlotMatch] = {}
            unresolved_words = 0
            for ref in sample.slots:
                match = self._slot_match(ref.name, ref.slot_type, m.group(ref.group))
                if match is None:
                    break
                if ref.slot_type in self._types and match.resolved_id is None:
                    unresolved_words += len(match.value.split())
                slots[ref.name] = match
            else:
                literal = sample.literal_count
                confidence = 1.0
                if unresolved_words:
                    # Alexa still fills an unknown value (ER_SUCCESS_NO_MATCH), but a sample that
                    # is mostly unknown words ("what is {form}" for "what is the weather in
                    # paris") is weak evidence: trust it by the share of words the sample fixed.
                    confidence = 0.2 + 0.75 * literal / (literal + unresolved_words)
                resolution = Resolution(sample.intent, slots, round(confidence, 3), sample.text, self.intents[sample.intent])
                found.append((confidence, literal, resolution))
                matched.add(index)
        found.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return found, matched

    def _slot_match(self, name: str, slot_type: str, heard: str) -> SlotMatch | None:
        if slot_type in BUILTIN_TYPES:
            value = BUILTIN_TYPES[slot_type][1](heard)
            return None if value is None else SlotMatch(name, value, slot_type, None, None)
        custom = self._types.get(slot_type)
        if custom is not None:
            resolved = custom.phrases.get(heard)
            if resolved is not None:
                return SlotMatch(name, heard, slot_type, resolved[0], resolved[1])
        return SlotMatch(name, heard, slot_type, None, None)

    def _spans(self, words: list[str], slot_type: str) -> list[tuple[int, int, SlotMatch]]:
        """Non-overlapping runs of ``words`` that are values of ``slot_type``, longest first."""
        custom = self._types.get(slot_type)
        parser: Callable[[str], str | None] | None = BUILTIN_TYPES.get(slot_type, (None, None))[1]
        if custom is None and parser is None:
            return []
        spans: list[tuple[int, int, SlotMatch]] = []
        i = 0
        while i < len(words):
            for j in range(min(len(words), i + _MAX_SPAN), i, -1):
                heard = " ".join(words[i:j])
                if custom is not None and heard in custom.phrases:
                    rid, rname = custom.phrases[heard]
                    spans.append((i, j, SlotMatch("", heard, slot_type, rid, rname)))
                    break
                if parser is not None:
                    value = parser(heard)
                    if value is not None:
                        spans.append((i, j, SlotMatch("", value, slot_type, None, None)))
                        break
            else:
                i += 1
                continue
            i = spans[-1][1]
        return spans

    def _fuzzy(self, text: str, skip: set[int]) -> list[tuple[float, int, Resolution]]:
        """Score every sample by similarity; ``skip`` holds samples already matched exactly,
        whose exact reading (with every slot filled) is the better one."""
        words = text.split()
        if not words:
            return []
        span_cache: dict[str, list[tuple[int, int, SlotMatch]]] = {}
        substituted: dict[tuple[str, ...], tuple[list[str], list[SlotMatch], set[str], SequenceMatcher[str]]] = {}
        best: dict[str, tuple[float, int, Resolution]] = {}
        for index, sample in enumerate(self._samples):
            if index in skip:
                continue
            types = tuple(dict.fromkeys(ref.slot_type for ref in sample.slots))
            if types not in substituted:
                tokens, fills = self._substitute(words, types, span_cache)
                # SequenceMatcher caches facts about its second sequence: the utterance, reused.
                substituted[types] = (tokens, fills, set(tokens), SequenceMatcher(None, b=tokens, autojunk=False))
            tokens, fills, token_set, matcher = substituted[types]
            common = token_set.intersection(sample.tokens)
            if not common:
                continue  # nothing in common: not worth a sequence comparison
            matcher.set_seq1(sample.tokens)
            ratio = matcher.ratio()
            jaccard = len(common) / len(token_set.union(sample.tokens))
            score = min(0.99, (ratio + jaccard) / 2)
            if score <= best.get(sample.intent, (-1.0, 0, None))[0]:
                continue
            slots: dict[str, SlotMatch] = {}
            pool = list(fills)
            for ref in sample.slots:
                for k, fill in enumerate(pool):
                    if fill.slot_type == ref.slot_type:
                        slots[ref.name] = SlotMatch(ref.name, fill.value, fill.slot_type, fill.resolved_id, fill.resolved_name)
                        del pool[k]
                        break
            resolution = Resolution(sample.intent, slots, round(score, 3), sample.text, self.intents[sample.intent])
            best[sample.intent] = (score, sample.literal_count, resolution)
        return list(best.values())

    def _substitute(
        self, words: list[str], types: tuple[str, ...], cache: dict[str, list[tuple[int, int, SlotMatch]]]
    ) -> tuple[list[str], list[SlotMatch]]:
        """Replace recognised slot values in ``words`` by type placeholders, so "300 milligrams"
        compares equal to "{amount} milligrams" whatever the number."""
        claimed: list[tuple[int, int, SlotMatch]] = []
        for slot_type in types:
            if slot_type not in cache:
                cache[slot_type] = self._spans(words, slot_type)
            for start, end, match in cache[slot_type]:
                if all(end <= s or start >= e for s, e, _ in claimed):
                    claimed.append((start, end, match))
        claimed.sort(key=lambda c: c[0])
        tokens: list[str] = []
        i = 0
        for start, end, match in claimed:
            tokens.extend(words[i:start])
            tokens.append("\0" + match.slot_type)
            i = end
        tokens.extend(words[i:])
        return tokens, [match for _, _, match in claimed]


def _language_model(model: Any) -> Mapping[str, Any]:
    if not isinstance(model, Mapping):
        raise ModelError("interaction model: the top level must be a JSON object")
    language = model.get("interactionModel", {}).get("languageModel") if isinstance(model.get("interactionModel"), Mapping) else None
    if not isinstance(language, Mapping):
        raise ModelError("interaction model: missing interactionModel.languageModel")
    if not isinstance(language.get("intents"), list):
        raise ModelError("interaction model: languageModel.intents must be a list")
    return language


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _named(item: Any) -> bool:
    return isinstance(item, Mapping) and isinstance(item.get("name"), str) and bool(item["name"])
