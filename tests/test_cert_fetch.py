"""Certificate fetching against real servers on 127.0.0.1 that misbehave on purpose.

The verifier fetches whatever URL an unsigned request names (within Alexa's URL shape), so the
fetch itself must hold against a hostile server: one that drips its answer a byte at a time,
never answers, sends an endless or huge body, or is asked for many different URLs at once.
Each server here would, given enough time, hand over a complete, valid answer; a test that sees
that answer instead of a refusal has found a deadline or cap that did not hold. No test here
measures time: a fetch that does not stop makes a test fail, not slow.
"""
from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from skill.web.verify import RequestVerifier, VerificationError, fetch_cert_chain, rebased_fetcher
from tests import pki
from tests.pki import NOW, SKILL_ID, TestPki, alexa_body, chain_pem, sign_body

DRIP_GAP = 0.05  # seconds between dripped bytes: well inside any per-read timeout


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return pki.make_pki(tmp_path_factory.mktemp("ca"))


@dataclass
class Hostile:
    """A loopback HTTP(S) server whose every path is one way to misbehave; it counts what it was asked."""

    base: str
    chain: bytes
    hits: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _handler(state: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _drip(self, data: bytes) -> None:
            for i in range(len(data)):
                if state.stop.wait(DRIP_GAP):
                    return
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()

        def do_GET(self) -> None:  # noqa: C901 - one branch per misbehaviour reads best as a list
            state.hits.append(self.path)
            name = self.path.rsplit("/", 1)[-1]
            whole = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(state.chain), state.chain)
            try:
                if name == "chain.pem":
                    self.wfile.write(whole)
                elif name == "drip-headers.pem":
                    self._drip(whole)  # status line and headers a byte at a time, then the chain
                elif name == "drip-body.pem":
                    head, _, rest = whole.partition(b"\r\n\r\n")
                    self.wfile.write(head + b"\r\n\r\n")
                    self._drip(rest)
                elif name == "silent.pem":
                    state.stop.wait(30)
                elif name == "huge-declared.pem":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n" + b"x" * 4096)
                elif name == "endless.pem":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                    while not state.stop.is_set():
                        self.wfile.write(b"-----BEGIN CERTIFICATE-----\n" * 256)
                else:
                    self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the fetcher hung up on us, as it should
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _serve(state: Hostile, server: ThreadingHTTPServer) -> Iterator[Hostile]:
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def hostile(ca: TestPki) -> Iterator[Hostile]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Hostile(base=f"http://127.0.0.1:{server.server_address[1]}", chain=chain_pem(ca.leaf, ca.intermediate))
    server.RequestHandlerClass = _handler(state)
    yield from _serve(state, server)


