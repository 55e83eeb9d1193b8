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
        False, description="Log each request envelope (ids and tokens removed) so it can be replayed. Debugging only."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = spec("INFO", description="Log level.")
    seed: int | None = spec(None, description="Seed for choosing spoken variants; set it to make answers repeatable.")

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
