"""The Flask endpoint: a client sends envelopes, bad input gets a JSON 400, never a 500."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from skill.settings import Settings
from skill.web import create_app
from tests.conversation import SKILL_ID, envelope, intent_request


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


def post(app: Flask, body: bytes | str, content_type: str = "application/json") -> tuple[int, dict]:
    # Closed once read, as a real server closes it after sending: that is when the log line is written.
    with app.test_client().post("/alexa", data=body, content_type=content_type) as response:
        return response.status_code, response.get_json()


def test_an_envelope_is_answered(app: Flask) -> None:
    status, body = post(app, json.dumps(envelope(intent_request("TimeToWorkIntent"))))
    assert status == 200 and "2 to 4 weeks" in body["response"]["outputSpeech"]["ssml"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "malformed JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b'{"version": "1.0"}', "missing request.type"),
        (b'{"request": {"type": "LaunchRequest"}}', "missing version"),
        (b'{"version": "1.0", "request": {"type": "LaunchRequest"}, "session": []}', "session must be an object"),
    ],
)
def test_bad_bodies_get_400_with_a_json_reason(app: Flask, body: bytes, reason: str) -> None:
    status, answer = post(app, body)
    assert status == 400 and answer == {"error": reason}


def test_wrong_content_type_method_and_size(app: Flask, settings: Settings) -> None:
    client = app.test_client()
    assert client.post("/alexa", data="x", content_type="text/plain").status_code == 415
    response = client.get("/alexa")
    assert response.status_code == 405 and response.get_json() == {"error": "method not allowed"}
    big = b'{"version": "1.0", "pad": "' + b"x" * settings.max_body_bytes + b'"}'
    response = client.post("/alexa", data=big, content_type="application/json")
    assert response.status_code == 413 and "error" in response.get_json()


def test_a_request_for_another_skill_gets_400_and_no_handler_runs(tmp_path: Path) -> None:
    heard: list[str] = []
    settings = Settings(verify_signature=False, skill_id=SKILL_ID, persistence="none", data_dir=tmp_path, alexa_api=False)
    from skill.builder import build_skill
    from skill.runtime import SkillRunner

    app = create_app(settings, runner=SkillRunner(build_skill(settings, on_say=heard.append)))
    other = envelope({"type": "LaunchRequest"})
    other["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.someone-else"
    status, body = post(app, json.dumps(other))
    assert status == 400 and body == {"error": "wrong application id"} and heard == []
    status, _ = post(app, json.dumps(envelope({"type": "LaunchRequest"})))
    assert status == 200 and heard == ["launch"]


def test_healthz(app: Flask) -> None:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real socket on loopback, as `make run` serves it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_over_real_http_a_conversation_and_an_error(live_server: str) -> None:
    def send(body: bytes) -> tuple[int, dict]:
        req = urllib.request.Request(f"{live_server}/alexa", data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    status, body = send(json.dumps(envelope(intent_request("DoseIntent", condition="kidney:kidneys"))).encode())
    assert status == 200 and "doctor" in body["response"]["outputSpeech"]["ssml"]
    status, body = send(b"nope")
    assert status == 400 and body == {"error": "malformed JSON"}


def test_each_request_logs_one_json_line_without_the_user_or_their_words(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    from skill.logs import JsonFormatter

    env = envelope(intent_request("FormInfoIntent", form="my secret unobtainium"))
    with caplog.at_level("INFO", logger="skill.web.app"):
        post(app, json.dumps(env))
        post(app, b"{bad")
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "skill.web.app"]
    answered, refused = lines
    assert answered["request_type"] == "IntentRequest" and answered["intent"] == "FormInfoIntent"
    assert answered["status"] == 200 and answered["outcome"] == "answered" and answered["latency_ms"] >= 0
    assert refused["status"] == 400 and refused["outcome"] == "refused: malformed JSON"
    text = " ".join(caplog.text.split()) + json.dumps(lines)
    assert "amzn1.ask.account" not in text and "unobtainium" not in text


def test_the_log_line_is_written_once_the_answer_has_gone_out(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    """A WSGI server sends the body, then closes it: only then is the line written, so no one waits on it."""
    from werkzeug.test import EnvironBuilder

    body = json.dumps(envelope({"type": "LaunchRequest"})).encode()
    environ = EnvironBuilder(path="/alexa", method="POST", data=body, content_type="application/json",
                             headers=[("X-Request-Id", "proxy-7")]).get_environ()
    statuses: list[str] = []
    with caplog.at_level("INFO", logger="skill.web.app"):
        answer = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
        sent = b"".join(answer)
        assert statuses == ["200 OK"] and json.loads(sent)["response"]["outputSpeech"]
        assert not [r for r in caplog.records if r.name == "skill.web.app"]  # answered, not yet logged
        answer.close()  # type: ignore[attr-defined]
    (line,) = [r for r in caplog.records if r.name == "skill.web.app"]
    assert line.getMessage() == "POST /alexa 200"
    assert line.http["http_id"] == "proxy-7" and line.http["request_type"] == "LaunchRequest"  # type: ignore[attr-defined]
    assert line.http["outcome"] == "answered" and line.http["latency_ms"] >= 0  # type: ignore[attr-defined]


def test_requests_flask_refuses_are_logged_too_and_nothing_at_warning(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    with caplog.at_level("INFO", logger="skill.web.app"):
        with client.get("/alexa") as response:
            assert response.status_code == 405
        with client.post("/nowhere", data=b"{}", content_type="application/json") as response:
            assert response.status_code == 404 and response.get_json() == {"error": "not found"}
    lines = [r.http for r in caplog.records if r.name == "skill.web.app"]  # type: ignore[attr-defined]
    assert [(line["path"], line["status"], line["outcome"]) for line in lines] == [
        ("/alexa", 405, None), ("/nowhere", 404, None)
    ]
    caplog.clear()
    with caplog.at_level("WARNING", logger="skill.web.app"):
        status, answer = post(app, json.dumps(envelope({"type": "LaunchRequest"})))
        assert status == 200 and answer["response"]["outputSpeech"]
        assert post(app, b"{bad") == (400, {"error": "malformed JSON"})
    assert not [r for r in caplog.records if r.name == "skill.web.app"]


def test_the_answer_is_compact_json_in_the_order_the_skill_built_it(settings: Settings) -> None:
    from skill.builder import build_skill
    from skill.runtime import SkillRunner

    payload = envelope(intent_request("TimeToWorkIntent"))
    # Two skills with the same seed choose the same wordings: one behind the app, one called directly.
    with create_app(settings, runner=SkillRunner(build_skill(settings))).test_client().post(
        "/alexa", data=json.dumps(payload), content_type="application/json"
    ) as response:
        assert response.status_code == 200 and response.mimetype == "application/json"
        sent = response.get_data(as_text=True)
    expected = SkillRunner(build_skill(settings)).invoke(payload)
    assert sent == json.dumps(expected, separators=(",", ":"))


@pytest.mark.parametrize("personal", [False, True], ids=["safe fields", "personal"])
def test_a_captured_request_can_be_replayed_and_names_no_one(
    settings: Settings, caplog: pytest.LogCaptureFixture, tmp_path: Path, personal: bool
) -> None:
    from skill_tools.cli import main
    from skill.logs import JsonFormatter

    app = create_app(settings.model_copy(update={"capture_requests": True, "capture_personal": personal}))
    # Later in a session whose screening question had a clear "no", so the figure is spoken.
    env = envelope(intent_request("DoseIntent", amount="300", unit="mg:milligrams"), consent=True,
                   attributes={"screened": True}, new=False)
    with caplog.at_level("INFO", logger="skill.web.app"):
        post(app, json.dumps(env))
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "skill.web.app"]
    captured = next(line["capture"] for line in lines if "capture" in line)
    text = json.dumps(captured)
    assert "amzn1.ask.account.TEST" not in text and '"token"' not in text and "consent-token" not in text
    saved = tmp_path / "captured.json"
    saved.write_text(json.dumps(captured))
    import io

    out = io.StringIO()
    assert main(["request", str(saved)], out=out) == 0
    said = json.loads(out.getvalue())["response"]["outputSpeech"]["ssml"]
    # Only the personal capture holds the amount heard and the session's "screened": enough to replay the turn.
    # Without them the amount is unreadable, and either wording of dose.invalid says so.
    assert ("a daily amount I can check" in said) is not personal
    assert ("300 milligrams a day" in said and "can check" not in said) is personal


def test_with_verification_off_only_this_machine_is_answered(tmp_path: Path) -> None:
    """#23 item 8: a foreign Host (DNS rebinding) or Origin gets 403 while nothing proves a request is Alexa's."""
    settings = Settings(_env_file=None, verify_signature=False, persistence="none", data_dir=tmp_path, alexa_api=False,
                        allowed_hosts="dev.box.internal")
    client = create_app(settings).test_client()
    body = json.dumps(envelope(intent_request("TimeToWorkIntent")))
    ok = client.post("/alexa", data=body, content_type="application/json", headers={"Host": "127.0.0.1:5000"})
    assert ok.status_code == 200
    assert client.post("/alexa", data=body, content_type="application/json",
                       headers={"Host": "dev.box.internal:5000"}).status_code == 200  # a configured name
    foreign = client.post("/alexa", data=body, content_type="application/json", headers={"Host": "attacker.example"})
    assert foreign.status_code == 403 and foreign.get_json() == {"error": "host not allowed"}
    posted = client.post("/alexa", data=body, content_type="application/json",
                         headers={"Host": "localhost:5000", "Origin": "https://attacker.example"})
    assert posted.status_code == 403 and posted.get_json() == {"error": "origin not allowed"}
    assert client.get("/healthz", headers={"Host": "attacker.example"}).status_code == 403
