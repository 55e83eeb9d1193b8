"""Settings for every entry point, read from the environment with the prefix BEDTIME_.

One definition, the dataclass below, and two readers of it:

- `Settings.from_env()` reads BEDTIME_* with the plain typed reader of skill.fields. The Lambda
  entry uses it, so a cold start loads neither pydantic nor pydantic-settings.
- `Settings.from_env_pydantic()` has pydantic-settings read the same fields with the same rules;
  the web server and the CLI use it (its errors name every bad variable at once).

A property test (tests/test_settings_readers.py) holds both to the same answers on any environment.
A new setting is one line at the end of the class: `name: type = spec(default, description=...)`.
"""
import dataclasses
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

from skill import fields
from skill.fields import Record, read_env, record, spec

ENV_PREFIX = "BEDTIME_"


def _known_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _blank_is_none(value: str | None) -> str | None:
    return value or None


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _alexa_cert_urls(value: str | None) -> str | None:
    # Checked at start, so a mistyped URL stops the server instead of failing every request (the
    # verifier then applies Alexa's every rule; this module stays free of the web stack's imports).
    if not value or not value.strip():
        return None
    for url in value.split(","):
        if not url.strip().startswith("https://s3.amazonaws.com/echo.api/"):
            raise ValueError(f"not an Alexa certificate URL: {url.strip()!r}")
    return value


def _loopback_only(value: str | None) -> str | None:
    # A stand-in for Alexa's certificate host must never be a real host: that would let whoever
    # runs it sign requests the skill trusts (with a matching BEDTIME_CA_BUNDLE).
    if not value:
        return None
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme not in ("http", "https") or not loopback or parts.path not in ("", "/"):
        raise ValueError("must be http(s)://127.0.0.1:PORT (loopback only, no path)")
    return value


