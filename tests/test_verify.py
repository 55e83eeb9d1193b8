"""Alexa request verification: only requests signed by Alexa, for this skill, just now, get an answer.

Each test plays one request against a RequestVerifier that trusts a test root CA, with a fixed
clock and a fetcher that serves certificate chains from memory (and records what it was asked).
The default fetcher itself is tested against a real HTTP server on 127.0.0.1.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from skill.web.verify import (
    RequestVerifier,
    VerificationError,
    fetch_cert_chain,
    normalize_cert_url,
)
from tests import pki
from tests.pki import CERT_URL, NOW, SKILL_ID, TestPki, alexa_body, chain_pem, sign_body

# --- the test PKI, made once per run (RSA key generation is the slow part) -------------------


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return pki.make_pki(tmp_path_factory.mktemp("ca"))


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Fetcher:
    """Serve chains from memory by URL and record every fetch, so tests can say what was fetched."""

    chains: dict[str, bytes] = field(default_factory=dict)
    default: bytes = b""
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, url: str) -> bytes:
        with self.lock:
            self.calls.append(url)
        return self.chains.get(url, self.default)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fetcher(ca: TestPki) -> Fetcher:
    return Fetcher(default=chain_pem(ca.leaf, ca.intermediate))


@pytest.fixture
def make_verifier(ca: TestPki, clock: Clock, fetcher: Fetcher) -> Callable[..., RequestVerifier]:
    def make(**overrides: object) -> RequestVerifier:
        options: dict[str, object] = {
            "skill_id": SKILL_ID,
            "ca_bundle": ca.bundle,
            "clock": clock,
            "fetch": fetcher,
        }
        options.update(overrides)
        return RequestVerifier(**options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def verifier(make_verifier: Callable[..., RequestVerifier]) -> RequestVerifier:
    return make_verifier()


def refused(verifier: RequestVerifier, headers: dict[str, str], body: bytes) -> str:
    """Play a request that must be refused and return the reason given."""
    with pytest.raises(VerificationError) as caught:
        verifier.verify(headers, body)
    return caught.value.reason


# --- a genuine request ------------------------------------------------------------------------


def test_a_request_signed_by_alexa_for_this_skill_just_now_is_accepted(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher
) -> None:
    body = alexa_body()
    envelope = verifier.verify(sign_body(body, ca.leaf.key), body)
    assert envelope["request"]["type"] == "IntentRequest"
    assert envelope["context"]["System"]["application"]["applicationId"] == SKILL_ID
    assert fetcher.calls == [CERT_URL]


def test_header_names_are_matched_whatever_their_case(ca: TestPki, verifier: RequestVerifier) -> None:
    body = alexa_body()
    headers = {name.lower(): value for name, value in sign_body(body, ca.leaf.key).items()}
    assert verifier.verify(headers, body)["request"]["type"] == "IntentRequest"


# --- the certificate URL, checked before anything is fetched ----------------------------------

BAD_URLS = [
    "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "https://notamazon.com/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem",
    "https://s3.amazonaws.com/invalid.path/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/../echo-api-cert.pem",
    "https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem",
    # Beyond Amazon's list: tricks that dress another host or path up as Amazon's.
    "https://s3.amazonaws.com.evil.example/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com@evil.example/echo.api/echo-api-cert.pem",
    "https://user@s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/%2e%2e/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/..%5cecho-api-cert.pem",
    "https://s3.amazonaws.com//echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com:notaport/echo.api/echo-api-cert.pem",
    "ftp://s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "s3.amazonaws.com/echo.api/echo-api-cert.pem",
    # Alexa's URLs have no query, fragment or user info: each would only mint another URL to fetch.
    "https://s3.amazonaws.com/echo.api/echo-api-cert.pem?v=1",
    "https://s3.amazonaws.com/echo.api/echo-api-cert.pem?",
    "https://s3.amazonaws.com/echo.api/echo-api-cert.pem#part",
    "https://:@s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/echo%20api.pem",
    "https://s3.amazonaws.com/echo.api/",
    "",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_certificate_url_amazon_would_not_use_is_refused_before_fetching(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher, url: str
) -> None:
    body = alexa_body()
    headers = sign_body(body, ca.leaf.key, url=url)
    expected = "missing certificate URL" if url == "" else "invalid certificate URL"
    assert refused(verifier, headers, body) == expected
    assert fetcher.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "HTTPS://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
        "https://S3.AMAZONAWS.COM/echo.api/../echo.api/echo-api-cert.pem",
    ],
)
def test_amazons_certificate_urls_are_accepted_and_fetched_in_normal_form(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher, url: str
) -> None:
    body = alexa_body()
    assert verifier.verify(sign_body(body, ca.leaf.key, url=url), body)["version"] == "1.0"
    assert fetcher.calls == [CERT_URL]


def test_normalize_cert_url_keeps_the_file_name() -> None:
    assert (
        normalize_cert_url("https://s3.amazonaws.com/echo.api/./echo-api-cert-12-ats.pem")
        == "https://s3.amazonaws.com/echo.api/echo-api-cert-12-ats.pem"
    )


def test_a_request_without_a_certificate_url_is_refused(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher
) -> None:
    body = alexa_body()
    headers = sign_body(body, ca.leaf.key)
    del headers["SignatureCertChainUrl"]
    assert refused(verifier, headers, body) == "missing certificate URL"
    assert fetcher.calls == []


# --- the signature -------------------------------------------------------------------------


def test_an_unsigned_request_is_refused_without_fetching(
    verifier: RequestVerifier, fetcher: Fetcher
) -> None:
    body = alexa_body()
    assert refused(verifier, {"SignatureCertChainUrl": CERT_URL}, body) == "missing signature"
    assert fetcher.calls == []


def test_a_request_with_only_the_old_sha1_signature_is_refused(ca: TestPki, verifier: RequestVerifier) -> None:
    body = alexa_body()
    headers = pki.sign_body_sha1(body, ca.leaf.key)
    assert "Signature" in headers and "Signature-256" not in headers
    assert refused(verifier, headers, body) == "missing signature"


def test_a_body_changed_after_signing_is_refused(ca: TestPki, verifier: RequestVerifier) -> None:
    body = alexa_body()
    headers = sign_body(body, ca.leaf.key)
    tampered = body.replace(b"IntentRequest", b"LaunchRequest")
    assert refused(verifier, headers, tampered) == "signature mismatch"


def test_a_signature_by_another_key_is_refused(ca: TestPki, verifier: RequestVerifier) -> None:
    body = alexa_body()
    headers = sign_body(body, pki.rsa_key("someone-else"))
    assert refused(verifier, headers, body) == "signature mismatch"


def test_a_signature_that_is_not_base64_is_refused(ca: TestPki, verifier: RequestVerifier) -> None:
    body = alexa_body()
    headers = sign_body(body, ca.leaf.key) | {"Signature-256": "not base64 at all!"}
    assert refused(verifier, headers, body) == "invalid signature encoding"


# --- the certificate chain ------------------------------------------------------------------


def test_an_expired_signing_certificate_is_refused(ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher) -> None:
    expired = pki.make_leaf(
        ca.intermediate, not_before=NOW - timedelta(days=90), not_after=NOW - timedelta(seconds=1)
    )
    fetcher.default = chain_pem(expired, ca.intermediate)
    body = alexa_body()
    assert refused(verifier, sign_body(body, expired.key), body) == "certificate expired"


def test_a_signing_certificate_not_yet_valid_is_refused(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher
) -> None:
    early = pki.make_leaf(
        ca.intermediate, not_before=NOW + timedelta(seconds=60), not_after=NOW + timedelta(days=90)
    )
    fetcher.default = chain_pem(early, ca.intermediate)
    body = alexa_body()
    assert refused(verifier, sign_body(body, early.key), body) == "certificate not yet valid"


@pytest.mark.parametrize(
    "dns_names",
    [("evil.example",), ("echo-api.amazon.com.evil.example", "api.amazon.com"), ()],
    ids=["other-name", "lookalike-names", "no-san"],
)
def test_a_certificate_for_another_name_is_refused(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher, dns_names: tuple[str, ...]
) -> None:
    wrong = pki.make_leaf(ca.intermediate, dns_names=dns_names)
    fetcher.default = chain_pem(wrong, ca.intermediate)
    body = alexa_body()
    assert refused(verifier, sign_body(body, wrong.key), body) == "certificate name mismatch"


def test_a_certificate_from_an_untrusted_ca_is_refused(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher
) -> None:
    fetcher.default = chain_pem(ca.rogue_leaf, ca.rogue_intermediate)
    body = alexa_body()
    assert refused(verifier, sign_body(body, ca.rogue_leaf.key), body) == "certificate not trusted"


def test_a_self_signed_certificate_is_refused(ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher) -> None:
    self_signed = pki.make_leaf(None, key_name="self-signed")
    fetcher.default = chain_pem(self_signed)
    body = alexa_body()
    assert refused(verifier, sign_body(body, self_signed.key), body) == "certificate not trusted"


def test_a_chain_missing_its_intermediate_is_refused(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher
) -> None:
    fetcher.default = chain_pem(ca.leaf)
    body = alexa_body()
    assert refused(verifier, sign_body(body, ca.leaf.key), body) == "certificate not trusted"


def test_a_chain_that_is_not_pem_is_refused(ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher) -> None:
    fetcher.default = b"<html>Access Denied</html>"
    body = alexa_body()
    assert refused(verifier, sign_body(body, ca.leaf.key), body) == "invalid certificate chain"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (alexa_body(NOW - timedelta(minutes=10)), "stale timestamp"),
        (alexa_body(application_id="amzn1.ask.skill.someone-elses-skill"), "wrong application id"),
        (b"not json", "invalid JSON body"),
    ],
    ids=["stale", "foreign-skill", "not-json"],
)
def test_a_request_that_fails_without_a_certificate_costs_no_fetch(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher, body: bytes, reason: str
) -> None:
    fresh_url = "https://s3.amazonaws.com/echo.api/never-fetched.pem"
    assert refused(verifier, sign_body(body, ca.leaf.key, url=fresh_url), body) == reason
    assert fetcher.calls == []


def test_a_failed_fetch_is_refused_with_the_fetchers_reason(ca: TestPki, make_verifier: Callable[..., RequestVerifier]) -> None:
    def unreachable(url: str) -> bytes:
        raise VerificationError("certificate fetch failed")

    body = alexa_body()
    verifier = make_verifier(fetch=unreachable)
    assert refused(verifier, sign_body(body, ca.leaf.key), body) == "certificate fetch failed"


# --- the timestamp ----------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-151, 151], ids=["replayed-from-the-past", "from-the-future"])
def test_a_timestamp_outside_the_tolerance_is_refused(ca: TestPki, verifier: RequestVerifier, offset: int) -> None:
    body = alexa_body(NOW + timedelta(seconds=offset))
    assert refused(verifier, sign_body(body, ca.leaf.key), body) == "stale timestamp"


@pytest.mark.parametrize("offset", [-149, 149])
def test_a_timestamp_inside_the_tolerance_is_accepted(ca: TestPki, verifier: RequestVerifier, offset: int) -> None:
    body = alexa_body(NOW + timedelta(seconds=offset))
    assert verifier.verify(sign_body(body, ca.leaf.key), body)["version"] == "1.0"


def test_the_tolerance_is_configurable(ca: TestPki, make_verifier: Callable[..., RequestVerifier]) -> None:
    body = alexa_body(NOW - timedelta(seconds=20))
    headers = sign_body(body, ca.leaf.key)
    assert refused(make_verifier(tolerance_seconds=10), headers, body) == "stale timestamp"
    assert make_verifier(tolerance_seconds=30).verify(headers, body)["version"] == "1.0"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"version":"1.0","request":{"type":"LaunchRequest"}}', "missing timestamp"),
        (b'{"version":"1.0","request":{"timestamp":"last tuesday"}}', "invalid timestamp"),
        (b'{"version":"1.0"}', "invalid JSON body"),
        (b"[1, 2, 3]", "invalid JSON body"),
        (b"not json", "invalid JSON body"),
        (b"\xff\xfe", "invalid JSON body"),
    ],
)
def test_a_signed_body_without_a_usable_timestamp_is_refused(
    ca: TestPki, verifier: RequestVerifier, raw: bytes, reason: str
) -> None:
    assert refused(verifier, sign_body(raw, ca.leaf.key), raw) == reason


# --- the skill id ----------------------------------------------------------------------------


def test_a_request_for_another_skill_is_refused(ca: TestPki, verifier: RequestVerifier) -> None:
    body = alexa_body(application_id="amzn1.ask.skill.someone-elses-skill")
    assert refused(verifier, sign_body(body, ca.leaf.key), body) == "wrong application id"


def test_a_request_without_any_application_id_is_refused(ca: TestPki, verifier: RequestVerifier) -> None:
    body = alexa_body(where="none")
    assert refused(verifier, sign_body(body, ca.leaf.key), body) == "wrong application id"


def test_the_session_application_id_is_used_when_context_has_none(ca: TestPki, verifier: RequestVerifier) -> None:
    ours = alexa_body(where="session")
    assert verifier.verify(sign_body(ours, ca.leaf.key), ours)["session"]["new"] is True
    theirs = alexa_body(where="session", application_id="amzn1.ask.skill.other")
    assert refused(verifier, sign_body(theirs, ca.leaf.key), theirs) == "wrong application id"


def test_without_a_configured_skill_id_any_skill_is_accepted(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier]
) -> None:
    body = alexa_body(application_id="amzn1.ask.skill.other")
    assert make_verifier(skill_id=None).verify(sign_body(body, ca.leaf.key), body)["version"] == "1.0"


# --- what a refusal says and logs ------------------------------------------------------------------


def test_a_refusal_is_logged_with_its_reason_but_never_the_body(
    ca: TestPki, verifier: RequestVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    body = alexa_body(text="my kidneys and my pregnancy")
    tampered = body.replace(b"IntentRequest", b"LaunchRequest")
    with caplog.at_level(logging.WARNING, logger="skill.web.verify"):
        reason = refused(verifier, sign_body(body, ca.leaf.key), tampered)
    assert reason == "signature mismatch"
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "signature mismatch" in caplog.text
    assert "kidneys" not in caplog.text and "kidneys" not in reason


# --- the chain cache ------------------------------------------------------------------------------


def test_two_requests_with_the_same_url_fetch_the_chain_once(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher
) -> None:
    for _ in range(2):
        body = alexa_body()
        verifier.verify(sign_body(body, ca.leaf.key), body)
    assert fetcher.calls == [CERT_URL]


def test_the_chain_is_fetched_again_once_the_leaf_has_expired(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher, clock: Clock
) -> None:
    body = alexa_body()
    verifier.verify(sign_body(body, ca.leaf.key), body)

    # Alexa rotates its certificate; the new one is published under the same URL.
    later = ca.leaf.cert.not_valid_after_utc + timedelta(minutes=1)
    renewed = pki.make_leaf(
        ca.intermediate, key_name="renewed", not_before=later - timedelta(days=1), not_after=later + timedelta(days=90)
    )
    fetcher.default = chain_pem(renewed, ca.intermediate)
    clock.now = later
    body = alexa_body(later)
    assert verifier.verify(sign_body(body, renewed.key), body)["version"] == "1.0"
    assert fetcher.calls == [CERT_URL, CERT_URL]


def test_an_expired_cached_chain_is_not_trusted_any_more(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher, clock: Clock
) -> None:
    body = alexa_body()
    verifier.verify(sign_body(body, ca.leaf.key), body)
    clock.now = ca.leaf.cert.not_valid_after_utc + timedelta(seconds=1)
    body = alexa_body(clock.now)
    assert refused(verifier, sign_body(body, ca.leaf.key), body) == "certificate expired"


def test_concurrent_requests_for_a_new_url_fetch_it_once(
    ca: TestPki, verifier: RequestVerifier, fetcher: Fetcher
) -> None:
    body = alexa_body()
    headers = sign_body(body, ca.leaf.key)
    start = threading.Barrier(8)
    results: list[str] = []

    def one_request() -> None:
        start.wait(timeout=5)
        results.append(verifier.verify(headers, body)["version"])

    threads = [threading.Thread(target=one_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == ["1.0"] * 8
    assert fetcher.calls == [CERT_URL]


def test_a_cached_url_is_served_while_another_url_is_still_being_fetched(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier], fetcher: Fetcher
) -> None:
    slow_url = "https://s3.amazonaws.com/echo.api/rotated.pem"
    fetch_started, release = threading.Event(), threading.Event()
    released_in_time: list[bool] = []

    def fetch(url: str) -> bytes:
        if url == slow_url:
            fetch_started.set()
            released_in_time.append(release.wait(timeout=5))
        return fetcher(url)

    verifier = make_verifier(fetch=fetch)
    body = alexa_body()
    verifier.verify(sign_body(body, ca.leaf.key), body)  # CERT_URL is now cached

    slow = threading.Thread(target=verifier.verify, args=(sign_body(body, ca.leaf.key, url=slow_url), body))
    slow.start()
    assert fetch_started.wait(timeout=5)
    # A request on the cached URL must not queue behind the slow fetch of another one.
    assert verifier.verify(sign_body(body, ca.leaf.key), body)["version"] == "1.0"
    release.set()
    slow.join(timeout=10)
    assert released_in_time == [True]


def test_the_cache_is_bounded_and_forgets_the_least_recently_used_url(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier], fetcher: Fetcher
) -> None:
    verifier = make_verifier(cache_size=3)
    urls = [f"https://s3.amazonaws.com/echo.api/cert-{n}.pem" for n in range(4)]
    body = alexa_body()

    def play(url: str) -> None:
        verifier.verify(sign_body(body, ca.leaf.key, url=url), body)

    for url in urls[:3]:
        play(url)
    play(urls[0])  # cert-0 is used again, so cert-1 is now the oldest
    play(urls[3])  # a fourth URL pushes cert-1 out
    play(urls[0])
    play(urls[1])
    assert fetcher.calls == [urls[0], urls[1], urls[2], urls[3], urls[1]]


@dataclass
class Ticker:
    """A monotonic clock the test moves by hand, for the failure cache and the fetch budget."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_url_is_remembered_briefly_then_tried_again(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier], fetcher: Fetcher
) -> None:
    ticker = Ticker()
    verifier = make_verifier(failure_ttl=30, ticker=ticker)
    missing = "https://s3.amazonaws.com/echo.api/missing.pem"
    fetcher.chains[missing] = b"<html>NoSuchKey</html>"
    body = alexa_body()
    headers = sign_body(body, ca.leaf.key, url=missing)
    assert refused(verifier, headers, body) == "invalid certificate chain"
    ticker.now += 29
    assert refused(verifier, headers, body) == "invalid certificate chain"
    assert fetcher.calls == [missing]  # the second refusal came from memory
    ticker.now += 2
    fetcher.chains[missing] = chain_pem(ca.leaf, ca.intermediate)  # published meanwhile
    assert verifier.verify(headers, body)["version"] == "1.0"
    assert fetcher.calls == [missing, missing]


