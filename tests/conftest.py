"""Shared test fixtures: a real skill, and conversations with it through real request envelopes."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from skill.builder import build_skill
from skill.runtime import SkillRunner
from skill.settings import Settings
from tests.conversation import Conversation

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "requests"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a test: verification off, data in a temp dir, no environment leaking in."""
    return Settings(_env_file=None, verify_signature=False, data_dir=tmp_path, persistence="none", seed=7)


@pytest.fixture
def talk(settings: Settings) -> Conversation:
    """A conversation with the real skill; it records which content keys were spoken."""
    said: list[str] = []
    skill = build_skill(settings, rng=random.Random(7), on_say=said.append)
    return Conversation(SkillRunner(skill), said)
