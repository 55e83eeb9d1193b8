"""The developer console: the page, and conversations through its JSON API with the real skill."""
from __future__ import annotations

import itertools
import json
import os
import re
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from skill.runtime import SkillRunner
from skill.settings import Settings
from skill.web import create_app
from skill_tools import loadtest
from skill_tools.cli import DEFAULT_MODEL
from skill_tools.console import (
    MAX_TEXT_CHARS,
    MAX_TOKEN_CHARS,
    TOKEN_MAX_AGE_SECONDS,
    WORKER_HEADER,
    ConversationTokens,
    console_blueprint,
    create_dev_app,
)
from skill_tools.simulator import ModelError
from skill_tools.simulator.envelopes import DEFAULT_SKILL_ID

# What `bedtime-skill serve` makes once and hands to every worker; here, two apps share it.
SECRET = b"the secret every worker of one server shares"
OWN_SKILL_ID = "amzn1.ask.skill.11111111-2222-4333-8444-555555555555"
TOKEN_REFUSED = (
    "the session token is not valid here (altered, or from an earlier run of the server); start a new session"
)

# The start of the screening question asked before a session's first dose figure.
SCREEN = "a quick check"


def local_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Local mode as `make run` has it: verification off, SQLite under ``tmp_path``, the Alexa APIs off."""
    return Settings(**{"_env_file": None, "verify_signature": False, "persistence": "sqlite", "data_dir": tmp_path,
                       "alexa_api": False, "seed": 7, **overrides})


def console_app(tmp_path: Path, **overrides: Any) -> Flask:
    """What one worker of `bedtime-skill serve` runs in local mode: the skill and the console."""
    return create_dev_app(local_settings(tmp_path, **overrides), console_secret=SECRET)


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return console_app(tmp_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post(client: FlaskClient, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = client.post(path, json=body)
    return response.status_code, response.get_json()


class Console:
    """A console tab: says things, keeps the session token the server hands back.

    Given several clients (one per worker), it sends each turn to the next in turn, as nothing
    keeps a tab on one worker process.
    """

    def __init__(self, *clients: FlaskClient) -> None:
        self.clients = clients
        self.sent = 0
        self.session: str | None = None

    def _send(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        client = self.clients[self.sent % len(self.clients)]
        self.sent += 1
        status, turn = post(client, path, {"session": self.session, **body})
        assert status == 200, turn
        self.session = turn["session"]
        return turn

    def say(self, text: str) -> dict[str, Any]:
        return self._send("/console/say", {"text": text})

    def launch(self) -> dict[str, Any]:
        return self._send("/console/launch", {})

    def end(self) -> dict[str, Any]:
        return self._send("/console/end", {})


def skill_session(turn: dict[str, Any]) -> str:
    """The skill session id the turn's request carried."""
    return str(turn["request"]["session"]["sessionId"])


def user_of(turn: dict[str, Any]) -> str:
    """The simulated person the turn's request came from."""
    return str(turn["request"]["session"]["user"]["userId"])


# --- the page -------------------------------------------------------------------------------