def test_new_urls_beyond_the_fetch_budget_are_refused_without_fetching(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier], fetcher: Fetcher
) -> None:
    ticker = Ticker()
    verifier = make_verifier(fetches_per_minute=3, ticker=ticker)
    urls = [f"https://s3.amazonaws.com/echo.api/flood-{n}.pem" for n in range(6)]
    body = alexa_body()
    for url in urls[:3]:
        assert verifier.verify(sign_body(body, ca.leaf.key, url=url), body)["version"] == "1.0"
    assert refused(verifier, sign_body(body, ca.leaf.key, url=urls[3]), body) == "too many certificate fetches"
    # A URL already trusted is still served: the budget only limits fetches.
    assert verifier.verify(sign_body(body, ca.leaf.key, url=urls[0]), body)["version"] == "1.0"
    assert fetcher.calls == urls[:3]
    ticker.now += 60
    assert verifier.verify(sign_body(body, ca.leaf.key, url=urls[4]), body)["version"] == "1.0"
    assert fetcher.calls == [*urls[:3], urls[4]]


# --- known URLs: a fetch budget a flood cannot spend --------------------------------------------


def flood(verifier: RequestVerifier, ca: TestPki, count: int) -> list[str]:
    """Unsigned-looking requests, each naming a URL never seen before; returns the reasons given."""
    body = alexa_body()
    reasons = []
    for n in range(count):
        url = f"https://s3.amazonaws.com/echo.api/flood-{n}.pem"
        reasons.append(refused(verifier, {"SignatureCertChainUrl": url, "Signature-256": "AAAA"}, body))
    return reasons


