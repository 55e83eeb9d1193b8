"""Verification on, end to end through Flask: only a request Alexa signed, for this skill, just now, is run.

The app here is the real one: the real RequestVerifier trusting a test root CA (tests/pki.py),
with a fixed clock and a fetcher that serves the certificate chain from memory; the real skill
with a real SQLite store in a temp dir. Every refusal must stop at the door:

    U: (anything not provably from Alexa)
    A: 400 {"error": "<short reason>"}   -- no handler ran, nothing was spoken, nothing was stored,
                                            and nothing from the body comes back.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from skill.builder import build_skill
from skill.profile.factory import SQLITE_FILE_NAME
from skill.runtime import SkillRunner
from skill.settings import Settings
from skill.web import create_app
from skill.web.verify import RequestVerifier
from tests import pki
from tests.recording_store import RecordingStore
from tests.conversation import check_response, envelope, intent_request
from tests.pki import CERT_URL, NOW, SKILL_ID, TestPki, chain_pem, sign_body, sign_body_sha1

# Carried in every test body; it must never come back in a refusal or show up in a log line.
UTTERANCE = "remember three hundred milligrams of glycinate for my wind-down"
# A URL on Alexa's certificate host serving a chain from a CA nobody trusts.
IMPOSTOR_URL = "https://s3.amazonaws.com/echo.api/impostor.pem"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return pki.make_pki(tmp_path_factory.mktemp("ca"))




@dataclass
class Endpoint:
    """The app under test and everything a test looks at afterwards."""

    client: FlaskClient
    heard: list[str]
    store: RecordingStore
    fetched: list[str] = field(default_factory=list)

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, Any]]:
        response = self.client.post("/alexa", data=body, headers=headers, content_type="application/json")
        assert response.mimetype == "application/json"
        return response.status_code, response.get_data(), response.get_json()

    def stored_rows(self) -> int:
        """Rows in the SQLite file; 0 when the file was never even created."""
        if not self.store.path.exists():
            return 0
        with sqlite3.connect(self.store.path) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return sum(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)


@pytest.fixture
def endpoint(ca: TestPki, tmp_path: Path) -> Iterator[Endpoint]:
    settings = Settings(
        _env_file=None,
        verify_signature=True,
        ca_bundle=ca.bundle,
        persistence="sqlite",
        data_dir=tmp_path,
        skill_id=SKILL_ID,
        seed=7,
    )
    heard: list[str] = []
    store = RecordingStore(tmp_path / SQLITE_FILE_NAME)
    chains = {CERT_URL: chain_pem(ca.leaf, ca.intermediate), IMPOSTOR_URL: chain_pem(ca.rogue_leaf)}
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return chains.get(url, b"")

    verifier = RequestVerifier(skill_id=SKILL_ID, ca_bundle=ca.bundle, clock=lambda: NOW, fetch=fetch)
    runner = SkillRunner(build_skill(settings, persistence=store, on_say=heard.append))
    app = create_app(settings, runner=runner, verifier=verifier)
    yield Endpoint(app.test_client(), heard, store, fetched)
    store.close()


def alexa_body(
    timestamp: datetime = NOW,
    *,
    application_id: str | None = SKILL_ID,
    text: str = UTTERANCE,
) -> bytes:
    """A SetPreferenceIntent as Alexa would POST it: the one request here that writes to the store.

    A genuine one leaves a row in SQLite, so "no rows" after a refusal means the door held,
    not that nothing would have been written anyway. `application_id=None` leaves the id out.
    """
    payload = envelope(intent_request("SetPreferenceIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate"))
    payload["request"]["timestamp"] = timestamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["request"]["debugUtterance"] = text
    # No outside API is needed to save a preference; a dead loopback port makes sure none is reached.
    payload["context"]["System"]["apiEndpoint"] = "http://127.0.0.1:9"
    for holder in (payload["context"]["System"], payload["session"]):
        if application_id is None:
            del holder["application"]
        else:
            holder["application"] = {"applicationId": application_id}
    return json.dumps(payload, separators=(",", ":")).encode()


def body_strings(body: bytes) -> Iterator[str]:
    """Every string value in a JSON body long enough to be recognisable if echoed back.

    Keys are left out: "timestamp" or "application" may fairly appear in a reason.
    """

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
        elif isinstance(node, str):
            yield node

    return (s for s in walk(json.loads(body)) if len(s) >= 5)


def assert_refused_at_the_door(endpoint: Endpoint, body: bytes, headers: dict[str, str], reason: str) -> None:
    """A 400 with exactly this reason, and proof nothing behind the door moved."""
    status, raw, answer = endpoint.post(body, headers)
    assert (status, answer) == (400, {"error": reason})
    leaked = [s for s in body_strings(body) if s in raw.decode()]
    assert leaked == [], f"the refusal echoes part of the body: {leaked}"
    assert endpoint.heard == [], "a handler ran and spoke"
    assert endpoint.store.calls == [], "the store was touched"
    assert endpoint.stored_rows() == 0


def test_a_signed_request_for_this_skill_just_now_is_answered(ca: TestPki, endpoint: Endpoint) -> None:
    body = alexa_body()
    status, _, answer = endpoint.post(body, sign_body(body, ca.leaf.key))
    assert status == 200
    check_response(answer)
    assert endpoint.heard[0] == "preference.saved.both"
    assert endpoint.fetched == [CERT_URL]
    assert endpoint.stored_rows() == 1  # what a refusal must never leave behind


def test_the_certificate_is_fetched_once_for_many_requests(ca: TestPki, endpoint: Endpoint) -> None:
    for _ in range(3):
        body = alexa_body()
        assert endpoint.post(body, sign_body(body, ca.leaf.key))[0] == 200
    assert endpoint.fetched == [CERT_URL]


# Each case: how the request is made (body, then headers from that body), and the reason it is refused.
def _unsigned(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    return alexa_body(), {}


def _url_but_no_signature(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    return alexa_body(), {"SignatureCertChainUrl": CERT_URL}


def _only_the_old_sha1_signature(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    body = alexa_body()
    return body, sign_body_sha1(body, ca.leaf.key)


def _garbage_signature(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    return alexa_body(), {"SignatureCertChainUrl": CERT_URL, "Signature-256": "not base64!"}


def _signed_by_another_key(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    body = alexa_body()
    return body, sign_body(body, ca.rogue_leaf.key)


def _someone_elses_valid_signature(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    # A real Alexa signature, but over a different body (replayed from another request).
    body = alexa_body()
    other = sign_body(alexa_body(text="a different request"), ca.leaf.key)
    return body, other


def _body_changed_after_signing(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    body = alexa_body()
    headers = sign_body(body, ca.leaf.key)
    changed = body.replace(b'"value":"300"', b'"value":"900"')
    assert changed != body
    return changed, headers


def _stale_timestamp(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    body = alexa_body(NOW - timedelta(minutes=10))
    return body, sign_body(body, ca.leaf.key)


def _timestamp_from_the_future(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    body = alexa_body(NOW + timedelta(minutes=10))
    return body, sign_body(body, ca.leaf.key)


def _wrong_application_id(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    body = alexa_body(application_id="amzn1.ask.skill.someone-elses-skill")
    return body, sign_body(body, ca.leaf.key)


def _no_application_id(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    body = alexa_body(application_id=None)
    return body, sign_body(body, ca.leaf.key)


def _certificate_url_off_amazon(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    body = alexa_body()
    return body, sign_body(body, ca.leaf.key, url="https://example.invalid/echo.api/cert.pem")


def _certificate_nobody_trusts(ca: TestPki) -> tuple[bytes, dict[str, str]]:
    # Signed with the impostor's key, whose chain is what the URL serves: the chain is the problem.
    body = alexa_body()
    return body, sign_body(body, ca.rogue_leaf.key, url=IMPOSTOR_URL)


REFUSALS: list[tuple[Callable[[TestPki], tuple[bytes, dict[str, str]]], str]] = [
    (_unsigned, "missing certificate URL"),
    (_url_but_no_signature, "missing signature"),
    (_only_the_old_sha1_signature, "missing signature"),
    (_garbage_signature, "invalid signature encoding"),
    (_signed_by_another_key, "signature mismatch"),
    (_someone_elses_valid_signature, "signature mismatch"),
    (_body_changed_after_signing, "signature mismatch"),
    (_stale_timestamp, "stale timestamp"),
    (_timestamp_from_the_future, "stale timestamp"),
    (_wrong_application_id, "wrong application id"),
    (_no_application_id, "wrong application id"),
    (_certificate_url_off_amazon, "invalid certificate URL"),
    (_certificate_nobody_trusts, "certificate not trusted"),
]


@pytest.mark.parametrize(("make", "reason"), REFUSALS, ids=[make.__name__.strip("_") for make, _ in REFUSALS])
def test_a_request_not_proven_to_come_from_alexa_is_refused_at_the_door(
    ca: TestPki,
    endpoint: Endpoint,
    make: Callable[[TestPki], tuple[bytes, dict[str, str]]],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body, headers = make(ca)
    assert_refused_at_the_door(endpoint, body, headers, reason)
    assert UTTERANCE not in caplog.text, "what the person said reached a log line"


def test_after_a_refusal_the_genuine_request_is_still_answered(ca: TestPki, endpoint: Endpoint) -> None:
    body = alexa_body()
    headers = sign_body(body, ca.leaf.key)
    assert endpoint.post(body + b" ", headers)[0] == 400  # one trailing byte breaks the signature
    assert endpoint.heard == [] and endpoint.store.calls == []
    assert endpoint.post(body, headers)[0] == 200
    assert endpoint.heard[:1] == ["preference.saved.both"]
    assert endpoint.stored_rows() == 1
