"""Offline language understanding: an APPROXIMATION of Alexa's NLU, for the developer tools.

On a device, Amazon's statistical NLU turns speech into an intent and slots; it is trained on the
skill's interaction model (and on much more data of Amazon's own) and cannot be run offline. This
resolver imitates it in the same spirit, at a far smaller scale, so ``bedtime-skill ask``, ``chat``,
the web console and the tests can talk to the skill. Its answers can differ from a real device's:
check what matters in the ASK simulator or on a device.

How it decides:

0. Hesitations and empty intensifiers ("um", "actually", ``_FILLERS``) are dropped from the
   utterance and from the samples alike; a typed wake word ("alexa ...") is dropped too.
1. Entity recognition. Custom slot values and synonyms from the model's types are found in the
   utterance (whole words, longest match first, tolerant of plural/singular, a dropped apostrophe
   and a leading "my"/"a"); AMAZON.NUMBER, AMAZON.TIME and AMAZON.DURATION are found by the
   parsers in ``builtin_slots`` ("three hundred" -> "300", "half past ten pm" -> "22:30"); "one"
   after "that", "each"... is a pronoun, not a number.
2. Intent classification. A linear SVM over TF-IDF features: word 1-3 grams of the utterance
   with each recognised value replaced by its slot type, and character 2-5 grams of the words as
   said (robust to "sleeping"/"sleep" and typing slips). It is trained on the model's sample
   utterances only (each filled with the model's own slot values), the phrases Alexa's built-in
   intents understand (``BUILTIN_PHRASES``, for the built-in intents the model declares) and a
   few everyday requests that belong to no skill (``OUT_OF_DOMAIN``, standing for the data
   Amazon trains AMAZON.FallbackIntent with). Training is deterministic. Scores become
   probabilities by a softmax at a temperature fitted on held-out samples (``TEMPERATURE``).
3. An utterance that is a sample word for word (slot values aside) is certain: confidence 1.0.
   Otherwise the confidence is the classifier's probability; below the threshold (read off
   cross-validation on the samples, see ``DEFAULT_THRESHOLD``) the answer is AMAZON.FallbackIntent,
   unless the utterance is a sample word for word but for a word or two the resolver has never
   heard in a custom slot's place ("what is zinc"): then it is classified with those words
   tagged as the slot, as Alexa's slot tagging would hear them; or unless it is a run-on whose
   clearest clause (split at "and", "so", question words...) is an intent above the threshold.
4. Intent and slots together, as a joint model would weigh them: a health mention (a ConditionType
   value, an age under 18, or a word no sample or value says after words the samples put before a
   health mention: "oh and i'm on biktarvy") needs an intent with a condition slot, a symptom one with a symptom
   slot, a topic the sources do not cover the intent that holds one, two forms an intent that
   holds two, and an intent never said without a value is not chosen without one; the next
   likeliest intent that fits is taken instead (``_explaining``).
5. Slot filling. Slots are filled only if the chosen intent declares them. Where several slots
   share a type (amount, count and age are all numbers) the words either side of a value decide,
   counted over the intent's samples and the nearest sample most ("i'M {age}", "take {amount}
   {unit}"); a number fills a slot the nearest sample lacks only in that slot's context. A
   custom-type value that is spoken where one of the intent's samples has that slot, but is none
   of the type's values, is sent as heard with no resolution (ER_SUCCESS_NO_MATCH), as Alexa does;
   so is an unseen word after a health mention's usual words ("i'm on", "i take", "someone on"),
   wherever it falls. A number after "i'm" or "my mom's" is an age, and a second choice follows "or".

Not imitated: Amazon's own training data, dialog models and slot elicitation context, spoken-form
quirks of speech recognition, and utterance-level confidence (Alexa sends none to skills).
"""
from __future__ import annotations

import copy
import json
import re
import threading
import unicodedata
import weakref
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from hashlib import md5, sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import jellyfish
import numpy as np

if TYPE_CHECKING:
    from sklearn.svm import LinearSVC

from skill.knowledge.safety import ADULT_AGE
from skill_tools.simulator.builtin_slots import BUILTIN_PARSERS, MAX_BUILTIN_WORDS, may_end_a_value, parse_number

FALLBACK_INTENT = "AMAZON.FallbackIntent"
APPROXIMATION_NOTE = "offline approximation of Alexa's NLU; a device may hear this differently"

# Phrases Alexa understands for built-in intents even when the model lists no samples for them.
# Used only for the built-in intents the model declares, as Alexa sends no others.
BUILTIN_PHRASES: dict[str, tuple[str, ...]] = {
    "AMAZON.HelpIntent": ("help", "help me", "what can i say", "what can you do", "how does this work",
                          "i need help", "what are my options", "how do i use this", "what can you help me with",
                          "what can i ask"),
    "AMAZON.StopIntent": ("stop", "shut up", "quiet", "be quiet", "off", "goodbye", "bye", "exit", "quit",
                          "i'm done", "that's all", "stop talking", "enough", "good night", "goodnight", "night night",
                          "i'm done for tonight", "that's enough for now", "that's all thanks", "thanks bye", "go away",
                          "i'm going to sleep now", "leave me alone"),
    "AMAZON.CancelIntent": ("cancel", "never mind", "nevermind", "forget it", "cancel that", "don't bother"),
    "AMAZON.YesIntent": ("yes", "yeah", "yep", "yup", "sure", "yes please", "ok", "okay", "please do",
                         "go ahead", "sounds good", "of course", "alright", "yes i would", "why not", "definitely"),
    "AMAZON.NoIntent": ("no", "nope", "nah", "no thanks", "no thank you", "not now", "not really",
                        "no i'm good", "i'm fine", "no i don't"),
    "AMAZON.RepeatIntent": ("repeat", "repeat that", "say that again", "what did you say", "again",
                            "can you repeat that", "come again", "pardon", "one more time", "i didn't catch that",
                            "what was that", "sorry what", "say it again", "what was the last bit", "huh what"),
    "AMAZON.StartOverIntent": ("start over", "restart", "start again", "begin again", "from the top",
                               "start from the beginning", "let's start over"),
    "AMAZON.NavigateHomeIntent": ("go home", "home"),
    "AMAZON.PauseIntent": ("pause", "hold on", "wait", "wait a second", "hang on", "give me a minute",
                           "one sec", "just a moment", "not yet", "i'm not ready"),
    "AMAZON.ResumeIntent": ("resume", "continue", "carry on", "keep going", "go on", "where were we"),
    "AMAZON.NextIntent": ("next", "skip", "next one", "skip this", "the next one", "move on"),
    "AMAZON.PreviousIntent": ("previous", "go back", "back", "the one before", "last one"),
    "AMAZON.MoreIntent": ("more", "tell me more", "more please", "more details", "what else", "give me more",
                          "tell me more about that", "i want to know more"),
}

# Everyday requests that belong to no skill: the classifier's picture of "out of domain", as
# Amazon trains AMAZON.FallbackIntent on requests from other domains. Generic on purpose: nothing
# here is about sleep, supplements or health, so it cannot steal a bedtime question.
OUT_OF_DOMAIN: tuple[str, ...] = (
    "what's the weather", "what's the weather like tomorrow", "will it rain today", "how hot is it outside",
    "play some music", "play jazz", "play my playlist", "turn up the volume", "next song",
    "what's the news", "read me the headlines", "what's the score of the game", "who won the football",
    "tell me a joke", "sing me a song", "what's your name", "who made you", "are you a robot",
    "call mom", "send a text to john", "add milk to my shopping list", "order more paper towels",
    "turn off the lights", "turn on the kitchen light", "lock the front door", "set the thermostat to seventy",
    "how do i get to the airport", "what's the traffic like", "find a restaurant near me",
    "how tall is the eiffel tower", "who is the president", "what's the capital of france",
    "how many ounces in a cup", "what's twelve times eight", "spell necessary", "translate hello into spanish",
    "what movies are playing", "buy a new phone", "book a flight to london", "what's on my calendar",
    "where is my package", "how old is the universe", "do you like pizza", "open netflix",
    # Night-time requests for other skills and for Alexa itself: close to this skill's words, not its subject.
    "set an alarm for seven", "wake me up at six thirty", "snooze", "what time is it", "how long until sunrise",
    "play rain sounds", "play white noise", "play ocean waves", "read me an audiobook", "turn off the tv",
    "dim the bedroom lights", "set a sleep timer for thirty minutes", "how far is the nearest star",
    "how many hours did i sleep last night", "track my sleep", "what's my heart rate", "order sleeping pills",
    "how do you make hot chocolate", "what's the recipe for chamomile tea", "tell me a bedtime story",
    "how do i fix my pillow", "what's a good mattress", "is the baby monitor on", "call my sister",
    "what day is it tomorrow", "remind me to buy milk", "cancel my alarm", "what's the temperature in here",
    "how much does a gram of gold cost", "how many milligrams in a gram",
)

# Words a person puts before a skill's name to open it or to ask it something in one go.
LAUNCH_WORDS = ("ask", "tell", "open", "launch", "start", "begin", "load", "run", "use", "talk to", "play", "resume")
# Words joining the skill's name to a one-shot request: "ask bedtime magnesium ABOUT forms".
_ONE_SHOT_JOINERS = ("to ", "for ", "about ", "whether ", "if ", "that ", "and ")

