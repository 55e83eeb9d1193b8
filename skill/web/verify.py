"""Prove that a request really came from Alexa before the skill answers it.

Serves the Flask endpoint: Alexa signs each request body with a certificate published under
https://s3.amazonaws.com/echo.api/; we check the URL, the certificate chain, the signature,
the timestamp and the skill id, and refuse anything else with a short, safe reason.
"""
from __future__ import annotations

import base64
import binascii
import logging
import posixpath
import ssl
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections import OrderedDict
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

CertFetcher = Callable[[str], bytes]
"""Fetch a certificate chain: URL in, PEM bytes out; raise VerificationError on failure."""


class VerificationError(Exception):
    """A request that did not prove it came from Alexa; `reason` is short, safe to return as JSON."""

    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: the URL we checked is the only place a chain may come from."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch_cert_chain(url: str, *, timeout: float = 2.0, max_bytes: int = 64 * 1024) -> bytes:
    """Default fetcher: urllib GET with a short timeout and a size cap; raises VerificationError on any failure."""
    context = ssl.create_default_context(cafile=certifi.where())
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), _NoRedirects()
    )
    # The socket timeout bounds each read; the deadline bounds a server that drips bytes slowly.
    deadline = time.monotonic() + timeout
    try:
        with opener.open(url, timeout=timeout) as response:
            if response.status != 200:
                raise VerificationError("certificate fetch failed")
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = response.read(min(8192, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise VerificationError("certificate chain too large")
                if time.monotonic() > deadline:
                    raise VerificationError("certificate fetch timed out")
    except VerificationError:
        raise
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the open response; close it rather than leave it to the GC
        raise VerificationError("certificate fetch failed") from None
    except (TimeoutError, ssl.SSLError, urllib.error.URLError, OSError, ValueError) as exc:
        # URLError wraps socket timeouts too; look inside so the reason says what happened.
        inner = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(inner, TimeoutError):
            raise VerificationError("certificate fetch timed out") from None
        raise VerificationError("certificate fetch failed") from None
    return b"".join(chunks)


def normalize_cert_url(url: str) -> str:
    """Return the canonical form of an Alexa certificate URL, or raise VerificationError if it is not one.

    Rules from Alexa's "verify the signature certificate URL": https, host s3.amazonaws.com,
    port 443 if any, and a normalised path under /echo.api/ (case-sensitive).
    """
    refuse = VerificationError("invalid certificate URL")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise refuse from None
    if parts.scheme.lower() != "https" or parts.hostname != ALEXA_CERT_HOST:
        raise refuse
    if parts.username is not None or parts.password is not None:
        raise refuse
    if port is not None and port != 443:
        raise refuse
    # Decode first so "%2e%2e" cannot smuggle a "..", and refuse backslashes some servers treat as "/".
    path = unquote(parts.path)
    if "\\" in path:
        raise refuse
    normalized = posixpath.normpath(path)
    if not normalized.startswith(ALEXA_CERT_PATH_PREFIX) or normalized.startswith("//"):
        raise refuse
    return urlunsplit(("https", ALEXA_CERT_HOST, quote(normalized), parts.query, ""))


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


class RequestVerifier:
    """Check that a request body and its headers were signed by Alexa, for this skill, just now."""

    def __init__(
        self,
        *,
        skill_id: str | None,
        ca_bundle: Path | None = None,
        tolerance_seconds: int = 150,
        clock: Callable[[], datetime] = _utc_now,
        fetch: CertFetcher = fetch_cert_chain,
        cache_size: int = 16,
    ) -> None:
        if tolerance_seconds < 0:
            raise ValueError("tolerance_seconds must not be negative")
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._skill_id = skill_id
        self._store = Store(load_ca_bundle(ca_bundle or Path(certifi.where())))
        self._tolerance = timedelta(seconds=tolerance_seconds)
        self._clock = clock
        self._fetch = fetch
        self._cache_size = cache_size
        self._cache: OrderedDict[str, _TrustedChain] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Misses take this lock so concurrent requests for one new URL fetch it once; hits never wait on it.
        self._fetch_lock = threading.Lock()

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

        now = self._now()
        chain = self._trusted_chain(normalize_cert_url(url), now)
        try:
            chain.public_key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise VerificationError("signature mismatch") from None

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
        return envelope

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
        """Return the verified chain for `url`, from the cache or freshly fetched and checked."""
        entry = self._cached(url, now)
        if entry is not None:
            return entry
        with self._fetch_lock:
            entry = self._cached(url, now)  # another thread may have fetched it while we waited
            if entry is not None:
                return entry
            entry = self._check_chain(self._fetch(url), now)
            with self._cache_lock:
                self._cache[url] = entry
                self._cache.move_to_end(url)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            return entry

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
