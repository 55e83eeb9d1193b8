"""Device mode: the skill understood as a device would understand it, from the interaction model alone.

No hand rules: an intent classifier and a slot tagger trained on the model's samples (and a tiny generic set
of built-in intent phrasings), AMAZON.FallbackIntent by a confidence threshold. Read as conversations,
against the real model file.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from skill_tools import phrasebank
from skill_tools.paths import MODEL_FILE, default_model_dir
from skill_tools.phrasebank import BANK, Phrase, Report, Scored, Scorer, load, score_file
from skill_tools.simulator import device as device_module
from skill_tools.simulator.device import DEFAULT_THRESHOLD, DeviceNLU
from skill_tools.simulator.nlu import FALLBACK_INTENT, Resolver

MODEL = default_model_dir() / MODEL_FILE


@pytest.fixture(scope="module")
def device() -> DeviceNLU:
    return DeviceNLU.from_model(MODEL)


def samples_of(intent: str) -> list[str]:
    language = json.loads(MODEL.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]
    return next(i.get("samples", []) for i in language["intents"] if i["name"] == intent)


# --- what a device hears -----------------------------------------------------------------------------


def test_a_sample_of_the_model_is_its_intent_with_its_slots(device: DeviceNLU) -> None:
    assert "what's the difference between {form} and {other_form}" in samples_of("CompareFormsIntent")
    # U: what's the difference between glycinate and citrate
    res = device.resolve("What's the difference between glycinate and citrate?")
    assert res.intent == "CompareFormsIntent"
    assert {k: v.resolved_id for k, v in res.slots.items()} == {"form": "glycinate", "other_form": "citrate"}
    assert res.declared_slots["form"] == "FormType"
    # A synonym resolves to its value's id, and the words heard travel as the value.
    synonym = device.resolve("what's the difference between magnesium glycinate and citrate").slots["form"]
    assert (synonym.value, synonym.resolved_id, synonym.resolved_name) == ("magnesium glycinate", "glycinate", "glycinate")


def test_an_unlisted_value_where_the_samples_put_a_condition_fills_the_slot_unresolved(device: DeviceNLU) -> None:
    assert "i'm on {condition} is magnesium okay" in samples_of("SafetyIntent")
    # U: i'm on zorvatrex is magnesium okay   ("zorvatrex" is no ConditionType value or synonym)
    res = device.resolve("i'm on zorvatrex is magnesium okay")
    assert res.intent == "SafetyIntent"
    condition = res.slots["condition"]
    assert (condition.value, condition.slot_type, condition.resolved_id) == ("zorvatrex", "ConditionType", None)


def test_the_magnesium_pills_are_no_medicine_on_a_device(device: DeviceNLU) -> None:
    # "pills" alone was a medicine's synonym, so "how many magnesium pills" was sent to a doctor; a medicine
    # still needs its own words ("my pills", "a bunch of pills").
    for said in ("how many magnesium pills should i take", "how many of the magnesium tablets should i take"):
        res = device.resolve(said)
        assert (res.intent, res.slots.get("condition")) == ("DoseIntent", None), said
    assert device.resolve("i'm on my pills how much magnesium can i take").slots["condition"].resolved_id == "medicines"


def test_an_unlisted_value_reaches_the_skill_as_er_success_no_match(device: DeviceNLU) -> None:
    from skill.builder import build_skill
    from skill.runtime import SkillRunner
    from skill.settings import Settings
    from skill_tools.simulator.envelopes import RequestFactory
    from skill_tools.simulator.session import Simulator

    settings = Settings(_env_file=None, persistence="none", alexa_api=False, seed=1)  # type: ignore[call-arg]
    sim = Simulator(SkillRunner(build_skill(settings)).invoke, device, RequestFactory())  # type: ignore[arg-type]
    turn = sim.say("my doctor put me on blorbinol")
    slot = turn.request["request"]["intent"]["slots"]["condition"]
    assert slot["value"] == "blorbinol"
    assert slot["resolutions"]["resolutionsPerAuthority"][0]["status"]["code"] == "ER_SUCCESS_NO_MATCH"


@pytest.mark.parametrize(("said", "intent", "slot", "value"), [
    ("is three hundred milligrams too much", "DoseIntent", "amount", "300"),
    ("is 1,200mg too much", "DoseIntent", "amount", "1200"),
    ("lights out at half past ten pm", "SetBedtimeIntent", "time", "22:30"),
    ("update my bedtime to 10:45 pm", "SetBedtimeIntent", "time", "22:45"),
    ("i turn in at eleven", "SetBedtimeIntent", "time", "11:00"),
])
def test_numbers_and_times_are_normalised_as_alexa_sends_them(device: DeviceNLU, said: str, intent: str, slot: str, value: str) -> None:
    res = device.resolve(said)
    assert res.intent == intent
    assert res.slots[slot].value == value and res.slots[slot].resolved_id is None


@pytest.mark.parametrize("said", ["asdf qwerty zxcv", "what's the weather in paris", "blorp", ""])
def test_gibberish_and_other_requests_fall_back(device: DeviceNLU, said: str) -> None:
    res = device.resolve(said)
    assert res.intent == FALLBACK_INTENT and res.slots == {}
    assert res.confidence < DEFAULT_THRESHOLD


@pytest.mark.parametrize(("said", "intent"), [
    ("stop", "AMAZON.StopIntent"), ("cancel", "AMAZON.CancelIntent"), ("help", "AMAZON.HelpIntent"),
    ("yes please", "AMAZON.YesIntent"), ("no thanks", "AMAZON.NoIntent"),
])
def test_built_in_intents_hear_their_generic_phrasings(device: DeviceNLU, said: str, intent: str) -> None:
    assert device.resolve(said).intent == intent


def test_only_the_slots_the_intent_declares_are_sent(device: DeviceNLU) -> None:
    for said in ("how much magnesium should i take with glycinate", "i'm on warfarin", "remind me at ten pm"):
        res = device.resolve(said)
        assert set(res.slots) <= set(device.intents.get(res.intent, {})), said


def test_the_invocation_is_split_off_as_on_a_device(device: DeviceNLU) -> None:
    assert device.invocation_name == "bedtime magnesium"
    assert device.split_invocation("open Bedtime Magnesium") == (True, "")
    assert device.split_invocation("ask bedtime magnesium about how much to take") == (True, "how much to take")
    assert device.split_invocation("how much should i take") == (False, "how much should i take")


def test_an_elicited_form_is_heard_as_that_slot_through_custom_value(device: DeviceNLU) -> None:
    from skill.builder import build_skill
    from skill.runtime import SkillRunner
    from skill.settings import Settings
    from skill_tools.simulator.dialog import load_slot_samples
    from skill_tools.simulator.envelopes import RequestFactory
    from skill_tools.simulator.session import Simulator

    settings = Settings(_env_file=None, persistence="none", alexa_api=False, seed=1)  # type: ignore[call-arg]
    sim = Simulator(SkillRunner(build_skill(settings)).invoke, device, RequestFactory(), load_slot_samples(MODEL))  # type: ignore[arg-type]
    # U: remember my magnesium   A: ... which form? (Dialog.ElicitSlot on form)
    asked = sim.say("remember my magnesium")
    assert asked.response["response"]["directives"][0]["slotToElicit"] == "form"
    # U: it's citrate   -> SetPreferenceIntent with the form resolved
    answered = sim.say("it's citrate")
    assert answered.request["request"]["intent"]["name"] == "SetPreferenceIntent"
    slot = answered.request["request"]["intent"]["slots"]["form"]
    assert slot["resolutions"]["resolutionsPerAuthority"][0]["values"][0]["value"]["id"] == "citrate"
    assert device.custom_value("FormType", "Magnesium Citrate") is not None
    assert device.custom_value("FormType", "the weather") is None


def test_device_mode_has_none_of_the_resolvers_hand_rules(device: DeviceNLU) -> None:
    # A development phrase where speech recognition split a medicine into sounds: the resolver hears
    # omeprazole only by its matching-by-sound rule; a device's entity resolution matches values and
    # synonyms, so the words fill the slot as heard, unresolved.
    phrase = next(p for p in load(BANK / "dev12.toml") if p.id == "gate-r12-027")
    assert "oh mep ra zole" in phrase.text
    resolver = Resolver.from_model(MODEL)
    assert resolver.resolve(phrase.text).slots["condition"].resolved_id == "ppi"
    heard = device.resolve(phrase.text).slots.get("condition")
    assert heard is None or heard.resolved_id != "ppi"


def test_training_is_deterministic_and_cached_per_model_content(device: DeviceNLU) -> None:
    again = DeviceNLU.from_model(MODEL)
    assert again._trained is device._trained  # the same content trains once per process
    said = "can i take it with my blood pressure pills"
    assert again.probabilities(said) == device.probabilities(said)
    # Another seed trains anew, and hears the same. Two seeds of the whole model cost 15 s of the suite,
    # so they train on the part of it where this question could go astray.
    model = json.loads(MODEL.read_text(encoding="utf-8"))
    language = model["interactionModel"]["languageModel"]
    language["intents"] = [i for i in language["intents"]
                           if i["name"] in {"SafetyIntent", "UncoveredIntent", "TimingIntent", "AMAZON.FallbackIntent"}]
    one, other = DeviceNLU(model, seed=1), DeviceNLU(model, seed=99)
    assert one._trained is not other._trained
    assert one.resolve(said).intent == other.resolve(said).intent == device.resolve(said).intent == "SafetyIntent"


# --- trained models kept on disk --------------------------------------------------------------------


def small_model() -> dict[str, Any]:
    """The part of the real model where a medicine question could go astray: quick to train."""
    model = json.loads(MODEL.read_text(encoding="utf-8"))
    language = model["interactionModel"]["languageModel"]
    language["intents"] = [i for i in language["intents"]
                           if i["name"] in {"SafetyIntent", "UncoveredIntent", "TimingIntent", "AMAZON.FallbackIntent"}]
    return model


@pytest.fixture
def kept_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder for kept models, and an empty in-process cache, as in a new process."""
    monkeypatch.setenv(device_module.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(device_module, "_CACHE", {})
    return tmp_path


def test_a_kept_model_is_loaded_in_a_new_process_and_hears_the_same(kept_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    train = DeviceNLU._train

    def counted(self: DeviceNLU, seed: int) -> Any:
        seen.append(seed)
        return train(self, seed)

    monkeypatch.setattr(DeviceNLU, "_train", counted)
    trained = DeviceNLU(small_model(), seed=1)
    assert seen == [1] and len(list(kept_in.glob("*.pickle"))) == 1
    monkeypatch.setattr(device_module, "_CACHE", {})  # a new process: only the disk remembers
    loaded = DeviceNLU(small_model(), seed=1)
    assert seen == [1], "loaded, not trained again"
    assert loaded._trained is not trained._trained
    said = ["can i take it with my blood pressure pills", "i'm on zorvatrex is magnesium okay", "when should i take it"]
    assert [loaded.probabilities(s) for s in said] == [trained.probabilities(s) for s in said]
    assert [loaded.resolve(s) for s in said] == [trained.resolve(s) for s in said]


KEY = "f" * 64  # a model's key, as DeviceNLU makes them (sha256 of the model and the seed)


def stand_in_training(seen: list[str]) -> Any:
    """A training that takes no time: a stand-in model, noted in ``seen``."""
    def train() -> Any:
        seen.append("trained")
        return device_module._Trained(None, None, b"tagger", ["SafetyIntent"], None, [])

    return train


def _rewrite(path: Path, payload: bytes) -> None:
    """Write ``payload`` as a kept model with a header and checksum that match it."""
    path.write_bytes(device_module._KEPT_MAGIC + hashlib.sha256(payload).digest() + payload)


@pytest.mark.parametrize("damage", ["empty", "truncated", "a byte changed", "no header", "not a pickle",
                                    "another model's", "an older code version's", "not a trained model"])
def test_a_corrupt_or_stale_kept_model_is_trained_again_and_replaced(kept_in: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     damage: str) -> None:
    seen: list[str] = []
    device_module._trained_once(KEY, stand_in_training(seen))
    (path,) = kept_in.glob("*.pickle")
    data = path.read_bytes()
    head = len(device_module._KEPT_MAGIC) + 32
    key, version, trained = pickle.loads(data[head:])
    assert (key, version, trained.labels) == (KEY, device_module._code_version(), ["SafetyIntent"])
    monkeypatch.setattr(device_module, "_CACHE", {})
    assert device_module._trained_once(KEY, stand_in_training(seen)).labels == ["SafetyIntent"]
    assert seen == ["trained"], "a whole, current one is loaded"

    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif damage == "a byte changed":
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 1]) + data[-9:])
    elif damage == "no header":
        path.write_bytes(data[head:])
    elif damage == "not a pickle":
        _rewrite(path, b"not a pickle at all")
    elif damage == "another model's":
        _rewrite(path, pickle.dumps(("0" * 64, version, trained)))
    elif damage == "an older code version's":
        _rewrite(path, pickle.dumps((key, "0" * 64, trained)))
    else:
        _rewrite(path, pickle.dumps((key, version, {"labels": ["SafetyIntent"]})))
    assert device_module._load_kept(path, KEY) is None

    monkeypatch.setattr(device_module, "_CACHE", {})
    assert device_module._trained_once(KEY, stand_in_training(seen)).labels == ["SafetyIntent"]
    assert seen == ["trained", "trained"], "trained again"
    kept = device_module._load_kept(path, KEY)
    assert kept is not None and kept.labels == ["SafetyIntent"], "and kept whole in its place"