# Read off 5-fold cross-validation on the project's model (``cross_validate(...).rates(t)``, 1,850
# samples): at 0.5, 3.8% of held-out samples fall back and 27% of held-out off-topic requests get through
# (most are night-time requests near the skill's words, "how many milligrams in a gram"); accuracy is
# 91.3%. ``best_threshold()``, which weighs the two rates equally, prefers 0.8 (11.7% falling back, 14.9%
# through): a sleepless person not understood costs more than an off-topic request answered by a
# question, so 0.5 stays. (Of the phrase banks' 43 held-out off-topic phrasings, 38 fall back at 0.5.)
DEFAULT_THRESHOLD = 0.5
# Thresholds cross-validation tries: 0.05, 0.10, ... 0.95.
THRESHOLD_GRID: tuple[float, ...] = tuple(k / 20 for k in range(1, 20))
# The SVM's scores become probabilities by a softmax at this temperature, fitted (least
# log-loss) on held-out samples: at 6 the mean confidence matches the cross-validated accuracy.
TEMPERATURE = 6.0
_FILLS_PER_SAMPLE = 3  # a sample with slots is trained in this many fillings, weighted to count once
_MAX_EXACT_READINGS = 2000  # steps spent trying an utterance's readings against the samples word for word
# Values a built-in slot is filled with for training, turn and turn about.
_BUILTIN_FILLS: dict[str, tuple[str, ...]] = {
    "AMAZON.NUMBER": ("three hundred", "400", "two", "twelve hundred", "fifty"),
    "AMAZON.FOUR_DIGIT_NUMBER": ("2024", "1999"),
    "AMAZON.TIME": ("ten thirty pm", "eleven", "half past ten", "10 pm", "midnight"),
    "AMAZON.DURATION": ("twenty minutes", "an hour", "half an hour"),
}
# An unknown custom value is a few words; these end it (the next clause starts there).
_CAPTURE_MAX_WORDS = 4
_BELOW_CERTAIN = 0.999
_TAG_MAX_WORDS = 2  # an unknown value that lets a sample match word for word
_CAPTURE_BREAKS = frozenset(
    "how what when where why which who can could should would will is are am do does did and but so "
    "because if then please tonight now".split()
)
# Clauses of a run-on: words that join or pad them, and words a question starts with.
_CLAUSE_JOINERS = frozenset(
    "and but so because cause um uh erm hmm like okay ok well anyway basically also plus then question wondering "
    "thinking".split()
)
_CLAUSE_OPENERS = frozenset("how what when where why which who can could should would will is are do does did".split())
# The slot type that carries health mentions, and the least probability an intent that can hold a
# value said needs before it is chosen over one that cannot.
_HEALTH_TYPE = "ConditionType"
_RESCUE_FLOOR = 0.01
_TOPIC_FLOOR = 0.002
_FORM_TYPE = "FormType"
_PAIRED_TYPE = _FORM_TYPE  # people name two forms to compare them
_TOPIC_TYPE = "TopicType"  # what the sources do not cover
_MEALS = "food"  # the TopicType value for meals and drinks with a dose ("with dinner", "at lunch")
_SYMPTOM_TYPE = "SymptomType"  # how someone feels after taking it: answered "stop and get advice" (T5)
_UNIT_TYPE = "UnitType"  # "milligrams": with a number, an amount
# The least probability an intent holding a health mention, symptom or amount needs to be heard for an
# utterance the classifier is unsure of (below the threshold): its values, not its words, carry it.
_JOINT_FLOOR = 0.1
_SAFETY_JOINT_FLOOR = 0.05
_CLAUSE_MIN_UTTERANCE = 5  # shorter utterances are one clause
_CLAUSE_MIN_WORDS = 3
# Texting words said aloud by the young ("i'm 17 LOL", "NGL i'm on sertraline") carry no intent either.
# Never "af": "i've got AF" is atrial fibrillation, a health mention.
# Matching by sound: runs of two to five words ("oh mep ra zole"), of four letters or more; a sound key shorter
# than six also needs the letters this alike (Jaro-Winkler).
_SOUND_MAX_WORDS = 5
_SOUND_LEAST_LETTERS = 4
_SOUND_LONG_KEY = 6
_SOUND_LEAST_LIKE = 0.8
_FILLERS = frozenset("um umm uh uhh erm er hmm hm mm ah actually honestly basically literally though "
                     "lol ngl tbh lowkey".split())
_ONE_AS_PRONOUN = frozenset("that this which each every the any other".split())
_NOT_A_VALUE = frozenset("it this that them these those one something anything a an the some "
                         "few several couple hundred thousand".split())  # "is a FEW HUNDRED enough": no value
# What a dose comes in: after an amount ("a 500 mg TABLET", "two 400 CAPSULES") it names no medicine.
_CONTAINERS = frozenset("tablet tablets capsule capsules pill pills softgel softgels gummy gummies".split())


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
    """The chosen intent, its filled slots, how sure the resolver is, and the nearest sample."""

    intent: str
    slots: dict[str, SlotMatch]
    confidence: float
    sample: str | None
    # Every slot the model declares on this intent (name -> type); requests list them all.
    declared_slots: Mapping[str, str] = field(default_factory=dict)


_DIGIT_WORDS = r"(?:one|two|three|four|five|six|seven|eight|nine|[1-9])"


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
    # Speech recognition writes "cannot" where people say "can't" ("cannot sleep"); the samples say "can't".
    text = re.sub(r"\bcannot\b", "can't", text)
    # "four or five hundred" is 400 or 500, not 4 or 500: the scale said once belongs to both.
    text = re.sub(rf"\b({_DIGIT_WORDS}) (or|to) ({_DIGIT_WORDS}) (hundred|thousand)\b", r"\1 \4 \2 \3 \4", text)
    # "a quarter of a gram": a quarter, not a gram; "2 x 200": two times 200.
    text = re.sub(r"\b(?:a )?quarter (?:of )?a gram\b", "0.25 grams", text)
    text = re.sub(r"\b(?:three )?quarters (?:of )?a gram\b", "0.75 grams", text)
    text = re.sub(r"(?<=\d) x (?=\d)", " times ", text)
    # "i'm 30 weeks", "she's five months": how far along a pregnancy is, said the short way (not "two weeks in").
    text = re.sub(r"\b((?:i'm|i am|she's|she is|we're|we are) (?:\d+|[a-z]+(?: [a-z]+)?) (?:weeks|months))"
                  r"(?! (?:along|pregnant|gone|in|into|on|of|since|ago|now|later))", r"\1 along", text)
    # "my wee one's 6", "the little one's four": a child named as "one", then an age ("my mum's 80" is read as it is).
    text = re.sub(rf"\b(wee|little|young|youngest|eldest|oldest|middle) one's (?=\d|(?:{_DIGIT_WORDS})\b)", r"\1 one is ", text)
    # "my nan's poorly" is "my nan is poorly" (a health mention), never "sleep poorly".
    text = re.sub(r"\b(?!(?:it|that|what|there)'s)(\w+)'s poorly\b", r"\1 is poorly", text)
    # "a gram and a half" is one and a half grams; read as "a gram" then "a half" it would be half a gram.
    text = re.sub(r"\b(a|an|one|two|three|four|five|\d+) (grams?|milligrams) and a half\b",
                  lambda m: f"{'one' if m[1] in ('a', 'an') else m[1]} and a half {m[2]}", text)
    return " ".join(text.split())


# --- entity recognition ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    """One way to hear a run of words: as a value of ``slot_type``."""

    slot_type: str
    value: str  # as Alexa sends it: the words heard (custom) or the parsed value (built-in)
    resolved_id: str | None = None
    resolved_name: str | None = None


@dataclass(frozen=True)
class _Entity:
    """A run of words ``[start, end)`` recognised as a slot value, with every type it could be."""

    start: int
    end: int
    readings: tuple[_Reading, ...]


def _variants(phrase: str) -> set[str]:
    """Light variations of a value as people say or type it: plural/singular of the last word, no apostrophes."""
    words = phrase.split()
    out = {phrase}
    if len(words) > 1 and words[0] in ("my", "a", "an", "the"):
        out.add(" ".join(words[1:]))  # "my 6 year old" is heard in "it's for MY 6 year old" and "a 6 year old"
    for said in list(out):  # "a teen" is heard in "what dose for TEENS"
        *head, last = said.split()
        if len(last) > 3 and last.isalpha():
            other = last[:-1] if last.endswith("s") and not last.endswith("ss") else last + "s"
            out.add(" ".join([*head, other]))
    out |= {v.replace("'", "") for v in out}
    return out


def _stem(word: str) -> str:
    """A rough English stem, the same for "falling"/"fall", "cramps"/"cramp", "stressed"/"stress"."""
    word = word.replace("'", "")
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
                word = word[:-1]  # "stopped" -> "stop"; "fall" keeps its double l
            break
    return word


def _value_id(type_name: str, value: Mapping[str, Any], name: str) -> str:
    """The value's own id, or a stable hash like the ids Alexa makes for values without one."""
    given = value.get("id")
    if isinstance(given, str) and given:
        return given
    return md5(f"{type_name}:{name}".encode()).hexdigest()


