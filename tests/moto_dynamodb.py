"""A moto server on loopback standing in for DynamoDB, and fake AWS credentials; fixtures for any test module."""
from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skill.settings import Settings

ATOMIC_OPERATIONS = ("get_item", "put_item", "update_item", "delete_item", "transact_write_items")


@pytest.fixture(scope="module")
def dynamodb_endpoint() -> Iterator[str]:
    """A moto server on a free loopback port, standing in for DynamoDB.

    DynamoDB checks a ConditionExpression and writes as one atomic step; moto's threaded server does
    not (two conditional puts at the same instant can both pass). The backend's item operations are
    serialised here so the stand-in keeps the guarantee the skill's versioned writes rely on.
    """
    moto_server = pytest.importorskip("moto.server")
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    originals = {name: getattr(DynamoDBBackend, name) for name in ATOMIC_OPERATIONS}

    def atomic(operation: Any) -> Any:
        @functools.wraps(operation)
        def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return operation(*args, **kwargs)

        return one_at_a_time

    for name, operation in originals.items():
        setattr(DynamoDBBackend, name, atomic(operation))
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, operation in originals.items():
            setattr(DynamoDBBackend, name, operation)


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, and no real AWS config or credentials file can leak in."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


def dynamodb_settings(endpoint: str, **overrides: object) -> Settings:
    """Settings for DynamoDB on the moto server; a table per test keeps tests apart on the one server."""
    return Settings(
        _env_file=None,
        persistence="dynamodb",
        dynamodb_table=f"bedtime-{uuid.uuid4().hex[:12]}",
        dynamodb_endpoint=endpoint,
        aws_region="eu-west-1",
        **overrides,  # type: ignore[arg-type]
    )


def table_of(settings: Settings):  # type: ignore[no-untyped-def]
    """The boto3 Table the settings name, for a test to look at (or break) directly."""
    import boto3

    return boto3.resource(
        "dynamodb", region_name=settings.aws_region, endpoint_url=settings.dynamodb_endpoint
    ).Table(settings.dynamodb_table)