def test_models_an_older_code_version_kept_are_removed_when_a_new_one_is_kept(kept_in: Path) -> None:
    old = kept_in / "0123456789abcdef-0123456789abcdef0123456789abcdef.pickle"
    old.write_bytes(b"kept by an older version")
    (kept_in / "0123456789abcdef-0123456789abcdef0123456789abcdef.lock").touch()
    device_module._trained_once(KEY, stand_in_training([]))
    current = device_module._code_version()[:16]
    assert sorted(p.name for p in kept_in.iterdir()) == [f"{current}-{KEY[:32]}.lock", f"{current}-{KEY[:32]}.pickle"]


def test_without_a_folder_nothing_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(device_module.CACHE_ENV, raising=False)
    monkeypatch.setattr(device_module, "_CACHE", {})
    monkeypatch.chdir(tmp_path)
    seen: list[str] = []
    device_module._trained_once(KEY, stand_in_training(seen))
    device_module._trained_once(KEY, stand_in_training(seen))
    assert seen == ["trained"] and not list(tmp_path.iterdir())  # kept in the process only


# Two processes at once, each asking for the same model. Each notes when it is about to ask; a training
# waits until both have, and a little more, so without the lock both would train. Trainings are logged.
_RACE = """
import os, sys, time
from pathlib import Path
from skill_tools.simulator import device

started, trained = Path(sys.argv[1]), Path(sys.argv[2])
device._code_version()  # worked out before, so asking takes no time
with started.open("a") as log:
    log.write("started\\n")

def train():
    with trained.open("a") as log:
        log.write(f"{os.getpid()}\\n")
    deadline = time.monotonic() + 10
    while len(started.read_text().splitlines()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the other is at the lock (or, without one, training too)
    return device._Trained(None, None, b"tagger", ["SafetyIntent"], None, [])

print(device._trained_once("f" * 64, train).labels)
"""


