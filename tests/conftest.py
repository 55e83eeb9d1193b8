"""Shared test fixtures: a real skill, and conversations with it through real request envelopes."""
from __future__ import annotations

import io
import logging
import os
import random
import shutil
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from skill.builder import build_skill
from skill.logs import configure
from skill.profile.sqlite_store import SqlitePersistenceAdapter
from skill.runtime import SkillRunner
from skill.services import Services
from skill.settings import Settings
from skill_tools.locks import exclusive
from skill_tools.simulator.device import CACHE_ENV as DEVICE_CACHE_ENV
from tests.alexa_api_stub import AlexaApiStub, alexa_api  # noqa: F401 - a fixture for every test module
from tests.conversation import Conversation

# No per-example deadline or too-slow check: tests never judge wall-clock time, and a 2-core machine under load made a
# hypothesis example take over the default 200 ms and fail a correct test.
hypothesis_settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("suite")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "requests"


# `make test-fast` skips these (`-m "not slow"`): tests that start processes or servers, build or pip-install
# the package, drive a browser, train the device-mode models or score whole phrase-bank halves. `make test`
# and CI run everything.
SLOW_MODULES = frozenset({
    "test_attack", "test_bench_smoke", "test_console_browser", "test_installed_copy", "test_lambda",
    "test_lambda_imports", "test_loadtest", "test_server", "test_slow_alexa_api", "test_device_nlu",
    "test_phrasebank", "test_gate_grid", "test_cli", "test_healthz", "test_deploy_stack", "test_deploy_manifest",
    "test_settings_readers", "test_cert_fetch", "test_same_instant", "test_dynamo_store", "test_new_intent",
})
SLOW_TESTS = frozenset({
    "test_example_phrases_are_things_the_model_understands", "test_the_model_passes_the_linter",
    "test_the_projects_real_package_passes", "test_cross_validated_accuracy_on_the_real_model_is_high_and_the_threshold_fits",
    "test_conversations_hop_between_the_workers_of_a_real_server",
    "test_the_dynamodb_store_drops_its_pooled_connections_and_keeps_working",
    "test_what_the_first_answer_would_load_is_loaded_before_the_snapshot",
    "test_reads_go_on_while_a_write_waits_for_a_lock_held_by_another_process",
})


def pytest_configure(config: pytest.Config) -> None:
    # Device mode trains for 10-20 s in each process that asks for it; kept in pytest's cache, one xdist
    # worker trains while the other waits and loads it, and later runs load it (until the model or the code changes).
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider: each process trains
    if cache is not None and not os.environ.get(DEVICE_CACHE_ENV):
        try:
            os.environ[DEVICE_CACHE_ENV] = str(cache.mkdir("device-nlu"))
        except OSError:  # a checkout pytest cannot write its cache in: each process trains
            pass


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        if module in SLOW_MODULES or getattr(item, "originalname", item.name) in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


def once_per_run(tmp_path_factory: pytest.TempPathFactory, jobs: Mapping[str, Callable[[Path], object]]) -> dict[str, Path]:
    """A folder for each of ``jobs`` (name -> make), each made once per test run and shared by the xdist
    workers (a build that takes 10 s is not done again by each worker it lands on).

    A worker makes a job no other worker has started; while others make the rest, it waits for them.
    Two workers arriving together so make two jobs at once rather than one making both while the other
    waits. What is made must not be changed by the tests that read it. A make that fails leaves nothing,
    and the next worker tries again (and fails the same way).
    """
    base = tmp_path_factory.getbasetemp()
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # xdist: pytest-N/popen-gwK
    folders = {name: run / "once" / name for name in jobs}

    def made(name: str) -> None:  # under the job's lock
        folder = folders[name]
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            jobs[name](folder)
            (folder / ".made").touch()

    pending = list(jobs)
    for wait in (False, True):  # first what nobody is making, then wait for the others' jobs
        for name in list(pending):
            with exclusive(folders[name].with_name(f"{name}.lock"), wait=wait) as held:
                if held:
                    made(name)
                    pending.remove(name)
    return folders


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a test: verification off, data in a temp dir, no environment leaking in."""
    # alexa_api off: no test reaches for the real Alexa API; the ones that need it use the loopback stand-in.
    return Settings(_env_file=None, verify_signature=False, data_dir=tmp_path, persistence="none", seed=7,
                    alexa_api=False)


class Clock:
    """A clock tests can set and move; 21:30 in New York on 26 November 2026 to begin with."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 2, 30, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def local(self, hour: int, minute: int = 0, days: int = 0) -> None:
        """Set the time as New York sees it (UTC-5 in November)."""
        base = datetime(2026, 11, 26, hour, minute, tzinfo=timezone(timedelta(hours=-5))) + timedelta(days=days)
        self.now = base.astimezone(timezone.utc)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def talk(settings: Settings, clock: Clock) -> Conversation:
    """A conversation with the real skill; it records which content keys were spoken."""
    said: list[str] = []
    services = Services(clock=clock, alexa_api=False)
    skill = build_skill(settings, rng=random.Random(7), on_say=said.append, services=services)
    return Conversation(SkillRunner(skill), said)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlitePersistenceAdapter]:
    """A real SQLite file, as `make run` uses."""
    adapter = SqlitePersistenceAdapter(tmp_path / "bedtime.sqlite3")
    yield adapter
    adapter.close()


def night_skill(settings: Settings, store: SqlitePersistenceAdapter, clock: Clock, said: list[str]) -> SkillRunner:
    """The skill as a server runs it: SQLite, the Alexa APIs on, a clock the test controls."""
    services = Services(clock=clock, alexa_api=True, api_allow_loopback=True)  # the loopback stand-in
    return SkillRunner(build_skill(settings, persistence=store, rng=random.Random(3), on_say=said.append,
                                   services=services))


@pytest.fixture
def night(settings: Settings, store: SqlitePersistenceAdapter, clock: Clock, alexa_api: AlexaApiStub) -> Conversation:
    """A person at bedtime: remembered between sessions, with the Alexa API stand-in on loopback."""
    said: list[str] = []
    alexa_api.default_time_zone = "America/New_York"  # the device's setting, read through the API
    return Conversation(night_skill(settings, store, clock, said), said, api_endpoint=alexa_api.endpoint)


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The real log set-up at DEBUG, writing to a buffer the test reads; put back as it was afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in ("urllib3", "requests", "botocore")})
    stream = io.StringIO()
    configure("DEBUG", stream)
    try:
        yield stream
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
