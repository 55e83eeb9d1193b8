"""A tiny test PKI: a root CA, an intermediate and Alexa-like signing certificates, plus request signing.

It serves the request-verification tests, which need certificate chains that a real verifier
accepts (or refuses for exactly one reason) without touching Amazon's servers.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ALEXA_DNS_NAME = "echo-api.amazon.com"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem"
SKILL_ID = "amzn1.ask.skill.00000000-bed0-4000-8000-000000000001"
# A fixed "now": late evening, when the skill is used. Certificates are made around it.
NOW = datetime(2025, 1, 15, 22, 30, tzinfo=timezone.utc)


@lru_cache(maxsize=None)
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """Return one RSA-2048 key per name, made once per test run because key generation is the slow part."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class Issued:
    """A certificate together with the private key it certifies."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    def pem(self) -> bytes:
        """Return the certificate as PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bedtime Test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def make_root(
    common_name: str = "Bedtime Test Root CA",
    *,
    key_name: str = "root",
    not_before: datetime = NOW - timedelta(days=3650),
    not_after: datetime = NOW + timedelta(days=3650),
) -> Issued:
    """Make a self-signed root CA shaped like a Web PKI root (critical CA constraint, cert-signing usage)."""
    key = rsa_key(key_name)
    name = _name(common_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_intermediate(
    issuer: Issued,
    common_name: str = "Bedtime Test Intermediate CA",
    *,
    key_name: str = "intermediate",
    not_before: datetime = NOW - timedelta(days=1000),
    not_after: datetime = NOW + timedelta(days=1000),
) -> Issued:
    """Make an intermediate CA signed by `issuer`."""
    key = rsa_key(key_name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_leaf(
    issuer: Issued | None,
    *,
    dns_names: Iterable[str] = (ALEXA_DNS_NAME,),
    key_name: str = "leaf",
    not_before: datetime = NOW - timedelta(days=30),
    not_after: datetime = NOW + timedelta(days=60),
) -> Issued:
    """Make an Alexa-like signing certificate; with `issuer=None` the leaf signs itself (trusted by no one)."""
    key = rsa_key(key_name)
    names = list(dns_names)
    subject = _name(names[0] if names else "no-dns-name")
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_usage(), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()), critical=False
        )
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


def chain_pem(*parts: Issued) -> bytes:
    """Concatenate certificates as the chain file Alexa publishes: leaf first, then intermediates."""
    return b"".join(part.pem() for part in parts)


def write_bundle(path: Path, *roots: Issued) -> Path:
    """Write a CA bundle PEM file of `roots` and return its path."""
    path.write_bytes(b"".join(root.pem() for root in roots))
    return path


def alexa_body(
    timestamp: datetime = NOW,
    *,
    application_id: str | None = SKILL_ID,
    where: str = "context",
    text: str = "why does magnesium help sleep",
) -> bytes:
    """Return a small IntentRequest envelope as raw bytes, the way Alexa would POST it.

    `where` puts the application id in `context.System` (current Alexa), in `session` only
    (older envelopes), or nowhere ("none").
    """
    application = {"applicationId": application_id}
    envelope: dict[str, object] = {
        "version": "1.0",
        "request": {
            "type": "IntentRequest",
            "requestId": "amzn1.echo-api.request.test-1",
            "timestamp": timestamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "locale": "en-US",
            "intent": {"name": "WhyMagnesiumIntent", "confirmationStatus": "NONE"},
        },
    }
    if where == "context":
        envelope["context"] = {"System": {"application": application, "user": {"userId": "u1"}}}
        envelope["session"] = {"new": True, "sessionId": "s1", "application": application}
    elif where == "session":
        envelope["session"] = {"new": True, "sessionId": "s1", "application": application}
    # The utterance never reaches the verifier's reasons or logs; tests check that with this text.
    envelope["request"]["debugUtterance"] = text  # type: ignore[index]
    return json.dumps(envelope, separators=(",", ":")).encode()


def sign_body(body: bytes, key: rsa.RSAPrivateKey, url: str = CERT_URL) -> dict[str, str]:
    """Sign `body` as Alexa does (RSA PKCS#1 v1.5, SHA-256) and return the request headers."""
    signature = key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    return {"SignatureCertChainUrl": url, "Signature-256": base64.b64encode(signature).decode()}


def sign_body_sha1(body: bytes, key: rsa.RSAPrivateKey, url: str = CERT_URL) -> dict[str, str]:
    """Sign `body` the old way (SHA-1, header `Signature`), which the verifier must refuse."""
    signature = key.sign(body, padding.PKCS1v15(), hashes.SHA1())
    return {"SignatureCertChainUrl": url, "Signature": base64.b64encode(signature).decode()}


@dataclass(frozen=True)
class TestPki:
    """Everything tests sign with: a trusted CA, an Alexa-like leaf, and a rogue chain it never signed."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    root: Issued
    intermediate: Issued
    leaf: Issued
    bundle: Path
    rogue_intermediate: Issued
    rogue_leaf: Issued


def make_pki(folder: Path) -> TestPki:
    """Make the CA, the chains and a CA bundle file in `folder`."""
    root = make_root()
    intermediate = make_intermediate(root)
    rogue_intermediate = make_intermediate(make_root("Rogue Root CA", key_name="rogue-root"), "Rogue Intermediate",
                                           key_name="rogue-int")
    return TestPki(
        root=root,
        intermediate=intermediate,
        leaf=make_leaf(intermediate),
        bundle=write_bundle(folder / "bundle.pem", root),
        rogue_intermediate=rogue_intermediate,
        rogue_leaf=make_leaf(rogue_intermediate, key_name="rogue-leaf"),
    )