def test_the_page_is_served_with_only_local_assets(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    # Every asset the page names is a path on this server, never another host.
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert refs, "the page should load its stylesheet and script"
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//") or ref == "data:,", ref  # data:, is the empty favicon
        if ref.startswith("/"):
            with client.get(ref) as asset:  # closes the served file
                assert asset.status_code == 200, ref
                text = asset.get_data(as_text=True)
            assert "http://" not in text and "https://" not in text and "@import" not in text, ref
    assert "http://" not in html and "https://" not in html
    # The browser is told to refuse anything from elsewhere, too.
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy


def test_the_page_has_what_a_developer_and_a_screen_reader_need(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'id="transcript"' in html and 'aria-live="polite"' in html
    assert '<label for="utterance">' in html and 'id="utterance"' in html
    assert 'id="say"' in html and 'id="new-session"' in html and 'id="mute"' in html
    assert re.search(r'id="mic"[^>]*\bhidden\b', html), "the mic stays hidden until the browser offers recognition"
    assert 'class="answer"' in html and "<details" in html


# --- conversations ----------------------------------------------------------------------------


def test_dose_question_then_yes_gives_the_details(client: FlaskClient) -> None:
    tab = Console(client)

    # U: open bedtime magnesium  (a conversation: complete answers ask what next instead of ending)
    assert tab.say("open bedtime magnesium")["ended"] is False
    # U: how much magnesium should i take
    first = tab.say("how much magnesium should i take")
    assert first["intent"] == "DoseIntent" and first["confidence"] == 1.0
    assert SCREEN in first["speech"]  # A: First, a quick check. Any kidney or heart problems...?
    assert first["ssml"].startswith("<speak>") and "<" not in first["speech"]
    assert first["reprompt"] and first["ended"] is False
    assert first["request"]["request"]["intent"]["name"] == "DoseIntent"
    assert first["response"]["response"]["shouldEndSession"] is False

    # U: no  -> A: ...200 to 400 milligrams a day...
    assert "200 to 400" in tab.say("no")["speech"]

    # U: yes  -> the details of the same answer, in the same skill session
    second = tab.say("yes")
    assert second["intent"] == "AMAZON.YesIntent"
    assert "600 to 800" in second["speech"] and "800" in second["speech"]
    assert second["request"]["session"]["new"] is False
    assert second["request"]["session"]["sessionId"] == first["request"]["session"]["sessionId"]


def test_slots_come_back_with_what_was_heard_and_resolved(client: FlaskClient) -> None:
    turn = Console(client).say("is 300 mg of magnesium too much")
    assert turn["slots"]["amount"] == {"value": "300", "id": None}
    assert isinstance(turn["confidence"], float)


def test_launch_then_end_closes_the_skill_session(client: FlaskClient) -> None:
    tab = Console(client)
    opened = tab.launch()
    assert opened["requestType"] == "LaunchRequest" and opened["intent"] is None
    assert opened["speech"] and opened["ended"] is False
    assert opened["request"]["session"]["new"] is True

    closed = tab.end()
    assert skill_session(closed) == skill_session(opened) and user_of(closed) == user_of(opened)
    assert closed["requestType"] == "SessionEndedRequest" and closed["ended"] is True
    assert closed["request"]["request"]["reason"] == "USER_INITIATED"

    # Nothing is open now: ending again is quiet, and the next utterance starts a new skill session.
    again = tab.end()
    assert again["ended"] is True and again["request"] is None and again["speech"] == ""
    fresh = tab.say("how much magnesium should i take")
    assert fresh["request"]["session"]["new"] is True
    assert skill_session(fresh) != skill_session(opened)
    assert user_of(fresh) == user_of(opened)  # the same person, back at the same speaker


def test_stop_ends_the_session(client: FlaskClient) -> None:
    tab = Console(client)
    tab.say("how much magnesium should i take")
    assert tab.say("stop")["ended"] is True


def test_two_tabs_do_not_share_a_conversation(client: FlaskClient) -> None:
    one, two = Console(client), Console(client)
    one.say("how much magnesium should i take")
    answer = two.say("yes")  # tab two was never offered the details
    assert user_of(answer) != user_of(one.say("yes"))
    assert "600 to 800" not in answer["speech"]


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"session": None}, "text is missing or empty"),
        ({"session": None, "text": "   "}, "text is missing or empty"),
        ({"session": None, "text": 42}, "text is missing or empty"),
        ({"session": None, "text": "x" * (MAX_TEXT_CHARS + 1)}, f"text is longer than {MAX_TEXT_CHARS} characters"),
        ({"session": 7, "text": "hi"}, "session must be a console session token or null"),
        ({"session": "", "text": "hi"}, "session must be a console session token or null"),
        ({"session": "x" * (MAX_TOKEN_CHARS + 1), "text": "hi"}, "session must be a console session token or null"),
        (["how much"], "body must be a JSON object sent as application/json"),
    ],
)
def test_bad_say_bodies_get_400_with_a_reason(client: FlaskClient, body: Any, reason: str) -> None:
    assert post(client, "/console/say", body) == (400, {"error": reason})


