"""Prove that a request really came from Alexa before the skill answers it.

Serves the Flask endpoint: Alexa signs each request body with a certificate published under
https://s3.amazonaws.com/echo.api/; we check the URL, the certificate chain, the signature,
the timestamp and the skill id, and refuse anything else with a short, safe reason.
"""
from __future__ import annotations

import base64
import binascii
import http.client
import logging
import posixpath
import socket
import ssl
import threading
import time
import warnings
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store
from cryptography.x509.verification import VerificationError as ChainError

from skill.runtime import application_id, parse_json

logger = logging.getLogger(__name__)

ALEXA_CERT_HOST = "s3.amazonaws.com"
ALEXA_CERT_PATH_PREFIX = "/echo.api/"
ALEXA_SIGNING_NAME = "echo-api.amazon.com"
CERT_URL_HEADER = "SignatureCertChainUrl"
SIGNATURE_HEADER = "Signature-256"

# Failed URLs remembered at once; older ones are forgotten first (a flood of new URLs is capped by the fetch budget).
_FAILURE_CACHE_SIZE = 1024
# Seconds a failed fetch of a known (pinned or proven) URL is remembered: a network blip, not an attack.
KNOWN_FAILURE_TTL = 2.0

CertFetcher = Callable[[str], bytes]
"""Fetch a certificate chain: URL in, PEM bytes out; raise VerificationError on failure."""


class VerificationError(Exception):
    """A request that did not prove it came from Alexa; `reason` is short, safe to return as JSON."""

    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _shutdown_fd(fd: int) -> None:
    """Wake whatever is blocked reading `fd`: shutdown without closing, so the owner still closes it."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()  # the fd still belongs to the connection; detach so this object never closes it


class _Watchdog:
    """Cut a connection at a wall-clock deadline, whatever it is doing: DNS aside, connect, TLS, headers, body.

    Per-read socket timeouts do not bound a server that drips one byte just inside each timeout;
    this timer shuts the socket down when the whole fetch has run out of time. A lock keeps it from
    touching a file descriptor that the fetch has already closed (and the OS may have reused).
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._done = False
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True

    def attach(self, sock: socket.socket) -> socket.socket:
        """Watch this newly connected socket; cut it at once if time has already run out."""
        with self._lock:
            self._fd = sock.fileno()
            if self.expired:
                _shutdown_fd(self._fd)
        return sock

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            if self._fd is not None:
                _shutdown_fd(self._fd)


def fetch_cert_chain(
    url: str,
    *,
    timeout: float = 2.0,
    max_bytes: int = 64 * 1024,
    context: ssl.SSLContext | None = None,
) -> bytes:
    """Default fetcher: one GET, no redirects, at most `max_bytes`, all within `timeout` seconds of wall clock.

    Raises VerificationError on any failure. `context` is the TLS trust for https (default: certifi).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VerificationError("certificate fetch failed")
    path = parts.path or "/"
    watchdog = _Watchdog(timeout)
    conn: http.client.HTTPConnection
    try:
        if parts.scheme == "https":
            tls = context or ssl.create_default_context(cafile=certifi.where())
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=tls)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    except ValueError:
        raise VerificationError("certificate fetch failed") from None
    # The TCP socket is handed to the watchdog before TLS wraps it (same descriptor), so a
    # handshake that drips is cut as surely as a body that drips.
    connect = conn._create_connection  # type: ignore[attr-defined]
    conn._create_connection = lambda *a, **k: watchdog.attach(connect(*a, **k))  # type: ignore[attr-defined]
    response: http.client.HTTPResponse | None = None
    try:
        with watchdog:
            conn.request("GET", path, headers={"Accept": "*/*", "Connection": "close"})
            response = conn.getresponse()
            if response.status != 200:
                raise VerificationError("certificate fetch failed")
            declared = response.getheader("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise VerificationError("certificate chain too large")
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = response.read1(min(8192, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise VerificationError("certificate chain too large")
            if watchdog.expired:  # a cut socket reads as a clean end: do not trust a truncated chain
                raise VerificationError("certificate fetch timed out")
    except VerificationError:
        raise
    except (TimeoutError, OSError, ssl.SSLError, http.client.HTTPException, ValueError) as exc:
        if watchdog.expired or isinstance(exc, TimeoutError):
            raise VerificationError("certificate fetch timed out") from None
        raise VerificationError("certificate fetch failed") from None
    finally:
        if response is not None:
            response.close()  # with "Connection: close" the response, not the connection, owns the socket
        conn.close()
    return b"".join(chunks)


def rebased_fetcher(base_url: str, **options: Any) -> CertFetcher:
    """A fetcher that asks `base_url` for Alexa's certificate paths: a loopback stand-in for tests and drills.

    The request's URL is still checked against Alexa's exact shape first; only where the bytes
    come from changes.
    """
    base = base_url.rstrip("/")

    def fetch(url: str) -> bytes:
        return fetch_cert_chain(base + urlsplit(url).path, **options)

    return fetch


def normalize_cert_url(url: str) -> str:
    """Return the canonical form of an Alexa certificate URL, or raise VerificationError if it is not one.

    Rules from Alexa's "verify the signature certificate URL": https, host s3.amazonaws.com,
    port 443 if any, and a normalised path under /echo.api/ (case-sensitive). Alexa's URLs carry
    no query, fragment or user info, so none is accepted: each would make a "new" URL to fetch.
    """
    refuse = VerificationError("invalid certificate URL")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise refuse from None
    if parts.scheme.lower() != "https" or parts.hostname != ALEXA_CERT_HOST:
        raise refuse
    if "@" in parts.netloc or parts.query or parts.fragment or "?" in url or "#" in url:
        raise refuse
    if port is not None and port != 443:
        raise refuse
    # Decode first so "%2e%2e" cannot smuggle a "..", and refuse backslashes some servers treat as "/".
    path = unquote(parts.path)
    if "\\" in path or any(ord(c) < 0x21 or c == "\x7f" for c in path):
        raise refuse
    normalized = posixpath.normpath(path)
    if not normalized.startswith(ALEXA_CERT_PATH_PREFIX) or normalized.startswith("//"):
        raise refuse
    return urlunsplit(("https", ALEXA_CERT_HOST, quote(normalized), "", ""))


def fetcher_for(settings: Any) -> CertFetcher:
    """The fetcher the settings ask for: Alexa's host, or a loopback stand-in (BEDTIME_CERT_FETCH_BASE)."""
    options = {"timeout": settings.cert_fetch_timeout, "max_bytes": settings.cert_max_bytes}
    if settings.cert_fetch_base:
        # The stand-in serves over https with the test CA, or plain http; trust what the CA bundle trusts.
        context = ssl.create_default_context(cafile=str(settings.ca_bundle)) if settings.ca_bundle else None
        return rebased_fetcher(settings.cert_fetch_base, context=context, **options)
    return lambda url: fetch_cert_chain(url, **options)


