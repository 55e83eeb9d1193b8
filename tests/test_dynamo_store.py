"""DynamoDB persistence (against moto's server on loopback) and how the factory picks a store."""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
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
from skill.profile.versions import Snapshot, VersionConflict
from skill.settings import Settings
from tests.moto_dynamodb import dynamodb_endpoint, dynamodb_settings, fake_aws, table_of  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[1]
pytest.importorskip("moto.server")


def envelope_for(user_id: str) -> RequestEnvelope:
    return RequestEnvelope(context=Context(system=SystemState(user=User(user_id=user_id))))


@pytest.fixture
def settings(dynamodb_endpoint: str, fake_aws: None) -> Settings:
    return dynamodb_settings(dynamodb_endpoint)


def scan(settings: Settings) -> list[dict]:
    return table_of(settings).scan()["Items"]


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
                          preferred_amount_mg=300, reminder_ids=["tok-1"], count_nights=True)
    profile.count_night(date(2026, 11, 1), at=1_793_566_800)  # 21:00 UTC that evening
    profile.count_night(date(2026, 11, 2), at=1_793_653_200)
    store.save_attributes(alice, profile.to_attributes())

    raw = store.get_attributes(alice)

    assert raw["preferred_amount_mg"] == Decimal("300") and isinstance(raw["preferred_amount_mg"], Decimal)
    assert raw["nights_counted"] == Decimal("2") and raw["count_nights"] is True
    assert raw["last_counted_at"] == Decimal("1793653200")
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


def test_an_item_with_v2s_list_of_nights_reads_back_as_a_count_not_yet_agreed(settings: Settings) -> None:
    store = make_persistence_adapter(settings)
    alice = envelope_for("amzn1.ask.account.ALICE")
    store.save_attributes(alice, {"schema_version": 2, "bedtime": "22:30", "started_on": "2026-11-01",
                                  "dose_nights": ["2026-11-01", "2026-11-02"], "last_routine_night": None})

    profile = UserProfile.from_attributes(store.get_attributes(alice))

    assert (profile.nights_counted, profile.started_on, profile.last_counted_on) == (
        2, date(2026, 11, 1), date(2026, 11, 2))
    assert profile.count_nights is None


def test_a_second_worker_finds_the_table_already_there(settings: Settings) -> None:
    first = make_persistence_adapter(settings)
    first.save_attributes(envelope_for("amzn1.ask.account.ALICE"), {"bedtime": "22:30"})

    second = make_persistence_adapter(settings)  # create_table meets ResourceInUse and carries on

    assert second.get_attributes(envelope_for("amzn1.ask.account.ALICE")) == {"bedtime": "22:30"}


def test_an_unreachable_dynamodb_is_a_warning_at_start_and_a_persistence_error_per_call(
    fake_aws: None, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(persistence="dynamodb", dynamodb_endpoint=f"http://127.0.0.1:{port}")

    store = make_persistence_adapter(settings)  # the skill starts: every turn can still be answered

    assert "could not make sure DynamoDB table" in caplog.text
    with pytest.raises(PersistenceException):
        store.read(envelope_for("amzn1.ask.account.ALICE"))


def test_a_table_that_is_there_is_used_as_it_is(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    make_persistence_adapter(settings).save_attributes(envelope_for("amzn1.ask.account.ALICE"), {"bedtime": "22:30"})

    again = make_persistence_adapter(settings)  # a second container starting: the table exists

    assert again.get_attributes(envelope_for("amzn1.ask.account.ALICE")) == {"bedtime": "22:30"}
    assert "could not make sure" not in caplog.text
    assert table_of(settings).billing_mode_summary["BillingMode"] == "PAY_PER_REQUEST"


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
        "store = make_persistence_adapter(Settings.from_env())\n"
        "who = RequestEnvelope(context=Context(system=SystemState(user=User(user_id='u1'))))\n"
        "store.save_attributes(who, {'bedtime': '22:30'})\n"
        "assert store.get_attributes(who) == {'bedtime': '22:30'}\n"
        "assert 'AWS_DEFAULT_REGION' not in os.environ\n"
    )

    result = _run_python(code, env=env)

    assert result.returncode == 0, result.stderr


# -- versions: a conditional put lands only on the item it was read from ---------------------------------


def test_a_write_at_the_version_read_lands_and_a_stale_one_is_refused(settings: Settings) -> None:
    store = make_persistence_adapter(settings)
    alice = envelope_for("amzn1.ask.account.ALICE")
    seen = store.read(alice)
    assert seen == Snapshot({}, 0)

    assert store.write(alice, {"bedtime": "22:30"}, expected=seen.version) == 1
    with pytest.raises(VersionConflict):
        store.write(alice, {"preferred_form": "glycinate"}, expected=seen.version)

    assert store.read(alice) == Snapshot({"bedtime": "22:30"}, 1)
    (item,) = scan(settings)
    assert item["version"] == 1


def test_an_item_without_a_version_reads_as_zero_and_the_sdk_save_moves_it_on(settings: Settings) -> None:
    store = make_persistence_adapter(settings)
    alice = envelope_for("amzn1.ask.account.ALICE")
    store.inner.save_attributes(alice, {"bedtime": "22:30"})  # ask-sdk's own put: no version, as before this release

    assert store.read(alice) == Snapshot({"bedtime": "22:30"}, 0)
    store.save_attributes(alice, {"bedtime": "23:00"})
    store.save_attributes(alice, {"bedtime": "23:15"})

    assert store.read(alice) == Snapshot({"bedtime": "23:15"}, 2)
    with pytest.raises(VersionConflict):
        store.write(alice, {"bedtime": "21:00"}, expected=0)


def test_a_newer_schemas_fraction_is_stored_as_a_number(settings: Settings) -> None:
    store = make_persistence_adapter(settings)
    alice = envelope_for("amzn1.ask.account.ALICE")
    profile = UserProfile.from_attributes({"schema_version": 5, "bedtime": "22:30", "sleep_score": 7.5})

    store.write(alice, profile.to_attributes(), expected=0)

    assert UserProfile.from_attributes(store.get_attributes(alice)).to_attributes()["sleep_score"] == 7.5


def test_a_missing_table_is_a_persistence_error_for_every_operation(settings: Settings) -> None:
    store = make_persistence_adapter(settings)
    table_of(settings).delete()
    alice = envelope_for("amzn1.ask.account.ALICE")

    for operation in (lambda: store.read(alice), lambda: store.write(alice, {"bedtime": "22:30"}, 0),
                      lambda: store.save_attributes(alice, {}), lambda: store.delete_attributes(alice)):
        with pytest.raises(PersistenceException):
            operation()
