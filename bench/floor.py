"""A second cold-start baseline: the hello skill plus the libraries the design requires.

The skill must validate its settings and content with pydantic and read settings through
pydantic-settings (both in the architecture). This baseline imports and uses exactly those on top
of hello, so "skill vs floor" shows what the skill's own code costs at start-up, apart from them.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

import bench.hello as hello


class FloorSettings(BaseSettings):
    """One setting read from the environment, as the skill reads its BEDTIME_* variables."""

    model_config = SettingsConfigDict(env_prefix="FLOOR_")
    locale: str = "en-US"


class FloorEntry(BaseModel):
    """One validated content entry, as the skill validates its sentences."""

    say: list[str] = Field(min_length=1)


SETTINGS = FloorSettings()
ENTRY = FloorEntry(say=[hello.GREETING])


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer like hello."""
    return hello.lambda_handler(event, context)