@dataclass(frozen=True)
class _TrustedChain:
    """A chain that passed every certificate check, kept until its first certificate expires."""

    leaf: x509.Certificate
    public_key: rsa.RSAPublicKey
    expires: datetime


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def load_ca_bundle(path: Path) -> list[x509.Certificate]:
    """Read trusted roots from a PEM bundle; skip entries this cryptography cannot parse."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read CA bundle {path}: {exc.strerror}") from None
    roots: list[x509.Certificate] = []
    marker = b"-----END CERTIFICATE-----"
    for block in data.split(marker):
        if b"-----BEGIN CERTIFICATE-----" not in block:
            continue
        # Some old roots in certifi have a non-positive serial; cryptography warns about
        # them, and a warning is not a reason to distrust (or crash on) the whole bundle.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            try:
                roots.append(x509.load_pem_x509_certificate(block + marker))
            except ValueError:
                logger.debug("skipping an unparseable certificate in %s", path)
    if not roots:
        raise ValueError(f"no certificates in CA bundle {path}")
    return roots


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Look a header up case-insensitively, whatever kind of mapping the web layer hands us."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value or None


def _parse_timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise VerificationError("missing timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise VerificationError("invalid timestamp") from None
    # Alexa sends UTC with a "Z"; a timestamp without a zone is read as UTC too.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class _Pending:
    """One certificate fetch in flight: everyone asking for its URL waits on this, not on a lock."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.chain: _TrustedChain | None = None
        self.reason = "certificate fetch failed"