class _Recogniser:
    """Finds the model's slot values in an utterance's words, as Alexa's entity recognition does."""

    def __init__(self, types: Sequence[Mapping[str, Any]], builtin_types: Iterable[str]) -> None:
        # phrase -> type -> (id, canonical name); exact phrases are claimed before variations.
        self.phrases: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
        self.values: dict[str, list[str]] = {}  # type -> every value and synonym, for training fills
        exact: list[tuple[str, str, tuple[str, str]]] = []
        for spec in types:
            type_name = spec["name"]
            spoken: list[str] = []
            for value in _list(spec.get("values")):
                if not isinstance(value, Mapping) or not isinstance(value.get("name"), Mapping):
                    continue
                name = str(value["name"].get("value", ""))
                if not normalise(name):
                    continue
                resolved = (_value_id(type_name, value, name), name)
                synonyms = [s for s in _list(value["name"].get("synonyms")) if isinstance(s, str)]
                for phrase in (normalise(p) for p in [name, *synonyms]):
                    if phrase:
                        spoken.append(phrase)
                        exact.append((phrase, type_name, resolved))
            self.values[type_name] = list(dict.fromkeys(spoken))
        for phrase, type_name, resolved in exact:
            # The first value to claim a phrase keeps it, as the linter asks models to avoid clashes.
            self.phrases[phrase].setdefault(type_name, resolved)
        for phrase, type_name, resolved in exact:
            for variant in _variants(phrase) - {phrase}:
                if type_name not in self.phrases.get(variant, {}):
                    self.phrases[variant][type_name] = resolved
        # Last, the same words in other endings: "fall asleep" is "falling asleep", "cramp" is "cramps".
        self.stemmed: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
        for phrase, type_name, resolved in exact:
            self.stemmed[" ".join(_stem(w) for w in phrase.split())].setdefault(type_name, resolved)
        self.longest = max((len(p.split()) for p in self.phrases), default=0)
        self.parsers = {t: BUILTIN_PARSERS[t] for t in builtin_types if t in BUILTIN_PARSERS}
        self._known: Callable[[str], bool] | None = None
        # What each value sounds like (its Metaphone key, spaces dropped), for words speech recognition split
        # or misheard: "sir tra lean" sounds as sertraline does, "die a lysis" as dialysis.
        self.sounds: dict[str, list[tuple[str, dict[str, tuple[str, str]]]]] = defaultdict(list)
        for phrase, kinds in self.phrases.items():
            letters = phrase.replace(" ", "").replace("'", "")
            if len(letters) >= _SOUND_LEAST_LETTERS and letters.isalpha():
                self.sounds[jellyfish.metaphone(letters)].append((letters, kinds))

    def learn_words(self, known: Callable[[str], bool]) -> None:
        """Which words the model says, so a run holding a word it never heard may be matched by its sound."""
        self._known = known

    def find(self, words: Sequence[str]) -> list[_Entity]:
        """Every run of ``words`` that is a value of some type, overlapping runs included."""
        found: list[_Entity] = []
        n = len(words)
        stems = [_stem(w) for w in words]
        for i in range(n):
            for j in range(min(n, i + max(self.longest, MAX_BUILTIN_WORDS)), i, -1):
                heard = " ".join(words[i:j])
                known = self.phrases.get(heard) or self.stemmed.get(" ".join(stems[i:j]), {})
                readings = [_Reading(t, heard, rid, rname) for t, (rid, rname) in known.items()]
                # "two fifty THREE TIMES a day" is 250, three times a day: a number of several words does not
                # run into the count of a "times".
                runs_into_times = j - i > 1 and j < n and words[j] == "times"
                if j - i <= MAX_BUILTIN_WORDS and self.parsers and may_end_a_value(words[j - 1]) and not runs_into_times:
                    for slot_type, parse in self.parsers.items():
                        value = parse(heard)
                        if value is not None and heard == "one" and i and words[i - 1] in _ONE_AS_PRONOUN:
                            continue  # "that one", "each one": a pronoun, not a number
                        if value is not None:
                            readings.append(_Reading(slot_type, value))
                if readings:
                    found.append(_Entity(i, j, tuple(readings)))
        return found + self._sounding(words, found)

    def _sounding(self, words: Sequence[str], found: Sequence[_Entity]) -> list[_Entity]:
        """Runs of words that sound like a value and hold a word the model never heard, as Alexa's speech
        recognition and entity resolution, biased to the model's values, would still hear them.

        "i'm on sir tra lean", "oh mep ra zole", "three o nate": the Metaphone key of the run with its
        spaces dropped is the value's. A key under six sounds ("tor eight", TRT) also needs the letters
        close; a run of known words never matches, nor one word alone, nor a possessive ("my gran's"
        is no migraine): a single word sounds like too many values ("songs" like "sons").
        """
        if self._known is None:
            return []
        custom = {k for e in found if any(not r.slot_type.startswith("AMAZON.") for r in e.readings) for k in range(e.start, e.end)}
        heard: list[_Entity] = []
        for i in range(len(words)):
            for j in range(min(len(words), i + _SOUND_MAX_WORDS), i + 1, -1):
                run = words[i:j]
                letters = "".join(run)
                if (custom & set(range(i, j)) or len(letters) < _SOUND_LEAST_LETTERS or not letters.isalpha()
                        or all(self._known(w) for w in run)):
                    continue
                key = jellyfish.metaphone(letters)
                match = next(((value, kinds) for value, kinds in self.sounds.get(key, ())
                              if len(key) >= _SOUND_LONG_KEY or jellyfish.jaro_winkler_similarity(letters, value) >= _SOUND_LEAST_LIKE),
                             None)
                if match is not None:
                    said = " ".join(run)
                    heard.append(_Entity(i, j, tuple(_Reading(t, said, rid, rname) for t, (rid, rname) in match[1].items())))
                    break
        return heard


def _claim(found: Iterable[_Entity], types: Container[str] | None = None) -> list[_Entity]:
    """Values that do not overlap, in order: the longer run wins, then the earlier.

    With ``types``, only readings of those types count, so an intent that takes a MechanismType
    hears "cramps" in "muscle cramps" even though "muscle cramps" is a NeedType value.
    """
    kept_readings = [
        _Entity(e.start, e.end, tuple(r for r in e.readings if types is None or r.slot_type in types)) for e in found
    ]
    taken: set[int] = set()
    kept: list[_Entity] = []
    for entity in sorted((e for e in kept_readings if e.readings), key=lambda e: (e.start - e.end, e.start)):
        span = range(entity.start, entity.end)
        if taken.isdisjoint(span):
            kept.append(entity)
            taken.update(span)
    return sorted(kept, key=lambda e: e.start)


def _placeholder(slot_type: str) -> str:
    return "slot" + re.sub(r"[^a-z0-9]", "", slot_type.lower())


def _delexicalise(words: Sequence[str], entities: Sequence[_Entity]) -> str:
    """The words with each recognised value replaced by its type(s): "is slotamazonnumber slotunittype too much"."""
    out: list[str] = []
    i = 0
    for entity in entities:
        out.extend(words[i:entity.start])
        out.extend(sorted({_placeholder(r.slot_type) for r in entity.readings}))
        i = entity.end
    out.extend(words[i:])
    return " ".join(out)


# --- the model's samples -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Sample:
    """One sample utterance: its intent, its text, and its words with slots marked as ``(name, type)``."""

    intent: str
    text: str
    parts: tuple[str | tuple[str, str], ...]

    def key(self) -> str:
        """The sample's words with each slot as its type: "is slotamazonnumber slotunittype too much"."""
        return " ".join(p if isinstance(p, str) else _placeholder(p[1]) for p in self.parts)

    def fill(self, values: Mapping[str, Sequence[str]], turn: int) -> str:
        """The sample said with slot values, the ``turn``-th choice of each type's values."""
        words: list[str] = []
        for k, part in enumerate(self.parts):
            if isinstance(part, str):
                words.append(part)
            else:
                choices = values.get(part[1]) or _BUILTIN_FILLS.get(part[1]) or ("something",)
                words.append(choices[(turn * 7 + k * 3 + len(self.text)) % len(choices)])
        return " ".join(words)


def _parse_sample(intent: str, text: str, declared: Mapping[str, str]) -> _Sample | None:
    parts: list[str | tuple[str, str]] = []
    for piece in re.split(r"(\{[^{}]*\})", text):
        if piece.startswith("{") and piece.endswith("}"):
            name = piece[1:-1].strip()
            parts.append((name, declared.get(name, "")))
        else:
            parts.extend(w for w in normalise(piece).split() if w not in _FILLERS)
    return _Sample(intent, text, tuple(parts)) if parts else None


@dataclass(frozen=True)
class _View:
    """One fitted feature view: which text it reads, how it cuts it, and its columns' weights."""

    source: str  # "raw" or "delex"
    analyze: Callable[[str], list[str]]
    vocabulary: Mapping[str, int]
    idf: np.ndarray
    offset: int  # its first column in the stacked feature matrix


# --- the resolver ------------------------------------------------------------------------------


# Resolvers trained by ``Resolver.from_model``, by model content, while a resolver made from one is in use:
# training takes 1-2 s, and the tools and the tests ask for the same model many times at once (scorers,
# markets, fixtures). Weak: a trained resolver is some 35,000 objects, and keeping every one for the life
# of the process made each full garbage collection many times longer, long enough to blow the 0.3 s
# budgets of the tests that time the Alexa API out.
_TRAINED: weakref.WeakValueDictionary[str, Resolver] = weakref.WeakValueDictionary()
_TRAINED_LOCK = threading.Lock()


