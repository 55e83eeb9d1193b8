"""The developer console: the page, and conversations through its JSON API with the real skill."""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skill_tools.cli import DEFAULT_MODEL
from skill.runtime import SkillRunner
from skill.settings import Settings
from skill_tools.simulator import ModelError
from skill.web import create_app
from skill_tools.console import MAX_TEXT_CHARS, ConsoleSessions, console_blueprint


def console_app(tmp_path: Path) -> Flask:
    """The app in local mode, with the console attached unless create_app already did it."""
    app = create_app(Settings(_env_file=None, verify_signature=False, persistence="none", data_dir=tmp_path, alexa_api=False, seed=7))
    if not any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        app.register_blueprint(console_blueprint(app.extensions["bedtime"]["runner"], DEFAULT_MODEL))
    return app


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
    """A console tab: says things, keeps the session id the server hands back."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.session: str | None = None

    def _send(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, turn = post(self.client, path, {"session": self.session, **body})
        assert status == 200, turn
        self.session = turn["session"]
        return turn

    def say(self, text: str) -> dict[str, Any]:
        return self._send("/console/say", {"text": text})

    def launch(self) -> dict[str, Any]:
        return self._send("/console/launch", {})

    def end(self) -> dict[str, Any]:
        return self._send("/console/end", {})


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

    # U: how much magnesium should i take
    first = tab.say("how much magnesium should i take")
    assert first["intent"] == "DoseIntent" and first["confidence"] == 1.0
    assert "200 to 400" in first["speech"]  # A: ...200 to 400 milligrams a day...
    assert first["ssml"].startswith("<speak>") and "<" not in first["speech"]
    assert first["reprompt"] and first["ended"] is False
    assert first["request"]["request"]["intent"]["name"] == "DoseIntent"
    assert first["response"]["response"]["shouldEndSession"] is False

    # U: yes  -> the details of the same answer, in the same skill session
    second = tab.say("yes")
    assert second["session"] == first["session"]
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
    assert closed["session"] == opened["session"]
    assert closed["requestType"] == "SessionEndedRequest" and closed["ended"] is True
    assert closed["request"]["request"]["reason"] == "USER_INITIATED"

    # Nothing is open now: ending again is quiet, and the next utterance starts a new skill session.
    again = tab.end()
    assert again["ended"] is True and again["request"] is None and again["speech"] == ""
    fresh = tab.say("how much magnesium should i take")
    assert fresh["request"]["session"]["new"] is True
    assert fresh["request"]["session"]["sessionId"] != opened["request"]["session"]["sessionId"]


def test_stop_ends_the_session(client: FlaskClient) -> None:
    tab = Console(client)
    tab.say("how much magnesium should i take")
    assert tab.say("stop")["ended"] is True


def test_two_tabs_do_not_share_a_conversation(client: FlaskClient) -> None:
    one, two = Console(client), Console(client)
    one.say("how much magnesium should i take")
    answer = two.say("yes")  # tab two was never offered the details
    assert two.session != one.session
    assert "600 to 800" not in answer["speech"]


def test_an_unknown_session_id_gets_a_new_one_from_the_server(client: FlaskClient) -> None:
    status, turn = post(client, "/console/say", {"session": "made-up", "text": "how much magnesium should i take"})
    assert status == 200 and turn["session"] != "made-up" and len(turn["session"]) >= 16


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"session": None}, "text is missing or empty"),
        ({"session": None, "text": "   "}, "text is missing or empty"),
        ({"session": None, "text": 42}, "text is missing or empty"),
        ({"session": None, "text": "x" * (MAX_TEXT_CHARS + 1)}, f"text is longer than {MAX_TEXT_CHARS} characters"),
        ({"session": 7, "text": "hi"}, "session must be a console session id or null"),
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


def test_a_missing_model_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such interaction model file"):
        console_blueprint(BrokenRunner(), tmp_path)


# --- sessions are bounded -----------------------------------------------------------------------


def test_sessions_are_bounded_least_recently_used_first(app: Flask) -> None:
    from skill_tools.simulator import Resolver

    runner = app.extensions["bedtime"]["runner"]
    sessions = ConsoleSessions(runner, Resolver.from_model(DEFAULT_MODEL / "interactionModels/custom/en-US.json"),
                               max_sessions=3)
    a, _ = sessions.get(None)
    b, _ = sessions.get(None)
    c, _ = sessions.get(None)
    sessions.get(a)  # a was used again, so b is now the oldest
    d, _ = sessions.get(None)
    assert len(sessions) == 3 and a in sessions and c in sessions and d in sessions and b not in sessions


def test_concurrent_tabs_are_safe(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    errors: list[BaseException] = []

    def chat() -> None:
        try:
            tab = Console(app.test_client())
            for _ in range(3):
                assert "200 to 400" in tab.say("how much magnesium should i take")["speech"]
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