def test_text_at_the_limit_is_accepted(client: FlaskClient) -> None:
    status, _ = post(client, "/console/say", {"session": None, "text": "magnesium " * 45 + "x" * 49})
    assert status == 200


@pytest.mark.parametrize("path", ["/console/say", "/console/launch", "/console/end"])
def test_bodies_that_are_not_json_get_400(client: FlaskClient, path: str) -> None:
    broken = client.post(path, data=b"{not json", content_type="application/json")
    form = client.post(path, data={"text": "hi"})  # a plain form post, as another site could send
    for response in (broken, form):
        assert response.status_code == 400
        assert response.get_json() == {"error": "body must be a JSON object sent as application/json"}


class BrokenRunner(SkillRunner):
    """A runner whose skill blows up, as a bug in a handler would."""

    def __init__(self) -> None:  # no skill needed: invoke never gets that far
        pass

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("secret internals")


def test_a_failing_skill_is_a_json_error_not_a_trace() -> None:
    app = Flask(__name__)
    app.register_blueprint(console_blueprint(BrokenRunner(), DEFAULT_MODEL))
    status, body = post(app.test_client(), "/console/say", {"session": None, "text": "hello"})
    assert status == 500 and body["error"] == "the skill failed (KeyError)"
    assert "secret" not in str(body)
    assert isinstance(body["session"], str)  # the tab keeps its simulated person for the next try


def test_a_missing_model_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such interaction model file"):
        console_blueprint(BrokenRunner(), tmp_path)


# --- the conversation travels with the request ------------------------------------------------


# Said at the routine's dose step whatever the hour (routine.dose.split); the wall clock decides the rest.
DOSE_STEP = "split it into smaller doses"


def test_a_bedtime_conversation_survives_alternating_between_two_workers(tmp_path: Path) -> None:
    # Two apps with the same secret and store stand in for two gunicorn workers; each turn goes
    # to the other one, and neither ever saw the turn before.
    one, two = console_app(tmp_path), console_app(tmp_path)
    tab = Console(one.test_client(), two.test_client())

    # U: start my wind down  (worker one)
    asked = tab.say("start my wind down")
    assert asked["intent"] == "WindDownIntent" and "what time do you usually go to bed" in asked["speech"]
    assert asked["response"]["response"]["directives"][0]["type"] == "Dialog.ElicitSlot"

    # U: ten thirty  (worker two) -> heard as the bedtime the skill asked for, not a fallback
    answered = tab.say("ten thirty")
    assert answered["intent"] == "SetBedtimeIntent" and answered["slots"]["time"]["value"] == "10:30"
    # Which check-in follows ("ready for your magnesium?", or "it's already past your bedtime... Ready?")
    # depends on the hour the test runs at; both name the bedtime and ask.
    assert "10:30 PM" in answered["speech"] and answered["speech"].endswith("?")
    assert answered["request"]["session"]["new"] is False
    assert skill_session(answered) == skill_session(asked) and user_of(answered) == user_of(asked)

    # U: next  (worker one again) -> the routine's dose step, from the attributes the token carried.
    # Its timing line depends on the hour the test runs at (before, in or after the evening's
    # window); the line every phase ends the step with does not.
    step = tab.say("next")
    assert step["intent"] == "AMAZON.NextIntent" and DOSE_STEP in step["speech"]
    assert step["request"]["session"]["attributes"] == answered["response"]["sessionAttributes"]
    assert skill_session(step) == skill_session(asked) and step["ended"] is False


