"""/healthz tells the truth about the store: a real SQLite file that stops taking writes makes it say 503.

    probe: GET /healthz          store writable      -> 200 {"status": "ok"}
    probe: GET /healthz          file read-only      -> 503 {"status": "unavailable", "error": "store cannot be written"}
    probe: GET /healthz          file corrupted      -> 503, the same
    probe: GET /healthz          writable again      -> 200
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_model import RequestEnvelope
from flask import Flask

from skill.builder import build_skill
from skill.profile.factory import SQLITE_FILE_NAME
from skill.profile.sqlite_store import SqlitePersistenceAdapter
from skill.runtime import SkillRunner
from skill.settings import Settings
from skill.web import create_app
from skill.web.health import StoreProbe

UNAVAILABLE = {"status": "unavailable", "error": "store cannot be written"}


def probe(app: Flask) -> tuple[int, dict[str, Any]]:
    response = app.test_client().get("/healthz")
    return response.status_code, response.get_json()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Flask:
    """The real app with the real SQLite store, checking the store on every probe (no cache)."""
    settings = Settings(_env_file=None, verify_signature=False, data_dir=tmp_path, persistence="sqlite",
                        alexa_api=False, healthz_cache_seconds=0)
    return create_app(settings)


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files and folders unwritable, even for root (the immutable flag), and writable again afterwards."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    # Root writes through any mode bits; the immutable attribute stops it.
    done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make a file read-only for root here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def test_a_writable_store_is_healthy_and_the_check_leaves_nothing_behind(sqlite_app: Flask, tmp_path: Path) -> None:
    import sqlite3

    assert probe(sqlite_app) == (200, {"status": "ok"})
    with sqlite3.connect(tmp_path / SQLITE_FILE_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM user_attributes").fetchone() == (0,)


def test_a_store_that_cannot_be_written_makes_healthz_say_503_until_it_can(sqlite_app: Flask, tmp_path: Path) -> None:
    assert probe(sqlite_app)[0] == 200
    # The database file and its folder; the WAL's side files stay as they are (SQLite maps -shm into
    # memory, and an unwritable mapping is a crash, not a refusal).
    with read_only(tmp_path / SQLITE_FILE_NAME, tmp_path):
        assert probe(sqlite_app) == (503, UNAVAILABLE)
    assert probe(sqlite_app) == (200, {"status": "ok"})


def test_a_corrupt_store_file_makes_healthz_say_503(tmp_path: Path) -> None:
    (tmp_path / SQLITE_FILE_NAME).write_bytes(b"this is not a database, it was overwritten" * 100)
    settings = Settings(_env_file=None, verify_signature=False, data_dir=tmp_path, persistence="sqlite",
                        alexa_api=False, healthz_cache_seconds=0)
    assert probe(create_app(settings)) == (503, UNAVAILABLE)


def test_no_store_at_all_is_healthy(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, verify_signature=False, data_dir=tmp_path, persistence="none", alexa_api=False)
    assert probe(create_app(settings)) == (200, {"status": "ok"})


class CountingStore(SqlitePersistenceAdapter):
    """The real SQLite adapter, counting writes so a test can tell a probe from a cached answer."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.saves = 0

    def save_attributes(self, request_envelope: RequestEnvelope, attributes: dict[str, Any]) -> None:
        self.saves += 1
        super().save_attributes(request_envelope, attributes)


def test_probes_within_the_cache_window_reuse_the_last_answer(tmp_path: Path) -> None:
    now = [100.0]
    store = CountingStore(tmp_path / SQLITE_FILE_NAME)
    checker = StoreProbe(store, cache_seconds=2.0, ticker=lambda: now[0])
    assert [checker.check().ok for _ in range(5)] == [True] * 5
    assert store.saves == 1
    now[0] += 2.5
    assert checker.check().ok and store.saves == 2


def test_the_app_checks_the_store_the_skill_really_uses(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / SQLITE_FILE_NAME)
    settings = Settings(_env_file=None, verify_signature=False, data_dir=tmp_path / "elsewhere", persistence="sqlite",
                        alexa_api=False)
    app = create_app(settings, runner=SkillRunner(build_skill(settings, persistence=store)))
    assert probe(app)[0] == 200 and store.saves == 1


def test_a_dynamodb_store_is_checked_by_a_write_and_a_dead_one_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    import boto3
    from moto.server import ThreadedMotoServer

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    settings = Settings(_env_file=None, verify_signature=False, persistence="dynamodb", alexa_api=False,
                        dynamodb_table=f"bedtime-{uuid.uuid4().hex[:12]}", dynamodb_endpoint=endpoint,
                        aws_region="eu-west-1", healthz_cache_seconds=0)
    try:
        app = create_app(settings)
        assert probe(app) == (200, {"status": "ok"})
        table = boto3.resource("dynamodb", region_name="eu-west-1", endpoint_url=endpoint).Table(settings.dynamodb_table)
        assert table.scan()["Items"] == []  # the sentinel was deleted again
    finally:
        server.stop()
    # The endpoint is gone: every write fails, and the probe says so.
    status, answer = probe(app)
    assert status == 503 and answer["status"] == "unavailable"
