"""Settings for every entry point, read from the environment with the prefix BEDTIME_."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What an operator can configure; each field is one BEDTIME_* variable."""

    model_config = SettingsConfigDict(env_prefix="BEDTIME_", extra="ignore")

    skill_id: str | None = Field(
        default=None,
        description="The skill's application id; requests for any other skill get HTTP 400.",
    )
    verify_signature: bool = Field(
        default=True,
        description="Check Alexa's request signature and timestamp. Off only for tests and local use.",
    )
    locale: str = Field(default="en-US", description="The content locale the skill speaks.")
    data_dir: Path = Field(default=Path("var"), description="Where the SQLite store lives.")
    persistence: Literal["sqlite", "dynamodb", "none"] = Field(
        default="sqlite", description="Where the skill keeps what a person chose (never health data)."
    )
    dynamodb_table: str = Field(default="bedtime-skill", description="DynamoDB table name.")
    dynamodb_endpoint: str | None = Field(
        default=None, description="Override the DynamoDB endpoint (a local server in tests)."
    )
    aws_region: str = Field(default="us-east-1", description="AWS region for DynamoDB.")
    ca_bundle: Path | None = Field(
        default=None,
        description="A PEM file of trusted roots for Alexa's certificate chain (default: certifi).",
    )
    timestamp_tolerance: int = Field(
        default=150, ge=1, le=3600, description="Seconds a request's timestamp may differ from now."
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=1024 * 1024, description="Largest request body accepted."
    )
    default_time_zone: str = Field(
        default="America/New_York", description="Time zone used when the device's cannot be read."
    )
    alexa_api: bool = Field(
        default=True, description="Call the Alexa settings and reminders APIs (off in the offline simulator)."
    )
    capture_requests: bool = Field(
        default=False,
        description="Log each request envelope (ids and tokens removed) so it can be replayed. Debugging only.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    seed: int | None = Field(
        default=None, description="Seed for choosing spoken variants; set it to make answers repeatable."
    )
    # Outbound Alexa API calls (reminders, device settings): a time budget per turn and a breaker per host.
    alexa_api_budget_s: float = Field(
        default=3.5, gt=0, le=7, description="Seconds all Alexa API calls of one turn may take together (Alexa waits 8)."
    )
    alexa_api_call_timeout_s: float = Field(
        default=2.5, gt=0, le=7, description="Seconds one Alexa API call may take, within the turn's budget."
    )
    alexa_api_breaker_failures: int = Field(
        default=5, ge=1, description="Failures in a row after which calls to an Alexa API host fail fast."
    )
    alexa_api_breaker_cooldown_s: float = Field(
        default=30.0, gt=0, description="Seconds calls to a failing Alexa API host fail fast before one is tried."
    )
    alexa_api_max_in_flight: int = Field(
        default=4, ge=1, description="Calls to one Alexa API host a process may have waiting at once."
    )
    alexa_api_allow_loopback: bool = Field(
        default=False,
        description="Also accept a loopback apiEndpoint (tests and the local load test only; never in production).",
    )
    # --- serving under attack (skill/web/server.py, skill/web/verify.py) ---
    accept_any_skill: bool = Field(
        default=False,
        description="Serve Alexa-signed requests for any skill when BEDTIME_SKILL_ID is unset. Without it, "
        "`serve` with verification on refuses to start until a skill id is set.",
    )
    worker_class: Literal["gevent", "gthread"] = Field(
        default="gevent",
        description="gunicorn worker: gevent reads each request with deadlines and lets slow clients hold only "
        "a cheap greenlet; gthread has no read deadline (a slow client holds a thread) and is kept for comparison.",
    )
    header_timeout: float = Field(
        default=5.0, gt=0, le=60,
        description="Seconds a client has to send a request's line and headers (wall clock, counted from the "
        "connection or the previous answer); then the connection is closed.",
    )
    body_timeout: float = Field(
        default=5.0, gt=0, le=120,
        description="Seconds a client has to send the whole request body once its headers are in; then 408.",
    )
    max_connections: int = Field(
        default=1000, ge=10, le=100_000,
        description="Open connections one worker process holds at once; more wait in the listen queue.",
    )
    cert_fetch_timeout: float = Field(
        default=2.0, gt=0, le=10,
        description="Wall-clock seconds for a whole certificate-chain fetch, however slowly the server drips.",
    )
    cert_max_bytes: int = Field(
        default=64 * 1024, ge=4096, le=1024 * 1024, description="Largest certificate chain fetched."
    )
    cert_fetches_per_minute: int = Field(
        default=10, ge=1, le=1000,
        description="New certificate URLs fetched per minute per worker; requests beyond get 400 without a fetch.",
    )
    cert_failure_ttl: float = Field(
        default=30.0, ge=0, le=3600,
        description="Seconds a failed certificate URL is remembered and refused without fetching it again.",
    )
    cert_fetch_base: str | None = Field(
        default=None,
        description="Tests and attack drills only: fetch Alexa's certificate paths from this loopback http(s) "
        "base instead of https://s3.amazonaws.com. Any non-loopback value is refused.",
    )
    healthz_cache_seconds: float = Field(
        default=2.0, ge=0, le=60,
        description="Seconds /healthz reuses its last store check, so probes stay cheap.",
    )

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("skill_id")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("cert_fetch_base")
    @classmethod
    def _loopback_only(cls, value: str | None) -> str | None:
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