def test_a_pinned_chain_is_fetched_before_the_first_request_and_a_flood_cannot_delay_it(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier], fetcher: Fetcher
) -> None:
    fetcher.default = b"no such key"  # every flood URL fails, as a real S3 answers them
    fetcher.chains[CERT_URL] = chain_pem(ca.leaf, ca.intermediate)
    verifier = make_verifier(fetches_per_minute=3, ticker=Ticker(), pinned=(CERT_URL,))
    assert verifier.prefetch() is True
    assert fetcher.calls == [CERT_URL]
    reasons = flood(verifier, ca, 20)
    assert reasons.count("too many certificate fetches") == 17  # the flood spent its own budget only
    body = alexa_body()
    assert verifier.verify(sign_body(body, ca.leaf.key), body)["version"] == "1.0"
    assert fetcher.calls.count(CERT_URL) == 1


def test_a_pinned_chain_not_fetched_at_start_is_fetched_by_the_first_request_whatever_the_flood(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier], fetcher: Fetcher
) -> None:
    ticker = Ticker()
    fetcher.default = b"no such key"
    fetcher.chains[CERT_URL] = b"S3 was unreachable"
    verifier = make_verifier(fetches_per_minute=3, ticker=ticker, pinned=(CERT_URL,))
    assert verifier.prefetch() is False
    flood(verifier, ca, 20)
    fetcher.chains[CERT_URL] = chain_pem(ca.leaf, ca.intermediate)  # S3 is back
    ticker.now += 2.5  # a known URL's failure is remembered for seconds, not the flood's 30
    body = alexa_body()
    assert verifier.verify(sign_body(body, ca.leaf.key), body)["version"] == "1.0"


