"""Every request type Alexa can send a custom skill, answered as Alexa expects it.

The envelopes in tests/fixtures/events/ are written from the Alexa request reference, one per
request type ask-sdk-model knows (plus an ERROR session end, a kept-profile disable, a request
type from the future and two envelopes from before `context` existed). Each is sent over HTTP,
through the Lambda entry and, signed, through the verifying endpoint:

    U: (a player, system, skill, reminder, list or screen event)
    A: 200 {"version": "1.0", "response": {}}   -- no speech, reprompt, card or shouldEndSession;
                                                   an INFO line names the type; never the apology
    U: (System.ExceptionEncountered, or a session ended by an ERROR)
    A: 200 with the empty response, and a WARNING with Alexa's error type and message
    U: (a launch or an intent, with or without context)
    A: 200 with speech
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_model import RequestEnvelope
from flask import Flask

from skill.builder import build_skill
from skill.profile.factory import SQLITE_FILE_NAME
from skill.profile.sqlite_store import SqlitePersistenceAdapter
from skill.runtime import KNOWN_REQUEST_TYPES, BadEnvelope, SkillRunner
from skill.settings import Settings
from skill.web import create_app
from skill.web.verify import RequestVerifier
from tests import pki
from tests.conversation import check_response, envelope, intent_request

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "tests" / "fixtures" / "events"
LAMBDA = ROOT / "lambda" / "lambda_function.py"
SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-000000000000"  # the fixtures' application id
USER = "amzn1.ask.account.EVENTS0TEST0USER"  # the fixtures' user

FIXTURES = sorted(EVENTS.glob("*.json"))
# Only these may (and must) speak; every other fixture gets the empty response.
SPOKEN = {"LaunchRequest", "IntentRequest", "LaunchRequest--no-context", "IntentRequest--no-context"}
# Alexa's own error reports: logged at WARNING with their type (their message can quote what the skill said).
WARNED = {"System.ExceptionEncountered": "INVALID_RESPONSE", "SessionEndedRequest--error": "INVALID_RESPONSE"}


def request_type(path: Path) -> str:
    """The request type a fixture stands for: its file name before any "--variant"."""
    return path.stem.split("--")[0]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


_lambda_ids = itertools.count()


@contextmanager
def lambda_entry(**env: str) -> Iterator[ModuleType]:
    """Import lambda/lambda_function.py afresh, as a cold start would, with these BEDTIME_* settings."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("BEDTIME_")]:
            patch.delenv(name)
        patch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
        patch.setenv("PYDANTIC_DISABLE_PLUGINS", "__all__")
        for name, value in {"BEDTIME_PERSISTENCE": "none", "BEDTIME_ALEXA_API": "false", **env}.items():
            patch.setenv(name, value)
        spec = importlib.util.spec_from_file_location(f"lambda_function_{next(_lambda_ids)}", LAMBDA)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        finally:
            # The entry point sends logs to stderr as JSON; give pytest's log capture its handlers back.
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
        try:
            yield module
        finally:
            store = module._runner.skill.persistence_adapter
            if hasattr(store, "close"):
                store.close()


@pytest.fixture(scope="module")
def lambda_module() -> Iterator[ModuleType]:
    with lambda_entry(BEDTIME_SKILL_ID=SKILL_ID) as module:
        yield module


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """The web service as deployed, verification apart: the skill id is set, a real SQLite store."""
    return create_app(Settings(_env_file=None, verify_signature=False, skill_id=SKILL_ID, persistence="sqlite",
                               data_dir=tmp_path, alexa_api=False, seed=7))


def assert_answered_as_alexa_expects(name: str, answer: dict[str, Any], records: list[logging.LogRecord]) -> None:
    """The promise for one fixture: its kind of answer, and log lines at the right levels."""
    assert answer["version"] == "1.0"
    response = answer["response"]
    failures = [r for r in records if r.levelno >= logging.ERROR]
    assert failures == [], f"{name}: {[r.getMessage() for r in failures]}"
    if name in SPOKEN:
        check_response(answer)
        assert "<speak>" in response["outputSpeech"]["ssml"]
        return
    if request_type(Path(name)) == "CanFulfillIntentRequest":
        assert set(response) == {"canFulfillIntent"}
        return
    # Nothing at all: AudioPlayer and PlaybackController refuse even shouldEndSession.
    assert response == {}, f"{name}: {response}"
    if name in WARNED:
        warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
        assert any(WARNED[name] in w for w in warnings) and not any("SSML" in w for w in warnings), warnings
    elif not request_type(Path(name)).startswith("SessionEnded"):
        said = [r.getMessage() for r in records if r.levelno == logging.INFO and r.name.startswith("skill.")]
        assert any(request_type(Path(name)) in line or "skill disabled" in line for line in said), said