@pytest.fixture
def hostile_tls(ca: TestPki, tmp_path: Path) -> Iterator[tuple[Hostile, ssl.SSLContext]]:
    """The same server behind TLS with a certificate for localhost from the test CA; yields it and a client trust."""
    # The TLS handshake is checked against the real clock, not the tests' fixed NOW: a CA of today's.
    today = datetime.now(timezone.utc)
    tls_root = pki.make_root("TLS Test Root", key_name="tls-root", not_before=today - timedelta(days=2),
                             not_after=today + timedelta(days=60))
    tls_leaf = pki.make_leaf(
        tls_root, dns_names=("localhost",), key_name="tls-server",
        not_before=today - timedelta(days=1), not_after=today + timedelta(days=30),
    )
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert_file.write_bytes(chain_pem(tls_leaf))
    key_file.write_bytes(
        tls_leaf.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    state = Hostile(base=f"https://localhost:{server.server_address[1]}", chain=chain_pem(ca.leaf, ca.intermediate))
    server.RequestHandlerClass = _handler(state)
    client = ssl.create_default_context(cafile=str(pki.write_bundle(tmp_path / "tls-roots.pem", tls_root)))
    yield from ((s, client) for s in _serve(state, server))


def fetch_reason(fetch: Callable[[], bytes]) -> str:
    with pytest.raises(VerificationError) as caught:
        fetch()
    return caught.value.reason


# --- one fetch, one hostile answer ------------------------------------------------------------


def test_a_well_behaved_server_gives_the_chain(hostile: Hostile) -> None:
    assert fetch_cert_chain(f"{hostile.base}/echo.api/chain.pem") == hostile.chain


@pytest.mark.parametrize("path", ["drip-headers.pem", "drip-body.pem", "silent.pem"])
def test_the_deadline_holds_against_a_server_that_drips_or_never_answers(hostile: Hostile, path: str) -> None:
    # Each dripped byte comes long before any per-read timeout; only a deadline on the whole fetch stops it.
    assert fetch_reason(lambda: fetch_cert_chain(f"{hostile.base}/echo.api/{path}", timeout=0.5)) == (
        "certificate fetch timed out"
    )


@pytest.mark.parametrize("path", ["huge-declared.pem", "endless.pem"])
def test_a_body_over_the_cap_is_refused_whether_declared_or_not(hostile: Hostile, path: str) -> None:
    assert fetch_reason(lambda: fetch_cert_chain(f"{hostile.base}/echo.api/{path}", max_bytes=16 * 1024)) == (
        "certificate chain too large"
    )


def test_over_tls_the_chain_arrives_and_a_dripping_server_is_cut(hostile_tls: tuple[Hostile, ssl.SSLContext]) -> None:
    server, trust = hostile_tls
    assert fetch_cert_chain(f"{server.base}/echo.api/chain.pem", context=trust) == server.chain
    for path in ("drip-headers.pem", "silent.pem"):
        reason = fetch_reason(lambda: fetch_cert_chain(f"{server.base}/echo.api/{path}", timeout=0.5, context=trust))
        assert reason == "certificate fetch timed out"


def test_a_tls_server_the_fetcher_does_not_trust_is_refused(hostile_tls: tuple[Hostile, ssl.SSLContext]) -> None:
    server, _ = hostile_tls
    # Default trust (certifi) knows nothing of the test CA.
    assert fetch_reason(lambda: fetch_cert_chain(f"{server.base}/echo.api/chain.pem")) == "certificate fetch failed"


# --- the verifier in front of a hostile server ------------------------------------------------


def make_verifier(ca: TestPki, server: Hostile, **options: object) -> RequestVerifier:
    timeout = float(options.pop("fetch_timeout", 0.5))  # type: ignore[arg-type]
    fetch = rebased_fetcher(server.base, timeout=timeout, **options.pop("fetch_options", {}))  # type: ignore[arg-type]
    return RequestVerifier(
        skill_id=SKILL_ID, ca_bundle=ca.bundle, clock=lambda: NOW, fetch=fetch, fetch_timeout=timeout, **options  # type: ignore[arg-type]
    )


def play(verifier: RequestVerifier, ca: TestPki, name: str) -> str:
    """Send one request naming /echo.api/<name>; return "ok" or the refusal's reason."""
    body = alexa_body()
    try:
        verifier.verify(sign_body(body, ca.leaf.key, url=f"https://s3.amazonaws.com/echo.api/{name}"), body)
    except VerificationError as exc:
        return exc.reason
    return "ok"


def test_a_genuine_request_is_verified_with_a_chain_fetched_over_real_tls(
    ca: TestPki, hostile_tls: tuple[Hostile, ssl.SSLContext]
) -> None:
    server, trust = hostile_tls
    verifier = make_verifier(ca, server, fetch_options={"context": trust})
    assert play(verifier, ca, "chain.pem") == "ok"
    assert server.hits == ["/echo.api/chain.pem"]


def test_many_requests_for_one_dripping_url_cost_one_fetch_and_all_get_an_answer(ca: TestPki, hostile: Hostile) -> None:
    verifier = make_verifier(ca, hostile)
    reasons: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        reason = play(verifier, ca, "drip-body.pem")
        with lock:
            reasons.append(reason)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert reasons == ["certificate fetch timed out"] * 12
    assert hostile.hits == ["/echo.api/drip-body.pem"]
    # Remembered: asking again does not go back to the server.
    assert play(verifier, ca, "drip-body.pem") == "certificate fetch timed out"
    assert hostile.hits == ["/echo.api/drip-body.pem"]


def test_a_flood_of_new_urls_reaches_the_server_only_as_far_as_the_budget(ca: TestPki, hostile: Hostile) -> None:
    verifier = make_verifier(ca, hostile, fetches_per_minute=5)
    reasons = [play(verifier, ca, f"flood-{n}.pem") for n in range(40)]
    assert reasons[:5] == ["certificate fetch failed"] * 5  # 404s, fetched and remembered
    assert set(reasons[5:]) == {"too many certificate fetches"}
    assert len(hostile.hits) == 5
    # The real certificate's URL is new too, so it waits for the budget like any other...
    assert play(verifier, ca, "chain.pem") == "too many certificate fetches"


def test_a_cached_chain_keeps_answering_while_new_urls_drip(ca: TestPki, hostile: Hostile) -> None:
    verifier = make_verifier(ca, hostile, fetch_timeout=3.0)
    assert play(verifier, ca, "chain.pem") == "ok"
    slow = [threading.Thread(target=play, args=(verifier, ca, name)) for name in ("drip-headers.pem", "drip-body.pem")]
    for thread in slow:
        thread.start()
    try:
        for _ in range(200):  # wait (boundedly) until the server has both dripping requests in hand
            if len(hostile.hits) == 3:
                break
            hostile.stop.wait(0.02)
        assert sorted(hostile.hits) == ["/echo.api/chain.pem", "/echo.api/drip-body.pem", "/echo.api/drip-headers.pem"]
        # Both dripping fetches are in flight; the trusted URL is answered from the cache meanwhile.
        assert [play(verifier, ca, "chain.pem") for _ in range(20)] == ["ok"] * 20
        assert all(thread.is_alive() for thread in slow)
    finally:
        for thread in slow:
            thread.join(timeout=10)


def test_a_tls_handshake_that_never_finishes_is_cut_at_the_deadline() -> None:
    # A listener that accepts and then says nothing: the TLS handshake waits for a ServerHello forever.
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        port = listener.getsockname()[1]
        assert fetch_reason(lambda: fetch_cert_chain(f"https://127.0.0.1:{port}/echo.api/x.pem", timeout=0.5)) == (
            "certificate fetch timed out"
        )
    finally:
        listener.close()