def test_two_processes_asking_at_once_train_once_and_both_get_the_model(tmp_path: Path) -> None:
    started, trained = tmp_path / "started.log", tmp_path / "trained.log"
    env = {**os.environ, device_module.CACHE_ENV: str(tmp_path / "kept")}
    racers = [subprocess.Popen([sys.executable, "-c", _RACE, str(started), str(trained)], stdout=subprocess.PIPE,
                               text=True, env=env, cwd=Path(__file__).resolve().parent.parent) for _ in range(2)]
    outs = [racer.communicate(timeout=60)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0]
    assert outs == ["['SafetyIntent']\n"] * 2
    assert len(trained.read_text().splitlines()) == 1, "one trained, the other waited and loaded"


# --- the scorer -----------------------------------------------------------------------------------


class _Heard:
    """A stand-in for the skill's turn: the content keys it speaks, and how it ends."""

    def __init__(self, scorer: Scorer, keys: list[str], speech: str = "", ended: bool = False) -> None:
        self.scorer, self.keys, self.speech, self.ended = scorer, keys, speech, ended
        self.resolution = None

    def say(self, text: str) -> Any:
        self.scorer.heard.extend(self.keys)
        return self


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


@pytest.mark.parametrize(("outcome", "keys", "right"), [
    ("dose_given", ["dose.general", "disclaimer"], True),
    ("dose_given", ["screen.ask"], False),
    ("screen", ["screen.ask"], True),
    ("screen", ["screen.ask", "dose.low"], False),
    ("screen", ["fallback"], False),
    ("extra_dose", ["dose.extra_taken", "anything_else"], True),
    ("extra_dose", ["dose.extra_taken", "dose.upper_limit"], False),
    ("extra_dose", ["missed"], False),
    ("dont_know", ["vitamin_d.no_amount", "anything_else"], True),
])
def test_the_new_outcomes_are_scored_by_the_keys_spoken(scorer: Scorer, monkeypatch: pytest.MonkeyPatch,
                                                        outcome: str, keys: list[str], right: bool) -> None:
    monkeypatch.setattr(scorer, "_in_context", lambda phrase: _Heard(scorer, keys))
    assert scorer.score(Phrase("x-1", "whatever", {"outcome": outcome})).right is right