def test_every_request_type_in_the_reference_has_an_envelope() -> None:
    have = {request_type(p) for p in FIXTURES}
    assert KNOWN_REQUEST_TYPES - have == set()
    assert len(KNOWN_REQUEST_TYPES) >= 59  # ask-sdk-model 1.82 knows 59; fewer would mean a downgrade


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_each_request_type_over_http(app: Flask, path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = app.test_client().post("/alexa", data=path.read_bytes(), content_type="application/json")
    assert response.status_code == 200, response.get_data()
    assert_answered_as_alexa_expects(path.stem, response.get_json(), caplog.records)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_each_request_type_through_the_lambda_entry(
    lambda_module: ModuleType, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answer = lambda_module.lambda_handler(load(path), None)
    json.dumps(answer, allow_nan=False)  # what Lambda hands back to Alexa must be plain JSON
    assert_answered_as_alexa_expects(path.stem, answer, caplog.records)


def test_each_request_type_signed_by_alexa(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The verifying endpoint as deployed: every fixture signed by the test PKI, just now, for this skill."""
    ca = pki.make_pki(tmp_path)
    settings = Settings(_env_file=None, verify_signature=True, ca_bundle=ca.bundle, persistence="none",
                        skill_id=pki.SKILL_ID, alexa_api=False, seed=7)
    chain = pki.chain_pem(ca.leaf, ca.intermediate)
    verifier = RequestVerifier(skill_id=pki.SKILL_ID, ca_bundle=ca.bundle, clock=lambda: pki.NOW,
                               fetch=lambda url: chain if url == pki.CERT_URL else b"")
    client = create_app(settings, runner=SkillRunner(build_skill(settings)), verifier=verifier).test_client()
    caplog.set_level(logging.INFO)
    for path in FIXTURES:
        caplog.clear()
        text = path.read_text(encoding="utf-8").replace(SKILL_ID, pki.SKILL_ID)
        payload = json.loads(text)
        payload["request"]["timestamp"] = pki.NOW.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = json.dumps(payload).encode()
        response = client.post("/alexa", data=body, headers=pki.sign_body(body, ca.leaf.key),
                               content_type="application/json")
        assert response.status_code == 200, (path.stem, response.get_data())
        assert_answered_as_alexa_expects(path.stem, response.get_json(), caplog.records)


# --- disabling the skill forgets the person ---------------------------------------------------


def rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM user_attributes").fetchone()[0])


def remember_a_preference(runner: SkillRunner, user_id: str = USER) -> None:
    """U: remember three hundred milligrams of glycinate   (a row appears in the store)"""
    answer = runner.invoke(envelope(intent_request("SetPreferenceIntent", amount="300", unit="mg:milligrams",
                                                   form="glycinate:glycinate"), user_id=user_id))
    check_response(answer)


@pytest.fixture
def runner(settings: Settings, store: SqlitePersistenceAdapter) -> SkillRunner:
    """The skill with its id configured, as deployed: only then is a SkillDisabled event honoured."""
    return SkillRunner(build_skill(settings.model_copy(update={"skill_id": SKILL_ID}), persistence=store))


def test_without_a_skill_id_a_disable_deletes_nothing_and_says_why(settings: Settings, store: SqlitePersistenceAdapter,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    # Nothing proves the event is this skill's: another skill's SkillDisabled must not delete a row here.
    runner = SkillRunner(build_skill(settings, persistence=store))
    remember_a_preference(runner)
    answer = runner.invoke(load(EVENTS / "AlexaSkillEvent.SkillDisabled.json"))
    assert answer["response"] == {} and rows(store.path) == 1
    assert any(r.levelno == logging.WARNING and "BEDTIME_SKILL_ID" in r.getMessage() for r in caplog.records)


def test_disabling_the_skill_deletes_that_persons_row(runner: SkillRunner, store: SqlitePersistenceAdapter) -> None:
    remember_a_preference(runner)
    remember_a_preference(runner, user_id="amzn1.ask.account.SOMEONE0ELSE")
    assert rows(store.path) == 2
    answer = runner.invoke(load(EVENTS / "AlexaSkillEvent.SkillDisabled.json"))
    assert answer["response"] == {}
    assert rows(store.path) == 1  # theirs is gone; the other person's stays


def test_a_disable_alexa_keeps_the_user_id_for_keeps_the_row(runner: SkillRunner, store: SqlitePersistenceAdapter) -> None:
    remember_a_preference(runner)
    answer = runner.invoke(load(EVENTS / "AlexaSkillEvent.SkillDisabled--persisted.json"))
    assert answer["response"] == {} and rows(store.path) == 1


@pytest.mark.parametrize("body", [{}, {"userInformationPersistenceStatus": "SOMETHING_NEW"}, None])
def test_a_disable_without_a_known_status_deletes(runner: SkillRunner, store: SqlitePersistenceAdapter,
                                                  body: dict[str, str] | None) -> None:
    remember_a_preference(runner)
    event = load(EVENTS / "AlexaSkillEvent.SkillDisabled.json")
    if body is None:
        del event["request"]["body"]
    else:
        event["request"]["body"] = body
    runner.invoke(event)
    assert rows(store.path) == 0


def test_disabling_through_the_lambda_entry_deletes_the_row(tmp_path: Path) -> None:
    with lambda_entry(BEDTIME_PERSISTENCE="sqlite", BEDTIME_DATA_DIR=str(tmp_path), BEDTIME_SKILL_ID=SKILL_ID) as entry:
        remember_a_preference(entry._runner)
        assert rows(tmp_path / SQLITE_FILE_NAME) == 1
        answer = entry.lambda_handler(load(EVENTS / "AlexaSkillEvent.SkillDisabled.json"), None)
    assert answer["response"] == {}
    assert rows(tmp_path / SQLITE_FILE_NAME) == 0


class BrokenStore(SqlitePersistenceAdapter):
    """A store whose disk has gone away at the moment of deleting."""

    def delete_attributes(self, request_envelope: RequestEnvelope) -> None:
        raise PersistenceException("could not write attributes: disk I/O error")


def test_a_store_failure_on_disable_is_logged_and_answered_empty(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = BrokenStore(tmp_path / "broken.sqlite3")
    answer = SkillRunner(build_skill(settings.model_copy(update={"skill_id": SKILL_ID}), persistence=broken)).invoke(
        load(EVENTS / "AlexaSkillEvent.SkillDisabled.json"))
    broken.close()
    # A real failure: an ERROR line for the operator, and still no speech to an event nobody hears.
    assert answer["response"] == {}
    assert any(r.levelno == logging.ERROR and "AlexaSkillEvent.SkillDisabled" in r.getMessage() for r in caplog.records)


def test_an_event_failure_never_speaks_the_apology(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """A handler that fails on a player request: logged as the failure it is, answered with nothing."""
    from skill.handlers.events import QuietRequestHandler

    def fail(self: QuietRequestHandler, handler_input: Any) -> Any:
        raise RuntimeError("player state unreadable")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(QuietRequestHandler, "handle", fail)
        answer = SkillRunner(build_skill(settings)).invoke(load(EVENTS / "AudioPlayer.PlaybackFailed.json"))
    assert answer["response"] == {}
    assert [r.levelno for r in caplog.records if r.levelno >= logging.ERROR] == [logging.ERROR]


def test_a_future_request_type_on_lambda_is_an_empty_answer_not_an_exception(lambda_module: ModuleType) -> None:
    event = load(EVENTS / "Foo.BarEvent--future.json")
    for kind in ("Foo.BarEvent", "Alexa.Presentation.APL.SomethingNew", "AlexaSkillEvent.SkillRated"):
        event["request"]["type"] = kind
        assert lambda_module.lambda_handler(event, None) == {"version": "1.0", "response": {}}


def test_a_future_request_type_for_another_skill_is_still_refused(lambda_module: ModuleType) -> None:
    event = json.loads(json.dumps(load(EVENTS / "Foo.BarEvent--future.json")).replace(SKILL_ID, "amzn1.ask.skill.other"))
    with pytest.raises(BadEnvelope, match="wrong application id"):
        lambda_module.lambda_handler(event, None)