class RequestVerifier:
    """Check that a request body and its headers were signed by Alexa, for this skill, just now.

    Certificate fetching is the one thing an unsigned request can make us do, so it is fenced:
    only Alexa's exact URL shape, one fetch in flight per URL (others wait on its result),
    failures remembered for `failure_ttl` seconds, at most `fetches_per_minute` new fetches, and
    a wall-clock deadline and size cap on each fetch. The body's timestamp and skill id are
    checked before any fetch, so a stale or foreign request never costs one.

    Known URLs have a fetch budget of their own that unknown URLs cannot spend: the `pinned` ones
    (BEDTIME_CERT_URLS, fetched by `prefetch` before the worker serves) and any URL whose chain has
    verified a signature here. A flood of fresh URLs then delays a genuine request by no more than
    its own fetch; before, it took every fetch of the minute and genuine requests went unanswered.
    """

    def __init__(
        self,
        *,
        skill_id: str | None,
        ca_bundle: Path | None = None,
        tolerance_seconds: int = 150,
        clock: Callable[[], datetime] = _utc_now,
        fetch: CertFetcher | None = None,
        cache_size: int = 16,
        fetch_timeout: float = 2.0,
        max_chain_bytes: int = 64 * 1024,
        fetches_per_minute: int = 10,
        failure_ttl: float = 30.0,
        ticker: Callable[[], float] = time.monotonic,
        pinned: tuple[str, ...] = (),
    ) -> None:
        if tolerance_seconds < 0:
            raise ValueError("tolerance_seconds must not be negative")
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        if fetches_per_minute < 1 or fetch_timeout <= 0 or failure_ttl < 0:
            raise ValueError("fetches_per_minute and fetch_timeout must be positive, failure_ttl not negative")
        self._skill_id = skill_id
        self._store = Store(load_ca_bundle(ca_bundle or Path(certifi.where())))
        self._tolerance = timedelta(seconds=tolerance_seconds)
        self._clock = clock
        self._fetch: CertFetcher = fetch or (
            lambda url: fetch_cert_chain(url, timeout=fetch_timeout, max_bytes=max_chain_bytes)
        )
        # A waiter gives up a little after the fetch's own deadline, even if the fetch thread is stuck
        # somewhere no deadline reaches (a DNS lookup), so no request waits longer than this.
        self._wait_seconds = fetch_timeout + 0.5
        self._per_minute = fetches_per_minute
        self._failure_ttl = failure_ttl
        self._ticker = ticker
        self._cache_size = cache_size
        self._cache: OrderedDict[str, _TrustedChain] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Guards the in-flight table, the failure cache and the fetch budget; held only briefly.
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._failures: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._fetch_starts: deque[float] = deque()
        # Known URLs: pinned, or learned from a verified signature; they spend only their own budget.
        self._pinned = tuple(normalize_cert_url(url) for url in pinned)
        self._known: set[str] = set(self._pinned)
        self._known_starts: deque[float] = deque()

    def prefetch(self, wait: float | None = None) -> bool:
        """Fetch every pinned chain now, from the known budget; wait up to `wait` seconds (default: one fetch).

        Serves worker start: the chain is in the cache before the first request, so no flood can be
        ahead of it. Returns True when every pinned chain is trusted; a failure is logged, and the
        first genuine request fetches again from the same budget.
        """
        now = self._now()
        waiting: list[_Pending] = []
        for url in self._pinned:
            if self._cached(url, now) is not None:
                continue
            with self._lock:
                pending = self._pending.get(url) or self._start_fetch(url, now, self._known_starts)
            if pending is not None:
                waiting.append(pending)
        deadline = time.monotonic() + (self._wait_seconds if wait is None else wait)
        for pending in waiting:
            pending.done.wait(max(0.0, deadline - time.monotonic()))
        trusted = all(self._cached(url, now) is not None for url in self._pinned)
        if not trusted:
            logger.warning("a pinned certificate chain could not be fetched at start; requests will retry it")
        return trusted

    def verify(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Check everything; return the parsed JSON body on success, raise VerificationError otherwise."""
        try:
            return self._verify(headers, body)
        except VerificationError as exc:
            logger.warning("refused a request not proven to come from Alexa: %s", exc.reason)
            raise

    def _verify(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        url = _header(headers, CERT_URL_HEADER)
        if url is None:
            raise VerificationError("missing certificate URL")
        # Only Signature-256 counts; a lone SHA-1 "Signature" header is not enough any more.
        signature_b64 = _header(headers, SIGNATURE_HEADER)
        if signature_b64 is None:
            raise VerificationError("missing signature")
        try:
            signature = base64.b64decode(signature_b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise VerificationError("invalid signature encoding") from None
        canonical = normalize_cert_url(url)

        # Everything that needs no certificate is checked before one is fetched: an unsigned flood
        # must at least carry a fresh timestamp and our skill id to cost a fetch.
        now = self._now()
        try:
            envelope = parse_json(body)
        except (UnicodeDecodeError, ValueError):
            raise VerificationError("invalid JSON body") from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("request"), dict):
            raise VerificationError("invalid JSON body")
        timestamp = _parse_timestamp(envelope["request"].get("timestamp"))
        if abs(now - timestamp) > self._tolerance:
            raise VerificationError("stale timestamp")
        if self._skill_id is not None and application_id(envelope) != self._skill_id:
            raise VerificationError("wrong application id")

        chain = self._trusted_chain(canonical, now)
        try:
            chain.public_key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise VerificationError("signature mismatch") from None
        if canonical not in self._known:
            self._learn(canonical)
        return envelope

    def _learn(self, url: str) -> None:
        """Remember a URL that verified a genuine signature, so refetching it spends the known budget."""
        with self._lock:
            if url in self._known or len(self._known) >= len(self._pinned) + self._cache_size:
                return
            self._known.add(url)
        if not self._pinned:
            logger.info("Alexa signs with the chain at %s; set BEDTIME_CERT_URLS to it so that each worker "
                        "fetches it before serving", url)

    def _now(self) -> datetime:
        now = self._clock()
        return now.astimezone(timezone.utc) if now.tzinfo else now.replace(tzinfo=timezone.utc)

    def _cached(self, url: str, now: datetime) -> _TrustedChain | None:
        with self._cache_lock:
            entry = self._cache.get(url)
            if entry is None:
                return None
            if now >= entry.expires:
                del self._cache[url]
                return None
            self._cache.move_to_end(url)
            return entry

    def _trusted_chain(self, url: str, now: datetime) -> _TrustedChain:
        """Return the verified chain for `url`: from the cache, from a fetch in flight, or from a new fetch."""
        entry = self._cached(url, now)
        if entry is not None:
            return entry
        with self._lock:
            entry = self._cached(url, now)  # a fetch may have finished since the first look
            if entry is not None:
                return entry
            pending = self._pending.get(url)
            if pending is None:
                failure = self._failures.get(url)
                if failure is not None and failure[0] > self._ticker():
                    raise VerificationError(failure[1])
                budget = self._known_starts if url in self._known else self._fetch_starts
                pending = self._start_fetch(url, now, budget)
                if pending is None:
                    # Refused without fetching: a flood of new URLs cannot turn into a flood of fetches.
                    raise VerificationError("too many certificate fetches")
        if not pending.done.wait(self._wait_seconds):
            raise VerificationError("certificate fetch timed out")
        if pending.chain is None:
            raise VerificationError(pending.reason)
        return pending.chain

    def _start_fetch(self, url: str, now: datetime, budget: deque[float]) -> _Pending | None:
        """Start fetching `url` if `budget` has a fetch left this minute (call with the lock held)."""
        tick = self._ticker()
        while budget and budget[0] <= tick - 60.0:
            budget.popleft()
        if len(budget) >= self._per_minute:
            return None
        budget.append(tick)
        pending = self._pending[url] = _Pending()
        threading.Thread(
            target=self._fetch_and_check, args=(url, now, pending), name="cert-fetch", daemon=True
        ).start()
        return pending

    def _fetch_and_check(self, url: str, now: datetime, pending: _Pending) -> None:
        """Fetch and check one chain, then hand the result to everyone waiting for it."""
        try:
            chain = self._check_chain(self._fetch(url), now)
        except VerificationError as exc:
            pending.reason = exc.reason
        except Exception as exc:  # a fetcher's bug must not leave waiters hanging or kill the thread loudly
            logger.error("certificate fetch failed unexpectedly: %s", type(exc).__name__)
        else:
            pending.chain = chain
            with self._cache_lock:
                self._cache[url] = chain
                self._cache.move_to_end(url)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        finally:
            with self._lock:
                if pending.chain is None:
                    # Remembered briefly: asking again at once would fetch the same failure again.
                    # A known URL is retried sooner: refusing genuine requests for long helps nobody.
                    ttl = min(self._failure_ttl, KNOWN_FAILURE_TTL) if url in self._known else self._failure_ttl
                    self._failures[url] = (self._ticker() + ttl, pending.reason)
                    self._failures.move_to_end(url)
                    while len(self._failures) > _FAILURE_CACHE_SIZE:
                        self._failures.popitem(last=False)
                self._pending.pop(url, None)
            pending.done.set()

    def _check_chain(self, pem: bytes, now: datetime) -> _TrustedChain:
        """Check a fetched chain: leaf dates, leaf name, and a path to a trusted root."""
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise VerificationError("invalid certificate chain") from None
        leaf, intermediates = certs[0], certs[1:]
        if now < leaf.not_valid_before_utc:
            raise VerificationError("certificate not yet valid")
        if now > leaf.not_valid_after_utc:
            raise VerificationError("certificate expired")
        try:
            san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            names = san.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            names = []
        if ALEXA_SIGNING_NAME not in names:
            raise VerificationError("certificate name mismatch")
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now)
            .build_server_verifier(x509.DNSName(ALEXA_SIGNING_NAME))
        )
        try:
            path = verifier.verify(leaf, intermediates)
        except ChainError:
            raise VerificationError("certificate not trusted") from None
        public_key = leaf.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise VerificationError("unsupported certificate key")
        # Trust lasts only while every certificate on the path is valid, normally the leaf's not-after.
        expires = min(cert.not_valid_after_utc for cert in path)
        return _TrustedChain(leaf=leaf, public_key=public_key, expires=expires)