def test_the_real_skill_is_scored_on_the_new_outcomes(scorer: Scorer, tmp_path: Path) -> None:
    bank = tmp_path / "bank.toml"
    bank.write_text(
        '[[phrase]]\nid = "screen-x1"\ntext = "how much magnesium should i take"\nexpect = { outcome = "screen" }\n'
        '[[phrase]]\nid = "given-x2"\ntext = "how much magnesium should i take"\nexpect = { outcome = "dose_given" }\n'
        '[[phrase]]\nid = "given-x3"\ncontext = ["how much magnesium should i take"]\ntext = "no"\n'
        'expect = { outcome = "dose_given" }\n',
        encoding="utf-8",
    )
    assert [r.right for r in score_file(bank, scorer).results] == [True, False, True]


def test_brevity_at_night_is_summarised(monkeypatch: pytest.MonkeyPatch) -> None:
    phrase = Phrase("x-1", "whatever", {"outcome": "screen"})
    said = [("One two three. Anything else?", False), ("One two.", True), ("Is that all? Fine.", False),
            ("Four words, a question?", True)]
    report = Report("tiny", [Scored(phrase, "I", [], True, False, speech=s, ended=e) for s, e in said], "device")
    summary = report.summary()
    assert (summary["words_median"], summary["words_p90"]) == (4.0, 5)
    assert summary["asks_for_more"] == 0.25  # open AND ending on a question: only the first
    assert summary["mode"] == "device" and "in_domain_fallback" in summary


