"""DynamoDB persistence (against moto's server on loopback) and how the factory picks a store."""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_model import Context, RequestEnvelope
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.user import User

from skill.profile.factory import make_persistence_adapter
from skill.profile.models import UserProfile
from skill.profile.sqlite_store import SqlitePersistenceAdapter
from skill.settings import Settings

REPO = Path(__file__).resolve().parents[1]
moto_server = pytest.importorskip("moto.server")


def envelope_for(user_id: str) -> RequestEnvelope:
    return RequestEnvelope(context=Context(system=SystemState(user=User(user_id=user_id))))


@pytest.fixture(scope="module")
def dynamodb_endpoint() -> Iterator[str]:
    """A moto server on a free loopback port, standing in for DynamoDB."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, and no real AWS config or credentials file can leak in."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def settings(dynamodb_endpoint: str, fake_aws: None) -> Settings:
    # A table per test keeps tests apart on the one shared server.
    return Settings(
        persistence="dynamodb",
        dynamodb_table=f"bedtime-{uuid.uuid4().hex[:12]}",
        dynamodb_endpoint=dynamodb_endpoint,
        aws_region="eu-west-1",
    )


def scan(settings: Settings) -> list[dict]:
    import boto3

    table = boto3.resource(
        "dynamodb", region_name=settings.aws_region, endpoint_url=settings.dynamodb_endpoint
    ).Table(settings.dynamodb_table)
    return table.scan()["Items"]


def test_what_is_saved_in_dynamodb_reads_back(settings: Settings) -> None:
    store = make_persistence_adapter(settings)
    alice = envelope_for("amzn1.ask.account.ALICE")

    assert store.get_attributes(alice) == {}
    store.save_attributes(alice, {"bedtime": "22:30", "preferred_form": "glycinate"})

    assert store.get_attributes(alice) == {"bedtime": "22:30", "preferred_form": "glycinate"}


def test_forget_me_deletes_the_item(settings: Settings) -> None:
    store = make_persistence_adapter(settings)
    alice, bob = envelope_for("amzn1.ask.account.ALICE"), envelope_for("amzn1.ask.account.BOB")
    store.save_attributes(alice, {"bedtime": "22:30"})
    store.save_attributes(bob, {"bedtime": "21:00"})

    store.delete_attributes(alice)

    assert store.get_attributes(alice) == {}
    assert store.get_attributes(bob) == {"bedtime": "21:00"}


def test_numbers_come_back_as_decimals_and_the_profile_reads_them(settings: Settings) -> None:
    store = make_persistence_adapter(settings)
    alice = envelope_for("amzn1.ask.account.ALICE")
    profile = UserProfile(bedtime="22:30", time_zone="Europe/Dublin", preferred_form="glycinate",
                          preferred_amount_mg=300, reminder_ids=["tok-1"])
    profile.record_dose(date(2026, 11, 1))
    profile.record_dose(date(2026, 11, 2))
    store.save_attributes(alice, profile.to_attributes())

    raw = store.get_attributes(alice)

    assert raw["preferred_amount_mg"] == Decimal("300") and isinstance(raw["preferred_amount_mg"], Decimal)
    assert UserProfile.from_attributes(raw) == profile


def test_the_partition_key_is_the_hashed_user_id(settings: Settings) -> None:
    raw_id = "amzn1.ask.account.AFFZ3SECRETRAWUSERID7Q"
    make_persistence_adapter(settings).save_attributes(envelope_for(raw_id), {"bedtime": "22:30"})

    (item,) = scan(settings)

    assert item["id"] == hashlib.sha256(raw_id.encode()).hexdigest()
    assert "SECRETRAWUSERID" not in repr(item)


def test_an_item_written_by_the_first_release_reads_back_migrated(settings: Settings) -> None:
    store = make_persistence_adapter(settings)
    alice = envelope_for("amzn1.ask.account.ALICE")
    store.save_attributes(alice, {"bedtime": "22:30", "form": "glycinate", "amount": 300, "first_night": "2026-11-01"})

    profile = UserProfile.from_attributes(store.get_attributes(alice))

    assert (profile.preferred_form, profile.preferred_amount_mg, profile.started_on) == (
        "glycinate", 300, date(2026, 11, 1))


def test_a_second_worker_finds_the_table_already_there(settings: Settings) -> None:
    first = make_persistence_adapter(settings)
    first.save_attributes(envelope_for("amzn1.ask.account.ALICE"), {"bedtime": "22:30"})

    second = make_persistence_adapter(settings)  # create_table meets ResourceInUse and carries on

    assert second.get_attributes(envelope_for("amzn1.ask.account.ALICE")) == {"bedtime": "22:30"}


def test_an_unreachable_dynamodb_is_a_persistence_error(fake_aws: None) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(persistence="dynamodb", dynamodb_endpoint=f"http://127.0.0.1:{port}")

    with pytest.raises(PersistenceException):
        make_persistence_adapter(settings)


# -- which store the settings choose ----------------------------------------------------------------


def test_sqlite_is_the_default_and_lives_in_the_data_dir(tmp_path: Path) -> None:
    store = make_persistence_adapter(Settings(data_dir=tmp_path / "data"))

    assert isinstance(store, SqlitePersistenceAdapter)
    assert store.path == tmp_path / "data" / "bedtime.sqlite3"


def test_none_remembers_nothing() -> None:
    assert make_persistence_adapter(Settings(persistence="none")) is None


def test_an_unknown_store_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="persistence: must be one of sqlite, dynamodb, none"):
        Settings(persistence="redis")
    # The factory's own guard, for a value that got past the settings somehow.
    unchecked = Settings()
    object.__setattr__(unchecked, "persistence", "redis")
    with pytest.raises(ValueError, match="unknown persistence 'redis'"):
        make_persistence_adapter(unchecked)


def _run_python(
    code: str, *args: str, env: dict[str, str] | None = None, strict: bool = False
) -> subprocess.CompletedProcess[str]:
    # strict: warnings are errors, as in the test suite (not for boto's own deprecations).
    flags = ["-W", "error"] if strict else []
    return subprocess.run(
        [sys.executable, *flags, "-c", code, *args],
        cwd=REPO,
        env={**(env or os.environ), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_sqlite_cold_path_never_imports_boto3(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from skill.settings import Settings\n"
        "from skill.profile.factory import make_persistence_adapter\n"
        "store = make_persistence_adapter(Settings(persistence='sqlite', data_dir=Path(sys.argv[1])))\n"
        "assert store is not None\n"
        "loaded = sorted(m for m in ('boto3', 'botocore', 'ask_sdk_dynamodb') if m in sys.modules)\n"
        "assert not loaded, f'imported on the sqlite path: {loaded}'\n"
    )

    result = _run_python(code, str(tmp_path), strict=True)

    assert result.returncode == 0, result.stderr


def test_dynamodb_works_without_a_region_in_the_environment(settings: Settings, tmp_path: Path) -> None:
    # ask_sdk_dynamodb builds a boto3 resource when it is imported; that must not need AWS_DEFAULT_REGION.
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_DEFAULT_REGION", "AWS_REGION")}
    env.update(BEDTIME_PERSISTENCE="dynamodb", BEDTIME_DYNAMODB_TABLE=settings.dynamodb_table,
               BEDTIME_DYNAMODB_ENDPOINT=settings.dynamodb_endpoint or "", BEDTIME_AWS_REGION="eu-west-1")
    code = (
        "import os\n"
        "from ask_sdk_model import Context, RequestEnvelope\n"
        "from ask_sdk_model.interfaces.system import SystemState\n"
        "from ask_sdk_model.user import User\n"
        "from skill.settings import Settings\n"
        "from skill.profile.factory import make_persistence_adapter\n"
        "store = make_persistence_adapter(Settings())\n"
        "who = RequestEnvelope(context=Context(system=SystemState(user=User(user_id='u1'))))\n"
        "store.save_attributes(who, {'bedtime': '22:30'})\n"
        "assert store.get_attributes(who) == {'bedtime': '22:30'}\n"
        "assert 'AWS_DEFAULT_REGION' not in os.environ\n"
    )

    result = _run_python(code, env=env)

    assert result.returncode == 0, result.stderr