@record
class Settings(Record):
    """What an operator can configure; each field is one BEDTIME_* variable. Immutable.

    `Settings(...)` checks the values it is given (RecordError or FieldError, both ValueErrors).
    """

    skill_id: str | None = spec(
        None, description="The skill's application id; requests for any other skill get HTTP 400.", check=_blank_is_none
    )
    verify_signature: bool = spec(
        True, description="Check Alexa's request signature and timestamp. Off only for tests and local use."
    )
    allowed_hosts: str | None = spec(
        None, description="With verification off: Host names besides loopback that /alexa and the console answer "
        "(comma-separated). Any other Host or Origin gets HTTP 403 (no DNS rebinding into a local store).",
        check=_blank_is_none,
    )
    locale: str = spec("en-US", description="The content locale the skill speaks.")
    data_dir: Path = spec(Path("var"), description="Where the SQLite store lives.")
    persistence: Literal["sqlite", "dynamodb", "none"] = spec(
        "sqlite", description="Where the skill keeps what a person chose (never health data)."
    )
    dynamodb_table: str = spec("bedtime-skill", description="DynamoDB table name.")
    dynamodb_endpoint: str | None = spec(None, description="Override the DynamoDB endpoint (a local server in tests).")
    aws_region: str = spec("us-east-1", description="AWS region for DynamoDB.")
    ca_bundle: Path | None = spec(
        None, description="A PEM file of trusted roots for Alexa's certificate chain (default: certifi)."
    )
    timestamp_tolerance: int = spec(150, ge=1, le=3600, description="Seconds a request's timestamp may differ from now.")
    max_body_bytes: int = spec(64 * 1024, ge=1024, le=1024 * 1024, description="Largest request body accepted.")
    default_time_zone: str = spec(
        "America/New_York", description="Time zone used when the device's cannot be read.", check=_known_zone
    )
    alexa_api: bool = spec(True, description="Call the Alexa settings and reminders APIs (off in the offline simulator).")
    capture_requests: bool = spec(
        False, description="Log each request envelope, known-safe fields only (ids as pseudonyms, no token, no slot "
        "value), so it can be replayed. Debugging only."
    )
    capture_personal: bool = spec(
        False, description="With capture_requests: also log slot values, session attributes and Alexa's error "
        "messages, to replay a multi-turn bug. A person's health words may reach the log (warned at start)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = spec("INFO", description="Log level.")
    seed: int | None = spec(None, description="Seed for choosing spoken variants; set it to make answers repeatable.")
    # Outbound Alexa API calls (reminders, device settings): a time budget per turn and a breaker per host.
    alexa_api_budget_s: float = spec(
        3.5, le=7, check=_positive, description="Seconds all Alexa API calls of one turn may take together (Alexa waits 8)."
    )
    alexa_api_call_timeout_s: float = spec(
        2.5, le=7, check=_positive, description="Seconds one Alexa API call may take, within the turn's budget."
    )
    alexa_api_breaker_failures: int = spec(
        5, ge=1, description="Failures in a row after which calls to an Alexa API host fail fast."
    )
    alexa_api_breaker_cooldown_s: float = spec(
        30.0, check=_positive, description="Seconds calls to a failing Alexa API host fail fast before one is tried."
    )
    alexa_api_max_in_flight: int = spec(4, ge=1, description="Calls to one Alexa API host a process may have waiting at once.")
    alexa_api_allow_loopback: bool = spec(
        False, description="Also accept a loopback apiEndpoint (tests and the local load test only; never in production)."
    )
    # Serving under attack (skill/web/server.py, skill/web/verify.py).
    accept_any_skill: bool = spec(
        False,
        description="Serve Alexa-signed requests for any skill when BEDTIME_SKILL_ID is unset. Without it, "
        "`serve` with verification on refuses to start until a skill id is set.",
    )
    worker_class: Literal["gevent", "gthread"] = spec(
        "gevent",
        description="gunicorn worker: gevent reads each request with deadlines and lets slow clients hold only "
        "a cheap greenlet; gthread has no read deadline (a slow client holds a thread) and is kept for comparison.",
    )
    header_timeout: float = spec(
        5.0, le=60, check=_positive,
        description="Seconds a client has to send a request's line and headers (wall clock, counted from the "
        "connection or the previous answer); then the connection is closed.",
    )
    body_timeout: float = spec(
        5.0, le=120, check=_positive,
        description="Seconds a client has to send the whole request body once its headers are in; then 408.",
    )
    max_connections: int = spec(
        10_000, ge=10, le=100_000,
        description="Open connections one worker process holds at once; more wait in the listen queue. An idle "
        "connection costs a worker about 11 KB (measured: 5,000 slow clients, 57 MB), so the default holds "
        "10,000 in about 110 MB; `serve` raises the open-file limit to fit (docs/hardening.md).",
    )
    cert_fetch_timeout: float = spec(
        2.0, le=10, check=_positive,
        description="Wall-clock seconds for a whole certificate-chain fetch, however slowly the server drips.",
    )
    cert_max_bytes: int = spec(64 * 1024, ge=4096, le=1024 * 1024, description="Largest certificate chain fetched.")
    cert_fetches_per_minute: int = spec(
        10, ge=1, le=1000,
        description="New certificate URLs fetched per minute per worker; requests beyond get 400 without a fetch.",
    )
    cert_failure_ttl: float = spec(
        30.0, ge=0, le=3600, description="Seconds a failed certificate URL is remembered and refused without fetching it again."
    )
    cert_fetch_base: str | None = spec(
        None, check=_loopback_only,
        description="Tests and attack drills only: fetch Alexa's certificate paths from this loopback http(s) "
        "base instead of https://s3.amazonaws.com. Any non-loopback value is refused.",
    )
    healthz_cache_seconds: float = spec(
        2.0, ge=0, le=60, description="Seconds /healthz reuses its last store check, so probes stay cheap."
    )
    cert_urls: str | None = spec(
        None, check=_alexa_cert_urls,
        description="Alexa certificate-chain URLs this skill's requests carry (comma-separated; the skill logs "
        "the one it sees). Each worker fetches them before it serves, with a fetch budget that unknown URLs "
        "cannot spend, so a flood of fresh URLs cannot keep the genuine chain from being fetched.",
    )

    def __init__(self, _env_file: Any = None, **values: Any) -> None:
        # `_env_file` is accepted so that call sites written for pydantic-settings
        # (`Settings(_env_file=None, ...)`) keep working; there is no env file.
        super().__init__(**values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"settings are read once; use replace() to change {name!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: Any) -> "Settings":
        """Read BEDTIME_* without pydantic (the Lambda path); keyword overrides win over the environment.

        Raises RecordError naming every bad variable.
        """
        values = read_env(cls, os.environ if environ is None else environ, ENV_PREFIX)
        return cls(**(values | overrides))

    @classmethod
    def from_env_pydantic(cls, **overrides: Any) -> "Settings":
        """Read BEDTIME_* with pydantic-settings (web server, CLI); raises pydantic's ValidationError."""
        values = pydantic_settings_model()(**overrides).model_dump()
        return cls(**values)

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> "Settings":
        """`replace`, under the name call sites written for the pydantic model use."""
        return self.replace(**dict(update or {}))


@cache
def pydantic_settings_model() -> Any:
    """The pydantic-settings model of Settings (fields, defaults and rules taken from the dataclass)."""
    return fields.pydantic_settings_model(Settings, ENV_PREFIX)