def http_turn(base: str, path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """One console turn over a new HTTP connection: which worker answered, and the turn."""
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Connection": "close"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers[WORKER_HEADER], json.loads(response.read())


@contextmanager
def paused(pid: str | None) -> Iterator[None]:
    """Stop a worker process for the block (SIGSTOP), so the listen queue can only go to the others."""
    if pid is None:
        yield
        return
    os.kill(int(pid), signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(int(pid), signal.SIGCONT)


def test_conversations_hop_between_the_workers_of_a_real_server() -> None:
    # `bedtime-skill serve` with two gunicorn workers on loopback (verification off, SQLite in a
    # temp dir). Left alone, the kernel may hand every new connection to the same idle worker (a
    # CI run saw 60 of 60 go to one), so each turn goes out while the worker that answered the
    # turn before is paused: the other one must carry the conversation on, from the token alone.
    with loadtest.served(time.monotonic() + 60, workers=2) as target:
        base = f"http://{target.host}:{target.port}"
        token = None
        answered_by: list[str] = []
        for said, heard in (("start my wind down", "bed"), ("ten thirty", "10:30 PM"), ("next", DOSE_STEP)):
            with paused(answered_by[-1] if answered_by else None):
                pid, turn = http_turn(base, "/console/say", {"session": token, "text": said})
            assert heard in turn["speech"], (said, turn["speech"])
            token = turn["session"]
            answered_by.append(pid)
    assert len(set(answered_by)) == 2, answered_by
    assert all(a != b for a, b in itertools.pairwise(answered_by)), answered_by


def test_a_worker_with_another_secret_refuses_the_token_and_the_page_is_told_to_drop_it(tmp_path: Path) -> None:
    tab = Console(console_app(tmp_path).test_client())
    tab.say("how much magnesium should i take")
    # The server was restarted: a new secret, so the token is from an earlier run.
    restarted = create_dev_app(local_settings(tmp_path), console_secret=b"another run, another secret")
    status, body = post(restarted.test_client(), "/console/say", {"session": tab.session, "text": "yes"})
    assert (status, body) == (400, {"error": TOKEN_REFUSED, "session": None})


def test_an_altered_or_made_up_token_is_refused(client: FlaskClient) -> None:
    tab = Console(client)
    tab.say("how much magnesium should i take")
    assert tab.session is not None
    # Editing what the token carries (another person's id, say) breaks its signature.
    # (payload.timestamp.signature; the payload is readable, as a cookie's would be.)
    unchecked = URLSafeTimedSerializer(b"anyone can read it", salt=ConversationTokens.SALT)
    _, data = unchecked.loads_unsafe(tab.session)
    assert data["user"].startswith("amzn1.ask.account.SIM")
    data["user"] = "amzn1.ask.account.SOMEONE-ELSE"
    timestamp, signature = tab.session.rsplit(".", 2)[1:]
    forged = ".".join([unchecked.dumps(data).rsplit(".", 2)[0], timestamp, signature])
    for token in (forged, "made-up", tab.session[:-2] + ("AA" if not tab.session.endswith("AA") else "BB")):
        status, body = post(client, "/console/say", {"session": token, "text": "yes"})
        assert (status, body) == (400, {"error": TOKEN_REFUSED, "session": None}), token


def test_an_expired_token_starts_a_new_skill_session_for_the_same_person(tmp_path: Path) -> None:
    later = [time.time()]
    app = create_app(local_settings(tmp_path))
    app.register_blueprint(console_blueprint(app.extensions["bedtime"]["runner"], DEFAULT_MODEL, secret=SECRET,
                                             clock=lambda: later[0]))
    tab = Console(app.test_client())
    first = tab.say("how much magnesium should i take")
    assert first["ended"] is False

    later[0] += TOKEN_MAX_AGE_SECONDS + 60  # the tab was left alone past the token's life
    again = tab.say("yes")
    assert again["request"]["session"]["new"] is True and skill_session(again) != skill_session(first)
    assert user_of(again) == user_of(first)
    assert "600 to 800" not in again["speech"]  # the offer of details went with the old session


def test_a_genuine_token_in_a_shape_this_version_does_not_know_starts_afresh(client: FlaskClient) -> None:
    old = URLSafeTimedSerializer(SECRET, salt=ConversationTokens.SALT).dumps({"v": 0, "session": "abc"})
    status, turn = post(client, "/console/say", {"session": old, "text": "how much magnesium should i take"})
    assert status == 200 and turn["request"]["session"]["new"] is True and SCREEN in turn["speech"]
    assert isinstance(turn["session"], str) and turn["session"] != old


# --- the market picker ------------------------------------------------------------------------


def test_the_page_can_offer_every_market_and_knows_the_default(client: FlaskClient) -> None:
    data = client.get("/console/locales").get_json()
    assert data == {"locales": ["en-US", "en-GB", "en-AU", "en-CA", "en-IN"], "default": "en-US"}
    assert b'id="locale"' in client.get("/").data


def test_a_tab_set_to_the_uk_hears_the_nhs_figure_and_keeps_its_market(client: FlaskClient) -> None:
    tab = Console(client)
    # The page sends the picked market with a new conversation's first turn.
    first = tab._send("/console/say", {"text": "how much magnesium should i take", "locale": "en-GB"})
    assert first["request"]["request"]["locale"] == "en-GB" and SCREEN in first["speech"]
    # U: no  -> A: ...the NHS says up to 400 from supplements is unlikely to cause harm.
    answer = tab.say("no")
    assert answer["request"]["request"]["locale"] == "en-GB"  # the conversation keeps its market
    assert "NHS" in answer["speech"] and "200 to 400" in answer["speech"]


def test_an_open_conversation_keeps_its_market_whatever_a_later_turn_asks(client: FlaskClient) -> None:
    tab = Console(client)
    tab._send("/console/launch", {"locale": "en-AU"})
    turn = tab._send("/console/say", {"text": "how much magnesium should i take", "locale": "en-US"})
    assert turn["request"]["request"]["locale"] == "en-AU"  # the page ends the session to change it


def test_a_market_the_skill_does_not_serve_gets_400_with_the_ones_it_does(client: FlaskClient) -> None:
    status, body = post(client, "/console/say", {"session": None, "text": "hello", "locale": "fr-FR"})
    assert status == 400 and body["error"] == "locale must be one of en-US, en-GB, en-AU, en-CA, en-IN"


def test_a_token_from_before_the_picker_carries_on_in_en_us(client: FlaskClient) -> None:
    tab = Console(client)
    tab.launch()
    payload = URLSafeTimedSerializer(SECRET, salt=ConversationTokens.SALT).loads(tab.session)
    old = {k: v for k, v in payload.items() if k != "locale"} | {"v": 1}
    tab.session = URLSafeTimedSerializer(SECRET, salt=ConversationTokens.SALT).dumps(old)
    turn = tab.say("how much magnesium should i take")
    assert turn["request"]["session"]["new"] is False and turn["request"]["request"]["locale"] == "en-US"


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        ConversationTokens(b"short")


def test_console_answers_name_the_worker_process(client: FlaskClient) -> None:
    response = client.post("/console/say", json={"session": None, "text": "how much magnesium should i take"})
    assert response.headers[WORKER_HEADER] == str(os.getpid())
    assert WORKER_HEADER not in client.get("/").headers and WORKER_HEADER not in client.get("/healthz").headers


# --- a developer's own skill id -------------------------------------------------------------------


def test_the_console_works_with_a_skill_id_configured(tmp_path: Path) -> None:
    tab = Console(console_app(tmp_path, skill_id=OWN_SKILL_ID).test_client())
    opened = tab.launch()
    assert opened["requestType"] == "LaunchRequest" and opened["speech"] and opened["ended"] is False
    assert opened["request"]["session"]["application"]["applicationId"] == OWN_SKILL_ID
    assert opened["request"]["context"]["System"]["application"]["applicationId"] == OWN_SKILL_ID
    assert SCREEN in tab.say("how much magnesium should i take")["speech"]
    assert "200 to 400" in tab.say("no")["speech"]


def test_the_blueprint_takes_the_skill_id_of_the_app_it_joins(tmp_path: Path) -> None:
    app = create_app(local_settings(tmp_path, skill_id=OWN_SKILL_ID))
    app.register_blueprint(console_blueprint(app.extensions["bedtime"]["runner"], DEFAULT_MODEL))
    opened = Console(app.test_client()).launch()
    assert opened["request"]["session"]["application"]["applicationId"] == OWN_SKILL_ID


def test_a_request_for_another_skill_is_still_refused_beside_the_console(tmp_path: Path) -> None:
    # The console sends the configured id; the skill still refuses the default one at /alexa.
    app = console_app(tmp_path, skill_id=OWN_SKILL_ID)
    launch = Console(app.test_client()).launch()["request"]
    launch["session"]["application"]["applicationId"] = DEFAULT_SKILL_ID
    launch["context"]["System"]["application"]["applicationId"] = DEFAULT_SKILL_ID
    response = app.test_client().post("/alexa", json=launch)
    assert (response.status_code, response.get_json()) == (400, {"error": "wrong application id"})


def test_concurrent_tabs_are_safe(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    errors: list[BaseException] = []

    def chat() -> None:
        try:
            tab = Console(app.test_client())
            for _ in range(3):
                assert SCREEN in tab.say("how much magnesium should i take")["speech"]
                assert "200 to 400" in tab.say("no")["speech"]
                tab.end()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=chat) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads) and not errors


# --- never with verification on -----------------------------------------------------------------


class AcceptNothing:
    """A verifier for the production app; the console tests never reach it."""

    def verify(self, headers: Any, body: bytes) -> dict[str, Any]:
        raise AssertionError("not used")


def test_the_console_is_not_served_when_verification_is_on(tmp_path: Path) -> None:
    app = create_app(
        Settings(_env_file=None, verify_signature=True, persistence="none", data_dir=tmp_path, alexa_api=False),
        verifier=AcceptNothing(),
    )
    assert "console" not in app.blueprints
    client = app.test_client()
    assert client.get("/").status_code == 404
    assert client.post("/console/say", json={"session": None, "text": "hi"}).status_code == 404


def test_the_console_refuses_to_attach_to_a_verifying_app(tmp_path: Path) -> None:
    app = create_app(
        Settings(_env_file=None, verify_signature=True, persistence="none", data_dir=tmp_path, alexa_api=False),
        verifier=AcceptNothing(),
    )
    with pytest.raises(RuntimeError, match="never be served with request verification on"):
        app.register_blueprint(console_blueprint(app.extensions["bedtime"]["runner"], DEFAULT_MODEL))


def test_the_alexa_endpoint_still_works_beside_the_console(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/alexa").status_code == 405


def test_the_console_answers_only_this_machine(client: FlaskClient) -> None:
    # A page on another site, or a name rebound to 127.0.0.1, must not drive a developer's console.
    ok = client.post("/console/say", json={"text": "how long does it take"},
                     headers={"Host": "127.0.0.1:5000", "Origin": "http://127.0.0.1:5000"})
    assert ok.status_code == 200
    rebound = client.post("/console/say", json={"text": "forget me"}, headers={"Host": "attacker.example:5000"})
    assert rebound.status_code == 403 and rebound.get_json() == {"error": "host not allowed"}
    cross = client.post("/console/say", json={"text": "forget me"},
                        headers={"Host": "localhost:5000", "Origin": "http://attacker.example"})
    assert cross.status_code == 403 and cross.get_json() == {"error": "origin not allowed"}