def test_without_a_pin_a_url_that_verified_a_signature_keeps_its_own_budget(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier], fetcher: Fetcher, clock: Clock
) -> None:
    ticker = Ticker()
    verifier = make_verifier(fetches_per_minute=3, ticker=ticker, cache_size=1)
    body = alexa_body()
    assert verifier.verify(sign_body(body, ca.leaf.key), body)["version"] == "1.0"  # learned
    fetcher.default = b"no such key"
    fetcher.chains[CERT_URL] = chain_pem(ca.leaf, ca.intermediate)
    flood(verifier, ca, 10)
    # A forged request whose URL fetched a real chain evicts the genuine one from a one-entry cache.
    other = "https://s3.amazonaws.com/echo.api/other.pem"
    ticker.now += 61
    fetcher.chains[other] = chain_pem(ca.leaf, ca.intermediate)
    assert verifier.verify(sign_body(body, ca.leaf.key, url=other), body)["version"] == "1.0"
    flood(verifier, ca, 10)  # the unknown budget is spent again
    assert verifier.verify(sign_body(body, ca.leaf.key), body)["version"] == "1.0"
    assert fetcher.calls.count(CERT_URL) == 2


def test_a_pin_that_is_not_an_alexa_url_is_refused_when_the_verifier_is_made(
    make_verifier: Callable[..., RequestVerifier],
) -> None:
    with pytest.raises(VerificationError):
        make_verifier(pinned=("https://attacker.example/echo.api/cert.pem",))