def test_mode_both_prints_one_line_per_half_and_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tiny.toml").write_text(
        '[[phrase]]\nid = "dose-x1"\ntext = "how much magnesium should i take"\nexpect = { outcome = "screen" }\n'
        '[[phrase]]\nid = "fallback-x2"\ntext = "what\'s the weather in paris"\n'
        'expect = { intent = "AMAZON.FallbackIntent", slots = {} }\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(phrasebank, "BANK", tmp_path)
    assert phrasebank.main(["tiny", "--mode", "both"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["half"], line["mode"]) for line in lines] == [("tiny", "resolver"), ("tiny", "device")]
    for line in lines:
        assert line["phrases"] == 2 and line["right"] == 2
        assert {"accuracy", "health_mentions_without_a_dose", "in_domain_fallback", "words_median", "words_p90",
                "asks_for_more"} <= set(line)
    assert phrasebank.main(["tiny", "--mode", "device"]) == 0
    assert [json.loads(line)["mode"] for line in capsys.readouterr().out.splitlines()] == ["device"]


UNSURE = ("i don't know", "hmm i don't know", "no idea", "dunno", "i guess not", "not sure", "i'm not sure",
          "not that i know of", "probably not", "i can't remember", "maybe", "i think so")


@pytest.mark.parametrize("mode", ["device", "resolver"])
def test_an_unsure_answer_to_the_screen_never_hears_a_figure(mode: str) -> None:
    # U: how much magnesium should i take   A: a quick check first: ... any of those?   U: no idea
    # "No idea" once reached AMAZON.NoIntent through samples like "no need", and a "no" releases the figure.
    scorer = Scorer(mode=mode)  # type: ignore[arg-type]
    for said in UNSURE:
        scored = scorer.score(Phrase("unsure-x1", said, {"outcome": "gated"}, ("how much magnesium should i take",)))
        assert scored.right and not scored.dose_spoken, (said, scored.intent, scored.keys)
        assert scored.intent != "AMAZON.NoIntent", said