class Resolver:
    """Resolve utterances against one interaction model; trained once, at construction."""

    def __init__(
        self,
        model: Mapping[str, Any],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        out_of_domain: Sequence[str] = OUT_OF_DOMAIN,
    ) -> None:
        language = _language_model(model)
        self.threshold = threshold
        self.invocation_name = normalise(str(language.get("invocationName") or ""))
        self._invocation_re = self._compile_invocation()
        self.intents: dict[str, dict[str, str]] = {}
        samples: list[_Sample] = []
        for intent in _list(language.get("intents")):
            if not _named(intent):
                continue
            name = intent["name"]
            declared = {s["name"]: str(s.get("type", "")) for s in _list(intent.get("slots")) if _named(s)}
            self.intents[name] = declared
            texts = [s for s in _list(intent.get("samples")) if isinstance(s, str) and s.strip()]
            for text in [*texts, *BUILTIN_PHRASES.get(name, ())]:
                parsed = _parse_sample(name, text, declared)
                if parsed is not None:
                    samples.append(parsed)
        for text in out_of_domain:
            parsed = _parse_sample(FALLBACK_INTENT, text, {})
            if parsed is not None:
                samples.append(parsed)
        custom_types = [t for t in _list(language.get("types")) if _named(t)]
        used = {t for slots in self.intents.values() for t in slots.values()}
        self._recogniser = _Recogniser(custom_types, used)
        self._custom_types = {t["name"] for t in custom_types}
        self._custom_placeholders = sorted({_placeholder(t) for t in self._custom_types & used})
        self._samples_of: dict[str, list[_Sample]] = defaultdict(list)
        self._literal_words: dict[str, set[str]] = defaultdict(set)
        for sample in samples:
            self._samples_of[sample.intent].append(sample)
            self._literal_words[sample.intent].update(p for p in sample.parts if isinstance(p, str))
        self._slot_contexts = _slot_contexts(samples)
        self._contexts_by_name: dict[str, _SlotContext] = defaultdict(_SlotContext)
        for (_, name), counted in self._slot_contexts.items():
            self._contexts_by_name[name].counts.update(counted.counts)
            self._contexts_by_name[name].samples += counted.samples
        # Intents every sample of which carries a slot: never heard without a value.
        self._needs_value = {intent for intent, owned in self._samples_of.items()
                             if owned and all(any(not isinstance(p, str) for p in o.parts) for o in owned)}
        self._train(samples)
        self._trained_from: Resolver | None = None  # the resolver from_model trained, for its copies

    @classmethod
    def from_model(cls, path: Path, *, threshold: float = DEFAULT_THRESHOLD) -> "Resolver":
        """Read the model file at ``path`` (an ASK ``en-US.json``) and train on it, once per model content
        while a resolver made from it is in use: each call gets its own resolver, with its own threshold,
        sharing the trained parts (which resolving only reads)."""
        model = read_model(path)
        key = f"{cls.__module__}.{cls.__qualname__}|{sha256(json.dumps(model, sort_keys=True).encode()).hexdigest()}"
        with _TRAINED_LOCK:
            trained = _TRAINED.get(key)
            if trained is None:
                trained = cls(model)
                _TRAINED[key] = trained
        resolver = copy.copy(trained)
        resolver.threshold = threshold
        resolver._trained_from = trained  # keeps it (and so its entry in _TRAINED) while this one lives
        return resolver

    # --- training ----------------------------------------------------------------------------

    def _train(self, samples: Sequence[_Sample]) -> None:
        raws: list[str] = []  # one per filling: the words as said ...
        delexes: list[str] = []  # ... and with recognised values replaced by their types
        labels: list[str] = []
        weights: list[float] = []
        self._row_sample: list[_Sample] = []
        exact: dict[str, dict[str, _Sample]] = defaultdict(dict)
        for sample in samples:
            exact[sample.key()].setdefault(sample.intent, sample)
            has_slots = any(not isinstance(p, str) for p in sample.parts)
            fillings = list(dict.fromkeys(
                sample.fill(self._recogniser.values, turn) for turn in range(_FILLS_PER_SAMPLE if has_slots else 1)))
            for filled in fillings:
                words = filled.split()
                raws.append(filled)
                delexes.append(_delexicalise(words, _claim(self._recogniser.find(words))))
                labels.append(sample.intent)
                weights.append(1.0 / len(fillings))
                self._row_sample.append(sample)
        self._vocabulary = {w for text in raws for w in text.split()}
        # Every word a sample or a slot value says: a word outside them is one the model has never seen.
        self._known_words = self._vocabulary | {w for phrase in self._recogniser.phrases for w in phrase.split()} | _FILLERS
        self._recogniser.learn_words(self._known)
        # Word for word: a sample (slots filled with known values) that one intent says is that intent.
        self._exact = {key: next(iter(owners.values())) for key, owners in exact.items() if len(owners) == 1}
        self._exact_prefixes = {" ".join(key.split()[:k]) for key in exact for k in range(1, len(key.split()) + 1)}
        self._classes: list[str] = sorted(set(labels))
        self._model: LinearSVC | None = None
        if len(self._classes) < 2:
            return  # nothing to tell apart: every utterance falls back
        # Imported here: scikit-learn takes a second or two to load, and users of ``normalise``
        # (the linter) or of a model without samples need none of it.
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        vectorizers = [(TfidfVectorizer(**spec), source) for source, spec in _VIEWS]
        matrix = hstack([vec.fit_transform(raws if source == "raw" else delexes) for vec, source in vectorizers]).tocsr()
        # A linear SVM trains in a fraction of a logistic regression's time on these sparse
        # features and tells intents apart as well (same cross-validated accuracy).
        self._model = LinearSVC(C=1.0, random_state=0)
        self._model.fit(matrix, labels, sample_weight=np.asarray(weights))
        # Resolving one utterance through scikit-learn's checks costs milliseconds; the fitted
        # numbers are all it needs (the tests hold the two ways to the same scores).
        self._views: list[_View] = []
        offset = 0
        for vec, source in vectorizers:
            self._views.append(_View(source, vec.build_analyzer(), vec.vocabulary_, vec.idf_, offset))
            offset += len(vec.vocabulary_)
        self._coef = np.ascontiguousarray(self._model.coef_.T)  # features x intents
        self._intercept = self._model.intercept_
        self._by_feature = matrix.tocsc()  # samples' feature values, column by column
        self._vectorizers = vectorizers
        label_array = np.asarray(labels)
        self._rows_of = {intent: np.flatnonzero(label_array == intent) for intent in self._classes}

    def _features(self, raw: str, delex: str) -> tuple[np.ndarray, np.ndarray]:
        """The utterance's non-zero TF-IDF features: (column indexes, values), as the vectorizers give them."""
        columns: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for view in self._views:
            counts = Counter(g for g in view.analyze(raw if view.source == "raw" else delex) if g in view.vocabulary)
            if not counts:
                continue
            index = np.fromiter((view.vocabulary[g] for g in counts), dtype=np.intp, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))  # sublinear_tf
            weight = tf * view.idf[index]
            columns.append(index + view.offset)
            values.append(weight / np.linalg.norm(weight))  # each view is l2-normalised on its own
        if not columns:
            return np.empty(0, dtype=np.intp), np.empty(0)
        return np.concatenate(columns), np.concatenate(values)

    def _scores(self, features: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The SVM's decision score for each intent (``self._model.classes_`` order)."""
        columns, values = features
        return values @ self._coef[columns] + self._intercept  # type: ignore[no-any-return]

    # --- resolving ---------------------------------------------------------------------------

    def _compile_invocation(self) -> re.Pattern[str] | None:
        if not self.invocation_name:
            return None
        launch = "|".join(re.escape(w) for w in sorted(LAUNCH_WORDS, key=len, reverse=True))
        name = re.escape(self.invocation_name)
        return re.compile(rf"(?:alexa )?(?:(?:{launch}) )?{name}(?: (?P<rest>.+))?")

    def custom_value(self, slot_type: str, text: str) -> SlotMatch | None:
        """``text`` heard whole as one value of a custom type ("citrate", "magnesium citrate"), as Alexa
        hears the answer to a question that elicited a slot of that type; else None."""
        words = normalise(text).split()
        for entity in self._recogniser.find(words):
            if (entity.start, entity.end) == (0, len(words)):
                for reading in entity.readings:
                    if reading.slot_type == slot_type and slot_type in self._custom_types:
                        return SlotMatch("", reading.value, slot_type, reading.resolved_id, reading.resolved_name)
        return None

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
        """Return the intent Alexa would most likely send for ``utterance``, or AMAZON.FallbackIntent."""
        words = normalise(utterance).split()
        if len(words) > 1 and words[0] == "alexa":
            words = words[1:]  # typed in the console as said to a device; a device never passes the wake word
        # Hesitations and empty intensifiers carry no intent ("it's ACTUALLY for my son", "UM how much");
        # they are dropped here and from the samples alike.
        words = [w for w in words if w not in _FILLERS] or words
        fallback = Resolution(FALLBACK_INTENT, {}, 0.0, None, self.intents.get(FALLBACK_INTENT, {}))
        if not words or self._model is None:
            return fallback
        found = self._recogniser.find(words)
        certain, tagged = self._said_word_for_word(words, found)
        if certain is not None:
            intent, confidence, sample = certain.intent, 1.0, certain
        else:
            features = whole = self._features(" ".join(words), _delexicalise(words, _claim(found)))
            intent, confidence = self._classify(features)
            if (intent == FALLBACK_INTENT or confidence < self.threshold) and tagged is not None:
                # Said like a sample but with a value the type does not list ("what is zinc"):
                # heard again with those words tagged as the slot, as Alexa's slot tagging would.
                features = self._features(" ".join(words), tagged[1])
                retried, retried_confidence = self._classify(features)
                if retried == tagged[0]:
                    intent, confidence = retried, retried_confidence
            if intent == FALLBACK_INTENT or confidence < self.threshold:
                # A run-on ("so i've been reading about it and i was wondering how much i should take")
                # is heard by its clearest clause, as a person would hear it.
                clause = self._clearest_clause(words, found)
                if clause is not None:
                    intent, confidence, features = clause
            if intent == FALLBACK_INTENT or confidence < self.threshold:
                held = self._holding_what_was_said(features, words, found)
                if held is None:
                    return Resolution(FALLBACK_INTENT, {}, round(confidence, 3), None,
                                      self.intents.get(FALLBACK_INTENT, {}))
                intent, confidence = held
            intent = self._explaining(intent, features, words, found, whole)
            sample = self._nearest_sample(intent, features)
        slots = self._fill_slots(intent, sample, words, found)
        return Resolution(intent, slots, round(confidence, 3), sample.text, self.intents.get(intent, {}))

    def _holding_what_was_said(self, features: tuple[np.ndarray, np.ndarray], words: Sequence[str],
                               found: Sequence[_Entity]) -> tuple[str, float] | None:
        """An unsure utterance that says a health mention, a symptom, an amount with its unit or a topic the
        sources do not cover, heard by the likeliest intent that holds it, as a joint intent and slot model
        weighs slot evidence.

        "i'm getting chemo what dose" or "i'm planning on 1500 milligrams" is no off-topic request: the
        values carry the domain even when the words around them are unlike any sample. Fallback here
        would answer a health mention with "I can't help with that one"; heard, it meets the gate.
        """
        claimed = _claim(found)
        said = {r.slot_type for e in claimed for r in e.readings}
        wanted: list[tuple[str, ...]] = []
        if _HEALTH_TYPE in said or self._a_minor(words, found) or self._unseen_health(words, claimed) is not None:
            wanted.append((_HEALTH_TYPE,))
        if _SYMPTOM_TYPE in said:
            wanted.append((_SYMPTOM_TYPE,))
        if _UNIT_TYPE in said:  # "what if i take a couple of grams", or a unit alone: "is a gram too much"
            wanted.append(("AMAZON.NUMBER", _UNIT_TYPE))
        if _TOPIC_TYPE in said:  # "do i need calcium with it too": answered honestly, "my sources don't cover that"
            wanted.append((_TOPIC_TYPE,))
        for types in wanted:
            # A health mention or a symptom is heard on less: missed, the person hears "I can't help".
            floor = _SAFETY_JOINT_FLOOR if types[0] in (_HEALTH_TYPE, _SYMPTOM_TYPE) else _JOINT_FLOOR
            for candidate, p in self._ranked(features):
                if p < floor:
                    break
                if candidate != FALLBACK_INTENT and set(types) <= set(self.intents.get(candidate, {}).values()):
                    return candidate, p
        if _HEALTH_TYPE in said:
            # A condition the model lists ("i'm doing chemo right now") is heard however unlike a sample the words
            # around it are: "I can't help with that one" would leave it unheard, and the next dose question ungated.
            # Not so a symptom: its words are everyday ones ("toilet", "sick"), and would pull errands in.
            return next(((c, p) for c, p in self._ranked(features)
                         if c != FALLBACK_INTENT and _HEALTH_TYPE in self.intents.get(c, {}).values()), None)
        if self._spare_amount(words, claimed, ()) is not None:  # "i'm thinking around six hundred"
            return self._likeliest_with_an_amount(self._ranked(features), _JOINT_FLOOR)
        return None

    def _likeliest_with_an_amount(self, ranked: Sequence[tuple[str, float]], floor: float) -> tuple[str, float] | None:
        """The likeliest intent with an amount slot, at ``floor`` or above: where an amount said is weighed."""
        return next(((c, p) for c, p in ranked if p >= floor and _AMOUNT_SLOT in self.intents.get(c, {})), None)

    def _explaining(self, intent: str, features: tuple[np.ndarray, np.ndarray], words: Sequence[str],
                    found: Sequence[_Entity], whole: tuple[np.ndarray, np.ndarray] | None = None) -> str:
        """The classifier's intent, unless its slots cannot hold what was said, as a joint intent and slot model decides.

        - A health mention ("i have hashimoto's", "my kid", "i'm 16") needs an intent with a condition slot,
          or the skill never hears it: the likeliest such intent is taken if the classifier gave it any weight.
          So does a symptom (a symptom slot), a topic the sources do not cover (a topic slot), two
          forms (two form slots), and an amount (an amount slot).
        - An intent that is never said without a value ("and {form}", "what about {amount}") is not
          heard when no value of its slots was said ("and what if i forget"): the next likeliest is.
        """
        ranked = self._ranked(features)
        if whole is not None and whole is not features:
            # Heard by one clause, the whole utterance still counts: "i'm so dizzy is it the magnesium i took"
            # is heard by "the magnesium i took", and the symptom needs the intent the whole leans to.
            best = dict(ranked)
            for candidate, p in self._ranked(whole):
                best[candidate] = max(p, best.get(candidate, 0.0))
            ranked = sorted(best.items(), key=lambda cp: cp[1], reverse=True)
        claimed = _claim(found)

        def holds(candidate: str, slot_type: str, count: int = 1) -> bool:
            return list(self.intents.get(candidate, {}).values()).count(slot_type) >= count

        def likeliest(slot_type: str, count: int) -> str | None:
            # A topic the sources leave open is heard with less weight: "can i take my calcium at the same
            # time" is a timing question in its words, and a question about calcium in its sense.
            floor = _TOPIC_FLOOR if slot_type == _TOPIC_TYPE else _RESCUE_FLOOR
            return next((c for c, p in ranked if p >= floor and holds(c, slot_type, count)), None)

        held = set(self.intents.get(intent, {}).values())
        said = {r.slot_type for e in claimed for r in e.readings}
        amount_said = self._spare_amount(words, claimed, ()) is not None
        health = _HEALTH_TYPE in said or self._a_minor(words, found) or self._unseen_health(words, claimed) is not None
        # A topic the sources do not cover ("how much melatonin should i take with it") is heard by the
        # intent that holds one, unless the chosen intent holds the same words otherwise (melatonin as
        # a mechanism in "how does magnesium affect melatonin").
        # A meal said with an amount ("i take two hundred AT LUNCH") says when, not what: the amount decides.
        topic = any(any(r.slot_type == _TOPIC_TYPE and not (amount_said and r.resolved_id == _MEALS) for r in e.readings)
                    and not held & {r.slot_type for r in e.readings} for e in claimed)
        # Two forms said ("is threonate worth it over glycinate") need an intent that holds two.
        forms = sum(any(r.slot_type == _PAIRED_TYPE for r in e.readings) for e in claimed)
        # A symptom ("my chest feels tight after it") needs an intent that holds one, like a health mention.
        symptom = _SYMPTOM_TYPE in said
        for needed, slot_type, count in ((health, _HEALTH_TYPE, 1), (symptom, _SYMPTOM_TYPE, 1), (topic, _TOPIC_TYPE, 1),
                                         (forms > 1, _PAIRED_TYPE, forms)):
            if needed and not holds(intent, slot_type, count):
                holder = likeliest(slot_type, count)
                if holder is not None:
                    return holder
        # An amount said ("i do 500 in the morning and 500 before bed", "is a gram and a half ok") needs an
        # intent with an amount slot, or the gate never weighs it: "before bed" alone would make it a
        # question about timing, and "ok" a yes.
        amount = amount_said or {_UNIT_TYPE, "AMAZON.NUMBER"} <= said
        own = {t for t in held if t in self._custom_types} & said
        if amount and _AMOUNT_SLOT not in self.intents.get(intent, {}) and not own:  # "the ELEMENTAL line says 140 mg"
            weighed = self._likeliest_with_an_amount(ranked, _RESCUE_FLOOR)
            if weighed is not None:
                return weighed[0]
        if intent in self._needs_value:
            sample = self._nearest_sample(intent, features)
            if not self._fill_slots(intent, sample, words, found):
                return next((c for c, p in ranked if c not in (intent, FALLBACK_INTENT) and p >= _RESCUE_FLOOR), intent)
        return intent

    def _ranked(self, features: tuple[np.ndarray, np.ndarray]) -> list[tuple[str, float]]:
        """Every class with its probability, likeliest first."""
        assert self._model is not None
        probabilities = _softmax(TEMPERATURE * self._scores(features))
        return sorted(zip((str(c) for c in self._model.classes_), (float(p) for p in probabilities)),
                      key=lambda cp: cp[1], reverse=True)

    def _clearest_clause(
        self, words: Sequence[str], found: Sequence[_Entity]
    ) -> tuple[str, float, tuple[np.ndarray, np.ndarray]] | None:
        """The clause of a long utterance the classifier is surest of, if it is sure enough and in the domain.

        Clauses start at the sentence's start or after a joining word or filler ("and", "so", "um"),
        or at a question word; they end at the sentence's end or before a joining word. Each is
        classified alone; the slots are still filled from the whole utterance, so a condition said
        in another clause is heard.
        """
        if len(words) < _CLAUSE_MIN_UTTERANCE:
            return None
        starts = sorted({0, *(i + 1 for i, w in enumerate(words) if w in _CLAUSE_JOINERS),
                         *(i for i, w in enumerate(words) if w in _CLAUSE_OPENERS)})
        ends = sorted({len(words), *(i for i, w in enumerate(words) if w in _CLAUSE_JOINERS)})
        best: tuple[str, float, tuple[np.ndarray, np.ndarray]] | None = None
        for start in starts:
            for end in ends:
                if end - start < _CLAUSE_MIN_WORDS or (start, end) == (0, len(words)):
                    continue
                span = words[start:end]
                inside = [_Entity(e.start - start, e.end - start, e.readings) for e in found
                          if e.start >= start and e.end <= end]
                features = self._features(" ".join(span), _delexicalise(span, _claim(inside)))
                intent, confidence = self._classify(features)
                if intent != FALLBACK_INTENT and (best is None or confidence > best[1]):
                    best = (intent, confidence, features)
        return best

    def _classify(self, features: tuple[np.ndarray, np.ndarray]) -> tuple[str, float]:
        """The likeliest class (a skill intent or out-of-domain) and the likeliest skill intent's probability.

        The probability is reported even when "out of domain" wins, to show how near a skill intent came.
        """
        assert self._model is not None
        probabilities = _softmax(TEMPERATURE * self._scores(features))
        classes = self._model.classes_
        intent = str(classes[int(np.argmax(probabilities))])
        in_domain = [p for c, p in zip(classes, probabilities) if c != FALLBACK_INTENT]
        # 1.0 stays for a sample said word for word; a classifier's guess is never quite certain.
        return intent, min(_BELOW_CERTAIN, float(max(in_domain, default=0.0)))

    def _said_word_for_word(
        self, words: Sequence[str], found: Iterable[_Entity]
    ) -> tuple[_Sample | None, tuple[str, str] | None]:
        """Match the utterance against the samples word for word.

        Returns the one sample it says exactly, its slots holding known values (else None), and,
        failing that, the one intent whose sample says it with an unknown value (a word or two
        that no sample or value uses) in a custom slot's place, and the words so tagged ("what is zinc" -> "what is
        slotformtype"; else None). Every reading
        is tried: "magnesium oxide" is a form, and so is "oxide" after "magnesium", as in "i use
        magnesium {form}". Readings that no sample begins with are cut short.
        """
        starting: dict[int, list[_Entity]] = defaultdict(list)
        for entity in found:
            starting[entity.start].append(entity)
        exact: dict[str, _Sample] = {}
        unknown: dict[str, str] = {}  # intent -> the utterance with the unknown value as its type
        budget = [_MAX_EXACT_READINGS]

        def walk(i: int, said: tuple[str, ...], wild: bool) -> None:
            if budget[0] <= 0 or (said and " ".join(said) not in self._exact_prefixes):
                return
            budget[0] -= 1
            if i == len(words):
                sample = self._exact.get(" ".join(said))
                if sample is not None:
                    (unknown.__setitem__(sample.intent, " ".join(said)) if wild else exact.__setitem__(sample.intent, sample))
                return
            walk(i + 1, (*said, words[i]), wild)
            for entity in starting.get(i, ()):
                for placeholder in sorted({_placeholder(r.slot_type) for r in entity.readings}):
                    walk(entity.end, (*said, placeholder), wild)
            if not wild and words[i] not in _CAPTURE_BREAKS:
                # At most one unknown value, short: longer runs would let "what is {form}" take
                # "what is the weather in paris".
                for end in range(i + 1, min(len(words), i + _TAG_MAX_WORDS) + 1):
                    if any(w in self._vocabulary for w in words[i:end]):
                        break  # only words the resolver never heard: not "the weather", not "it"
                    for placeholder in self._custom_placeholders:
                        walk(end, (*said, placeholder), True)

        walk(0, (), False)
        certain = next(iter(exact.values())) if len(exact) == 1 and FALLBACK_INTENT not in exact else None
        tagged = next(iter(unknown.items())) if len(unknown) == 1 and not exact else None
        return certain, tagged

    def _nearest_sample(self, intent: str, features: tuple[np.ndarray, np.ndarray]) -> _Sample:
        """The intent's training sample most like the utterance (cosine of their features)."""
        columns, values = features
        similarity = self._by_feature[:, columns] @ values
        rows = self._rows_of[intent]
        return self._row_sample[int(rows[int(np.argmax(similarity[rows]))])]

    def _fill_slots(self, intent: str, sample: _Sample, words: Sequence[str], found: Iterable[_Entity]) -> dict[str, SlotMatch]:
        """Give each declared slot a recognised value of its type, in the nearest sample's order."""
        declared = self.intents.get(intent, {})
        if not declared:
            return {}
        # A health word or number the nearest sample says itself, in the same place, is the sample's word, not
        # a value: "how MANY PILLS do i take" is said like "how many pills should i take", and "what if i split
        # it IN TWO" like the sample that says so (two is no second amount). Only an exact
        # alignment counts, so "i've got bad kidneys" still mentions kidneys beside "is magnesium bad
        # for your kidneys" (fail closed).
        literal = " ".join(p if isinstance(p, str) else "|" for p in sample.parts)
        forms_end = {e.end for e in found if any(r.slot_type == _FORM_TYPE for r in e.readings)}
        entities = [e for e in _claim(found, set(declared.values()))
                    if not (e.start and all(r.slot_type in (_HEALTH_TYPE, "AMAZON.NUMBER") for r in e.readings)
                            and f" {' '.join(words[e.start - 1:e.end])} " in f" {literal} ")
                    and not _what_a_dose_comes_in(words, e, forms_end)]
        # Slot names per type, the nearest sample's first: "compare {a} and {b}" fills a then b.
        order = [p[0] for p in sample.parts if not isinstance(p, str)] + list(declared)
        rank = {name: len(order) - order.index(name) for name in declared}
        # Where several slots share a type (amount, count and age are all numbers), the words around
        # a value decide, as a statistical slot tagger's context features do: "i'm 16 can i take 400
        # mg" puts 16 where the samples have "i'm {age}" and 400 where they have "take {amount} {unit}".
        # The nearest sample's own context for a slot counts most: said like the sample, placed like it.
        nearest = _slot_contexts([sample])
        choices: list[tuple[float, int, int, _Entity, _Reading, str]] = []
        for k, entity in enumerate(entities):
            context = _context_of(words, entity, entities)
            for reading in entity.readings:
                for name, slot_type in declared.items():
                    if slot_type == reading.slot_type:
                        fit = self._slot_contexts.get((intent, name), _NO_CONTEXT).fit(context)
                        if name in _AMOUNT_SLOTS and context and (context[2][3:] in _NOT_AFTER_AN_AMOUNT or (
                                context[2][3:] == "of" and context[3][3:] in _COUNTED)):  # "TWO of them": a count
                            # "two CAPSULES per serving", "i'm twenty eight WEEKS", "two 500 mg tablets": never an amount
                            continue
                        if name in _SAID_AFTER and not set(words[max(0, entity.start - 4):entity.start]) & _SAID_AFTER[name]:
                            continue  # "how much should i take i'm 16": 16 is no "or 16"
                        if name not in _SAID_LIKE_ITSELF and slot_type == "AMAZON.NUMBER" and _said_as_an_age(words, entity):
                            continue  # "how much should i take i'm 16": an age, never a count or an amount
                        strict = name in _SAID_LIKE_ITSELF
                        if strict and not self._said_like(name, context):
                            continue  # "it's FOUR am", "is SIX hours enough": numbers, not ages
                        if strict and reading.value.isdigit() and int(reading.value) > _OLDEST:
                            continue  # "how bad is 1500": an amount, whatever the words around it
                        shared = sum(t == slot_type for t in declared.values()) > 1 or slot_type.startswith("AMAZON.")
                        if shared and not strict and (intent, name) not in nearest and fit < _LEAST_FIT:
                            # A number is said for many reasons: "is 300 safe" holds no age. A number, or a
                            # value several slots could take, fills a slot the nearest sample lacks only
                            # where the words around it are that slot's.
                            continue
                        fit += _NEAREST_WEIGHT * nearest.get((intent, name), _NO_CONTEXT).fit(context)
                        choices.append((fit, rank[name], -k, entity, reading, name))
        slots: dict[str, SlotMatch] = {}
        placed: set[int] = set()
        for _, _, _, entity, reading, name in sorted(choices, key=lambda c: c[:3], reverse=True):
            if name in slots or entity.start in placed:
                continue
            slots[name] = SlotMatch(name, reading.value, reading.slot_type, reading.resolved_id, reading.resolved_name)
            placed.add(entity.start)
        if _AMOUNT_SLOT in declared and _AMOUNT_SLOT not in slots:
            spare = self._spare_amount(words, entities, placed)
            if spare is not None:
                slots[_AMOUNT_SLOT] = SlotMatch(_AMOUNT_SLOT, spare.readings[0].value, "AMAZON.NUMBER", None, None)
                placed.add(spare.start)
        elif _COUNT_SLOT in declared and _COUNT_SLOT not in slots and "unit" not in slots and _AMOUNT_SLOT in slots:
            small = slots[_AMOUNT_SLOT].value
            spare = self._spare_amount(words, entities, placed) if small.isdigit() and int(small) < _SPARE_AMOUNT_FROM else None
            if spare is not None:
                # "they're 500 each and i was thinking FOUR": the milligrams are the big number, and the small one,
                # with no unit, counts capsules; weighed the other way round, 2,000 mg would pass as "4".
                slots[_COUNT_SLOT] = replace(slots[_AMOUNT_SLOT], name=_COUNT_SLOT)
                slots[_AMOUNT_SLOT] = SlotMatch(_AMOUNT_SLOT, spare.readings[0].value, "AMAZON.NUMBER", None, None)
                placed.add(spare.start)
        # Words heard as a known value of one of this intent's custom types, or as a number a slot took,
        # are not an unknown value of another slot. A number no slot took may be part of one ("type 1
        # diabetic"), and so may a value of a type this intent does not take: "high blood sugar" is a
        # topic the sources do not cover, and a condition when said beside a dose (fail closed).
        kinds = {t for t in declared.values() if t in self._custom_types}
        placed_or_own = [e for e in [*entities, *_claim(found)] if e.start in placed
                         or any(r.slot_type in kinds for r in e.readings)]
        health_slot = next((n for n, t in declared.items() if t == _HEALTH_TYPE and n not in slots), None)
        unseen = self._unseen_health(words, placed_or_own, health_slot) if health_slot else None
        if health_slot and unseen is not None:
            slots[health_slot] = SlotMatch(health_slot, unseen.readings[0].value, _HEALTH_TYPE, None, None)
            placed_or_own.append(unseen)
        slots.update(self._unknown_values(intent, words, placed_or_own, slots))
        return slots

    def _unseen_health(self, words: Sequence[str], entities: Sequence[_Entity], name: str = "condition") -> _Entity | None:
        """Words no sample or value holds, after words the samples put before a health mention: that mention,
        sent as heard (ER_SUCCESS_NO_MATCH), wherever in the sentence it falls.

        A slot tagger places an unseen word by its context: "oh and i'm on biktarvy" or "i'm on biktarvy
        what dose of threonate is right" says the name where the samples say "i'm on {condition}", even
        when no sample of the intent says the rest. Only words the model has never seen qualify, so
        "i'm on the couch" is not one. The contexts are every intent's, as a tagger's are shared.
        """
        seen = self._contexts_by_name.get(name, _NO_CONTEXT).counts
        taken = [False] * len(words)
        for entity in entities:
            taken[entity.start:entity.end] = [True] * (entity.end - entity.start)
        padded = ["<s>", "<s>", *words]
        i = 0
        while i < len(words):
            if taken[i] or self._known(words[i]):
                i += 1
                continue
            j = i
            while j < len(words) and j - i < _CAPTURE_MAX_WORDS and not taken[j] and not self._known(words[j]):
                j += 1
            # Two words said before it, as the samples say them: "<s> <s> {condition}" is no context.
            if padded[i + 1] != "<s>" and seen[_before_two(padded[i], padded[i + 1])] >= _UNSEEN_LEAST:
                return _Entity(i, j, (_Reading(_HEALTH_TYPE, " ".join(words[i:j])),))
            i = j
        return None

    @staticmethod
    def _spare_amount(words: Sequence[str], entities: Sequence[_Entity], placed: Container[int]) -> _Entity | None:
        """A number no slot took, in a question that holds an amount: the amount, unless a measure follows it.

        "i've been doing like 1500 a night is that too much": no sample puts a number after "doing like",
        but a number that size beside a dose question is the amount, as a tagger's value prior would
        have it; left out, the question would be answered as if no amount were said. Small numbers
        stay out (a count or an age more often); "two weeks", "six hours" are measures.
        """
        for entity in entities:
            value = next((r.value for r in entity.readings if r.slot_type == "AMAZON.NUMBER"), None)
            if entity.start in placed or value is None or not value.isdigit() or int(value) < _SPARE_AMOUNT_FROM:
                continue
            after = words[entity.end] if entity.end < len(words) else ""
            if not _MEASURE.fullmatch(after) and after not in ("year", "years") and not _said_as_an_age(words, entity):
                return entity
        return None

    def _known(self, word: str) -> bool:
        """Whether the model says ``word`` somewhere (a possessive of a word it says, or a number, counts)."""
        return word in self._known_words or word.removesuffix("'s") in self._known_words or parse_number(word) is not None

    def _a_minor(self, words: Sequence[str], found: Sequence[_Entity]) -> bool:
        """Whether an age under 18 is said the way the samples say an age ("i'm 16 and", "a 12 year old")."""
        for entity in found:
            for reading in entity.readings:
                if reading.slot_type == "AMAZON.NUMBER" and reading.value.isdigit() and int(reading.value) < ADULT_AGE \
                        and self._said_like("age", _context_of(words, entity, _claim(found))):
                    return True
        return False

    def _said_like(self, name: str, context: Sequence[str]) -> bool:
        """Whether a value has words some sample puts beside a slot of this name: next to it on both
        sides ("i'm {age} and"), the two after it ("an {age} YEAR OLD"), or the same two words before
        it in one sample ("<s> I'M {age} whats the right amount")."""
        seen = self._contexts_by_name.get(name, _NO_CONTEXT).counts
        side = {feature[:2]: bool(seen[feature]) for feature in context}
        words_after = "R1:</s>" not in context  # at the sentence's end, "the two after it" are no words
        before = {feature[:2]: feature[3:] for feature in context}
        return (side.get("L1", False) and side.get("R1", False)) or (
            words_after and side.get("R1", False) and side.get("R2", False)) or (
            "L1" in before and bool(seen[_before_two(before.get("L2", ""), before["L1"])])
            and not _MEASURE.fullmatch(before.get("R1", "")))  # "i'm TWO WEEKS into it" is no age

    def _unknown_values(
        self, intent: str, words: Sequence[str], entities: Sequence[_Entity], filled: Mapping[str, SlotMatch]
    ) -> dict[str, SlotMatch]:
        """Custom slots spoken with a value the type does not list: the words where a sample has the slot.

        A sample's words either side of the slot anchor the capture ("tell me about {form}" hears
        "zinc" in "tell me about zinc"); at least two anchor words must match, so a lone "{form}"
        cannot swallow any sentence. The best anchored capture wins, then the shortest.
        """
        declared = self.intents.get(intent, {})
        open_slots = {n for n, t in declared.items() if t in self._custom_types and n not in filled}
        if not open_slots:
            return {}
        taken = [False] * len(words)
        for entity in entities:
            taken[entity.start:entity.end] = [True] * (entity.end - entity.start)
        best: dict[str, tuple[int, int, str]] = {}  # slot -> (anchor words, -length, value)
        own_words = self._literal_words[intent]
        for sample in self._samples_of.get(intent, ()):
            for k, part in enumerate(sample.parts):
                if isinstance(part, str) or part[0] not in open_slots:
                    continue
                left = _literals(reversed(sample.parts[:k]))[::-1]
                right = _literals(sample.parts[k + 1:])
                if (not left and k > 0) or (not right and k + 1 < len(sample.parts)):
                    continue  # next to another slot: nothing to anchor on
                for anchors, start, end in _captures(words, taken, left, right):
                    value = " ".join(words[start:end])
                    # The intent's own words ("how much MAGNESIUM should i take") and pronouns are no value.
                    if anchors < 2 or all(w in own_words or w in _NOT_A_VALUE for w in words[start:end]):
                        continue
                    score = (anchors, start - end, value)
                    if part[0] not in best or score[:2] > best[part[0]][:2]:
                        best[part[0]] = score
        return {
            name: SlotMatch(name, value, declared[name], None, None) for name, (_, _, value) in best.items()
        }


@dataclass
class _SlotContext:
    """The words the samples put either side of one intent's slot, counted: its tagger's context features."""

    counts: Counter[str] = field(default_factory=Counter)
    samples: int = 0

    def fit(self, context: Sequence[str]) -> float:
        """How typical ``context`` (features from ``_context_of``) is for this slot, 0 to 3."""
        if not self.samples:
            return 0.0
        return sum(_CONTEXT_WEIGHTS[f[:2]] * self.counts[f] for f in context) / self.samples


_NO_CONTEXT = _SlotContext()
_NEAREST_WEIGHT = 2.0
# Slots a value fills only when said the way the samples say them, on both sides ("i'm {age} and",
# "a {age} year old"): a clock time or a count of hours heard as an age would send someone to a doctor
# for nothing.
_SAID_LIKE_ITSELF = frozenset({"age"})
_OLDEST = 120  # no age is larger
# Slots a value fills only after one of these words, at most four before it: a second choice is said
# after "or" ("400 or maybe 600", "300 or should i do 400"); a number ending a sentence is no choice.
_SAID_AFTER = {"or_amount": frozenset({"or"})}
# Words after which a number is someone's age, never a spare amount: "my mom's 80", "i'm 72".
_AGE_BEFORE = frozenset("i'm im am he's she's aged age turned turning".split())
_WHOSE = frozenset("my our his her their".split())
_NOT_A_PERSON = frozenset(
    "it that there what this which here one mine bottle label dose amount each capsule tablet pill serving scoop".split())
# How often the samples must put two words before a health mention for an unseen word after them to be one.
_UNSEEN_LEAST = 2
# Words after a number that make it a measure, not an age: "i'm two WEEKS in", "i'm 400 MG in".
_MEASURE = re.compile(r"(?:minute|hour|day|night|week|month|time|capsule|pill|tablet|gummie|gummy|milligram|gram|mg|g)s?"
                      r"|am|pm|o'clock|slot[a-z0-9]+")  # slot...: another value (a unit) follows
_LEAST_FIT = 0.3
_AMOUNT_SLOT = "amount"
_COUNT_SLOT = "count"
_AMOUNT_SLOTS = frozenset({"amount", "more_amount", "or_amount"})
# What follows a number that is no amount: a length of time ("i'm twenty eight weeks"), a count of
# something ("two capsules"), or the amount itself ("two 500 mg tablets").
_NOT_AFTER_AN_AMOUNT = frozenset(
    "second seconds minute minutes hour hours day days night nights week weeks month months year years "
    "capsule capsules pill pills tablet tablets gummy gummies scoop scoops softgel softgels slotamazonnumber".split())
# What "N of" counts when N is no amount: "two of them", "two of the 400s" ("300 of glycinate" is an amount).
_COUNTED = frozenset("them those these the".split())
# The least number heard as a spare amount: below it, a count, an age or a time is likelier.
_SPARE_AMOUNT_FROM = 50
# Next words count most; the word beyond them a little ("i'M {age}", "TAKE {amount} {unit}").
_CONTEXT_WEIGHTS = {"L1": 1.0, "R1": 1.0, "L2": 0.5, "R2": 0.5}


def _what_a_dose_comes_in(words: Sequence[str], entity: _Entity, forms_end: Container[int]) -> bool:
    """Whether a health word is the tablet or capsule an amount or magnesium comes in: "a 500 mg TABLET",
    "two 400 CAPSULES", "the magnesium TABLETS", "my glycinate PILLS" (``forms_end``: where a form's name ends).

    Alone, "tablets" is a medicine ("i'm on tablets") and stays one: the gate fails closed.
    """
    if entity.end - entity.start != 1 or not entity.start or words[entity.start] not in _CONTAINERS:
        return False
    if any(r.slot_type != _HEALTH_TYPE for r in entity.readings):
        return False
    before = words[entity.start - 1]
    amount = parse_number(before)  # "a 500 tablet" is an amount's; "i'm on one tablet a day" is a medicine
    return (before in ("milligrams", "grams", "gram", "g", "magnesium") or entity.start in forms_end
            or (amount is not None and float(amount) >= _SPARE_AMOUNT_FROM))


_AGE_HEDGES = frozenset("only just nearly almost about barely turning".split())


def _said_as_an_age(words: Sequence[str], entity: _Entity) -> bool:
    """Whether a number follows "i'm", "he's", "my mom's" with no measure after it: someone's age."""
    start = entity.start
    while start and words[start - 1] in _AGE_HEDGES:  # "i'm ONLY 16", "she's NEARLY twelve"
        start -= 1
    before = words[start - 1] if start else ""
    after = words[entity.end] if entity.end < len(words) else ""
    # "my mom's 80", "my gran is ninety": someone's age; "the bottle's 500", "the dose is 400": no one's.
    said_of = start > 2 and before == "is" and words[start - 3] in _WHOSE  # "MY gran IS 90"
    someone = before[:-2] if before.endswith("'s") else words[start - 2] if said_of else None
    someones = someone is not None and someone not in _NOT_A_PERSON and someone not in _NOT_A_VALUE
    return (before in _AGE_BEFORE or someones) and not _MEASURE.fullmatch(after) and after not in _NOT_AFTER_AN_AMOUNT


def _context_of(words: Sequence[str], entity: _Entity, entities: Sequence[_Entity]) -> list[str]:
    """The two tokens either side of a value, other values read as their types, sentence edges as <s> and </s>."""
    tokens: list[str] = []
    index: list[int] = []  # where each token starts, to find the value's neighbours
    i = 0
    by_start = {e.start: e for e in entities}
    while i < len(words):
        other = by_start.get(i)
        if other is not None:
            tokens.append(_placeholder(other.readings[0].slot_type))
            index.append(i)
            i = other.end
        else:
            tokens.append(words[i])
            index.append(i)
            i += 1
    at = index.index(entity.start) if entity.start in index else None
    if at is None:
        return []
    padded = ["<s>", "<s>", *tokens, "</s>", "</s>"]
    at += 2
    return [f"L1:{padded[at - 1]}", f"L2:{padded[at - 2]}", f"R1:{padded[at + 1]}", f"R2:{padded[at + 2]}"]


def _slot_contexts(samples: Iterable[_Sample]) -> dict[tuple[str, str], _SlotContext]:
    """Each (intent, slot)'s context counts over the intent's samples."""
    out: dict[tuple[str, str], _SlotContext] = defaultdict(_SlotContext)
    for sample in samples:
        tokens = ["<s>", "<s>", *(p if isinstance(p, str) else _placeholder(p[1]) for p in sample.parts), "</s>", "</s>"]
        for k, part in enumerate(sample.parts):
            if isinstance(part, str):
                continue
            at = k + 2
            context = out[(sample.intent, part[0])]
            context.samples += 1
            context.counts.update({f"L1:{tokens[at - 1]}", f"L2:{tokens[at - 2]}", f"R1:{tokens[at + 1]}",
                                   f"R2:{tokens[at + 2]}", _before_two(tokens[at - 2], tokens[at - 1])})
    return dict(out)


def _before_two(second: str, first: str) -> str:
    """The two words before a slot, together ("<s> i'm {age}"): only for _said_like, never weighed in fit."""
    return f"B2:{second} {first}"


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()  # type: ignore[no-any-return]


def _word_ngrams(text: str) -> list[str]:
    """Word 1-3 grams, with the sentence's start and end marked ("<s> is", "too much </s>")."""
    words = ["<s>", *text.split(), "</s>"]
    grams = words[1:-1]
    grams += [" ".join(words[i:i + 2]) for i in range(len(words) - 1)]
    grams += [" ".join(words[i:i + 3]) for i in range(len(words) - 2)]
    return grams


# The feature views: (which text, TfidfVectorizer settings). Word n-grams read the utterance
# with values as types; character n-grams read the words as said.
_VIEWS: list[tuple[str, dict[str, Any]]] = [
    ("delex", {"analyzer": _word_ngrams, "sublinear_tf": True}),
    ("raw", {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True}),
]


def _literals(parts: Iterable[str | tuple[str, str]], limit: int = 3) -> list[str]:
    """Up to ``limit`` literal words next to a slot, stopping at another slot."""
    out: list[str] = []
    for part in parts:
        if not isinstance(part, str) or len(out) == limit:
            break
        out.append(part)
    return out


def _captures(words: Sequence[str], taken: Sequence[bool], left: Sequence[str], right: Sequence[str]) -> Iterable[tuple[int, int, int]]:
    """``(anchor words matched, start, end)`` for each run of 1-4 unclaimed words where a slot sits.

    The run must follow the end of ``left`` (as many of its last words as match, at least one)
    and precede the start of ``right`` (likewise), or open/close the sentence where the slot
    opens/closes the sample; a sentence edge counts as one anchor word.
    """
    n = len(words)
    for start in range(n):
        if taken[start] or words[start] in _CAPTURE_BREAKS:
            continue  # "best magnesium for | when my mind races": a clause, not a value
        if left:
            before = _overlap(words[:start][::-1], left[::-1])
            if not before:
                continue
        elif start != 0:
            continue  # the slot opens the sample, so the value opens the sentence
        else:
            before = 1
        for end in range(start + 1, min(n, start + _CAPTURE_MAX_WORDS) + 1):
            if taken[end - 1] or (end - 1 > start and words[end - 1] in _CAPTURE_BREAKS):
                break
            if right:
                after = _overlap(words[end:], right)
                if after:
                    yield before + after, start, end
            elif end == n:
                yield before + 1, start, end
            elif words[end] in _CAPTURE_BREAKS:
                yield before, start, end  # the value ends where the next clause starts


def _overlap(words: Sequence[str], anchor: Sequence[str]) -> int:
    """How many of ``anchor``'s words ``words`` starts with."""
    count = 0
    for said, expected in zip(words, anchor):
        if said != expected:
            break
        count += 1
    return count


def read_model(path: Path) -> dict[str, Any]:
    """The interaction model JSON at ``path``, or a ModelError saying why it cannot be read."""
    try:
        model = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: no such interaction model file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    return model  # type: ignore[no-any-return]


# --- cross-validation --------------------------------------------------------------------------


@dataclass(frozen=True)
class CrossValidation:
    """How a resolver trained without some samples does on them: the honest accuracy figure."""

    folds: int
    # intent -> (held-out samples resolved to it, held-out samples it has)
    per_intent: dict[str, tuple[int, int]]
    # (confidence, right intent?) of every held-out model sample, before the threshold
    in_domain: list[tuple[float, bool]]
    # confidence of every held-out out-of-domain request that did not land on Fallback
    out_of_domain: list[float]
    out_of_domain_total: int

    @property
    def accuracy(self) -> float:
        right = sum(r for r, _ in self.per_intent.values())
        return right / max(1, sum(t for _, t in self.per_intent.values()))

    def best_threshold(self, grid: Sequence[float] = THRESHOLD_GRID) -> float:
        """The threshold on ``grid`` with the smallest sum of both error rates (the lowest if tied)."""
        return min(grid, key=lambda t: (sum(self.rates(t)[1:]), t))

    def rates(self, threshold: float) -> tuple[float, float, float]:
        """At ``threshold``: (accuracy, in-domain share falling back, out-of-domain share let through)."""
        n = max(1, len(self.in_domain))
        right = sum(1 for c, ok in self.in_domain if ok and c >= threshold) / n
        fell = sum(1 for c, _ in self.in_domain if c < threshold) / n
        through = sum(1 for c in self.out_of_domain if c >= threshold) / max(1, self.out_of_domain_total)
        return right, fell, through


def cross_validate(model: Mapping[str, Any], folds: int = 5) -> CrossValidation:
    """Train ``folds`` resolvers, each without one fold of every intent's samples, and test on it.

    Folds are stratified by intent and fixed (every ``folds``-th sample), so the figure repeats.
    The out-of-domain requests are split the same way. The exact-sample shortcut plays no part
    for a held-out sample unless another sample says the same words, as it would on a device.
    """
    _language_model(model)  # a clear ModelError before any training
    per_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    in_domain: list[tuple[float, bool]] = []
    out_of_domain: list[float] = []
    for fold in range(folds):
        trimmed = copy.deepcopy(dict(model))
        held: list[_Sample] = []
        for intent in _list(_language_model(trimmed).get("intents")):
            if not _named(intent) or not isinstance(intent.get("samples"), list):
                continue
            declared = {s["name"]: str(s.get("type", "")) for s in _list(intent.get("slots")) if _named(s)}
            kept = []
            for k, text in enumerate(intent["samples"]):
                parsed = _parse_sample(intent["name"], text, declared) if isinstance(text, str) else None
                if parsed is not None and k % folds == fold:
                    held.append(parsed)
                else:
                    kept.append(text)
            intent["samples"] = kept
        ood_train = [t for k, t in enumerate(OUT_OF_DOMAIN) if k % folds != fold]
        ood_test = [t for k, t in enumerate(OUT_OF_DOMAIN) if k % folds == fold]
        resolver = Resolver(trimmed, threshold=0.0, out_of_domain=ood_train)
        for sample in held:
            got = resolver.resolve(sample.fill(resolver._recogniser.values, 0))
            per_intent[sample.intent][1] += 1
            per_intent[sample.intent][0] += got.intent == sample.intent
            in_domain.append((got.confidence if got.intent != FALLBACK_INTENT else 0.0, got.intent == sample.intent))
        for text in ood_test:
            got = resolver.resolve(text)
            if got.intent != FALLBACK_INTENT:
                out_of_domain.append(got.confidence)
    return CrossValidation(folds, {k: (v[0], v[1]) for k, v in sorted(per_intent.items())}, in_domain,
                           out_of_domain, len(OUT_OF_DOMAIN))


# --- reading the model -------------------------------------------------------------------------


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