def test_two_new_urls_are_fetched_side_by_side_not_one_after_the_other(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier], fetcher: Fetcher
) -> None:
    slow_url = "https://s3.amazonaws.com/echo.api/slow.pem"
    quick_url = "https://s3.amazonaws.com/echo.api/quick.pem"
    slow_started, release = threading.Event(), threading.Event()

    def fetch(url: str) -> bytes:
        if url == slow_url:
            slow_started.set()
            release.wait(timeout=5)
        return fetcher(url)

    verifier = make_verifier(fetch=fetch, fetch_timeout=10)
    body = alexa_body()
    slow = threading.Thread(target=verifier.verify, args=(sign_body(body, ca.leaf.key, url=slow_url), body))
    slow.start()
    try:
        assert slow_started.wait(timeout=5)
        # The slow fetch is still in flight; a different new URL does not queue behind it.
        assert verifier.verify(sign_body(body, ca.leaf.key, url=quick_url), body)["version"] == "1.0"
        assert not release.is_set()
    finally:
        release.set()
        slow.join(timeout=10)


def test_a_fetch_that_never_returns_gives_every_waiter_a_timeout(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier]
) -> None:
    release = threading.Event()
    calls: list[str] = []

    def hung(url: str) -> bytes:
        calls.append(url)
        release.wait(timeout=10)  # stuck where no socket deadline reaches, say a DNS lookup
        raise VerificationError("certificate fetch failed")

    verifier = make_verifier(fetch=hung, fetch_timeout=0.2)
    body = alexa_body()
    headers = sign_body(body, ca.leaf.key, url="https://s3.amazonaws.com/echo.api/hung.pem")
    reasons: list[str] = []

    def one_request() -> None:
        with pytest.raises(VerificationError) as caught:
            verifier.verify(headers, body)
        reasons.append(caught.value.reason)

    threads = [threading.Thread(target=one_request) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert reasons == ["certificate fetch timed out"] * 4
        assert len(calls) == 1
    finally:
        release.set()


def test_a_fetcher_that_crashes_is_a_refusal_not_a_hang(
    ca: TestPki, make_verifier: Callable[..., RequestVerifier], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(url: str) -> bytes:
        raise RuntimeError("a bug in the fetcher")

    body = alexa_body()
    with caplog.at_level(logging.ERROR, logger="skill.web.verify"):
        assert refused(make_verifier(fetch=broken), sign_body(body, ca.leaf.key), body) == "certificate fetch failed"
    assert "RuntimeError" in caplog.text


# --- set-up errors ---------------------------------------------------------------------------------


def test_the_default_ca_bundle_loads_quietly() -> None:
    # certifi holds a root cryptography warns about; with warnings as errors this would fail loudly.
    assert RequestVerifier(skill_id=None) is not None


def test_a_missing_ca_bundle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read CA bundle"):
        RequestVerifier(skill_id=None, ca_bundle=tmp_path / "nope.pem")
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificates here\n")
    with pytest.raises(ValueError, match="no certificates in CA bundle"):
        RequestVerifier(skill_id=None, ca_bundle=empty)


# --- the default fetcher, against a real HTTP server on loopback ---------------------------------

CHAIN_BYTES = b"-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"


@dataclass
class ChainServer:
    """A loopback HTTP server: /chain.pem, /big.pem, /silent (never answers), /missing, /moved."""

    base: str
    release: threading.Event


@pytest.fixture
def chain_server() -> Iterator[ChainServer]:
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/silent":
                release.wait(timeout=5)  # hold the connection open, say nothing
                return
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/chain.pem")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            payload = {"/chain.pem": CHAIN_BYTES, "/big.pem": b"x" * 2048}.get(self.path)
            if payload is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield ChainServer(base=f"http://127.0.0.1:{server.server_address[1]}", release=release)
    finally:
        release.set()
        server.shutdown()
        server.server_close()  # joins the handler threads
        thread.join(timeout=5)
        assert not thread.is_alive()


def test_fetch_returns_the_chain_bytes(chain_server: ChainServer) -> None:
    assert fetch_cert_chain(f"{chain_server.base}/chain.pem") == CHAIN_BYTES


def test_fetch_refuses_a_chain_over_the_size_cap(chain_server: ChainServer) -> None:
    with pytest.raises(VerificationError) as caught:
        fetch_cert_chain(f"{chain_server.base}/big.pem", max_bytes=1024)
    assert caught.value.reason == "certificate chain too large"
    assert fetch_cert_chain(f"{chain_server.base}/big.pem", max_bytes=2048) == b"x" * 2048


def test_fetch_gives_up_on_a_server_that_never_answers(chain_server: ChainServer) -> None:
    with pytest.raises(VerificationError) as caught:
        fetch_cert_chain(f"{chain_server.base}/silent", timeout=0.3)
    assert caught.value.reason == "certificate fetch timed out"


@pytest.mark.parametrize("path", ["/missing", "/moved"], ids=["not-found", "redirect-not-followed"])
def test_fetch_refuses_anything_but_a_plain_200(chain_server: ChainServer, path: str) -> None:
    with pytest.raises(VerificationError) as caught:
        fetch_cert_chain(f"{chain_server.base}{path}")
    assert caught.value.reason == "certificate fetch failed"


def test_fetch_reports_a_server_that_is_not_there() -> None:
    # Bind a port, then close it, so nothing listens there.
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    with pytest.raises(VerificationError) as caught:
        fetch_cert_chain(f"http://127.0.0.1:{port}/chain.pem", timeout=0.5)
    assert caught.value.reason == "certificate fetch failed"
