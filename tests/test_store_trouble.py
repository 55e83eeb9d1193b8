"""When the store fails, the person still gets their answers (issue 11: storage trouble degrades, never kills).

The same night is played against a store that cannot be read or written: a real read-only SQLite
file, a corrupt one, a locked one, and DynamoDB (moto's server) with the table gone. Launch, help,
questions, the routine and "forget me" are answered as usual; what the person asked to keep is
kept for the session, with one calm line saying it may not be remembered; nothing is the error
apology.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_model import Context, RequestEnvelope
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.user import User

from skill.builder import build_skill
from skill.profile.factory import make_persistence_adapter
from skill.profile.models import UserProfile
from skill.profile.sqlite_store import SqlitePersistenceAdapter
from skill.runtime import SkillRunner
from skill.services import Services
from skill.settings import Settings
from tests.conftest import Clock
from tests.conversation import Conversation
from tests.moto_dynamodb import dynamodb_endpoint, dynamodb_settings, fake_aws, table_of  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[1]
USER = "amzn1.ask.account.TEST"
WHO = RequestEnvelope(context=Context(system=SystemState(user=User(user_id=USER))))


def conversation_on(store: AbstractPersistenceAdapter) -> Conversation:
    """A person talking to the real skill over this store (no Alexa API calls: they are not the subject)."""
    settings = Settings(_env_file=None, verify_signature=False, persistence="none", seed=7, alexa_api=False)
    said: list[str] = []
    services = Services(clock=Clock(), alexa_api=False)
    skill = build_skill(settings, persistence=store, rng=random.Random(7), on_say=said.append, services=services)
    return Conversation(SkillRunner(skill), said, user_id=USER)


def a_night(store: AbstractPersistenceAdapter) -> dict[str, list[str]]:
    """Launch, help, a question, "remember 300 mg of glycinate", the wind-down, then "forget me"."""
    talk = conversation_on(store)
    heard = {
        "launch": talk.launch(),
        "help": talk.ask("AMAZON.HelpIntent"),
        "question": talk.ask_screened("DoseIntent"),
        "remember": talk.ask_screened("SetPreferenceIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate"),
        "wind down": talk.ask("WindDownIntent"),
        "bedtime": talk.ask("SetBedtimeIntent", time="22:30"),
        "next": talk.ask_screened("AMAZON.NextIntent"),
        "yes": talk.ask("AMAZON.YesIntent"),
    }
    talk.ask("ForgetMeIntent")  # a new session: the routine ended it
    heard["forget me"] = talk.ask("AMAZON.YesIntent")
    return {turn: answer.keys for turn, answer in heard.items()}


def assert_the_night_went_on(keys: dict[str, list[str]]) -> None:
    """Every answer as usual; "store.unsaved" where something asked to be kept was not; never the apology."""
    assert all("error" not in said for said in keys.values()), keys
    assert "launch" in keys["launch"] and "help" in keys["help"] and keys["question"]
    assert keys["remember"][:2] == ["preference.saved.both", "store.unsaved"]
    assert keys["wind down"] == ["routine.ask_bedtime"]  # nothing stored could be read
    assert keys["bedtime"][:2] == ["routine.bedtime_saved", "store.unsaved"] and "routine.checkin" in keys["bedtime"]
    assert "routine.dose.yours" in keys["next"]  # 300 mg of glycinate, kept in the session
    assert "routine.goodnight" in keys["yes"]
    assert keys["forget me"] == ["store.not_forgotten"]
    unsaved_in = [turn for turn, said in keys.items() if "store.unsaved" in said]
    assert unsaved_in == ["remember", "bedtime"]  # only where the person asked for something to be kept


# -- a read-only SQLite file -------------------------------------------------------------------------


def play_a_night_on(path: str) -> None:
    """Run in a child process that cannot write ``path``: print what the skill said at each turn."""
    store = SqlitePersistenceAdapter(Path(path))
    print(json.dumps(a_night(store)))


def without_write_permission() -> list[str]:
    """A command prefix under which files marked read-only really are (root ignores the mode bits)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    prefix = [setpriv or "setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--inh-caps=-all", "--"]
    # Dropping capabilities needs CAP_SETPCAP, which some containers do not grant even to root.
    if setpriv is None or subprocess.run([*prefix, "true"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("running as root and unable to drop the capabilities that ignore a read-only mode")
    return prefix


@pytest.fixture
def read_only_file() -> Iterator[Path]:
    """A SQLite file holding this person's bedtime, in a folder nobody may write to."""
    folder = Path(tempfile.mkdtemp(prefix="bedtime-read-only-"))
    path = folder / "bedtime.sqlite3"
    store = SqlitePersistenceAdapter(path)
    store.write(WHO, {"bedtime": "21:45"}, expected=0)
    store.close()
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    try:
        yield path
    finally:
        folder.chmod(stat.S_IRWXU)
        shutil.rmtree(folder)


def test_a_read_only_sqlite_file_never_silences_the_skill(read_only_file: Path) -> None:
    child = subprocess.run(
        [*without_write_permission(), sys.executable, "-c",
         "import sys; from tests.test_store_trouble import play_a_night_on; play_a_night_on(sys.argv[1])",
         str(read_only_file)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == 0, child.stderr

    assert_the_night_went_on(json.loads(child.stdout.strip().splitlines()[-1]))
    assert "readonly database" in child.stderr  # the store really refused (logged as a warning)
    assert "Traceback" not in child.stderr


# -- a corrupt SQLite file -----------------------------------------------------------------------------


def test_a_corrupt_sqlite_file_never_silences_the_skill(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "bedtime.sqlite3"
    path.write_bytes(b"this is not a database, it is what a full disk left behind" * 100)
    store = SqlitePersistenceAdapter(path)
    try:
        assert_the_night_went_on(a_night(store))
    finally:
        store.close()
    assert "not a database" in caplog.text


# -- DynamoDB with its table gone ------------------------------------------------------------------------


def test_dynamodb_without_its_table_never_silences_the_skill(
    dynamodb_endpoint: str, fake_aws: None, caplog: pytest.LogCaptureFixture  # noqa: F811 - fixtures
) -> None:
    settings = dynamodb_settings(dynamodb_endpoint)
    store = make_persistence_adapter(settings)
    assert store is not None
    table_of(settings).delete()  # as if the template never made it, or it was deleted

    assert_the_night_went_on(a_night(store))
    assert "ResourceNotFoundException" in caplog.text


# -- a locked SQLite file: read, but not written, and then written again ------------------------------------


def test_while_the_store_is_locked_changes_live_in_the_session_and_are_saved_once_it_frees(tmp_path: Path) -> None:
    path = tmp_path / "bedtime.sqlite3"
    store = SqlitePersistenceAdapter(path)
    store.write(WHO, {"bedtime": "22:30"}, expected=0)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock (reads still work: WAL)
    try:
        talk = conversation_on(store)
        talk.launch()  # U: open bedtime magnesium (one session: what could not be saved lives in it)
        # U: remember that I take 300 milligrams of glycinate   (the write waits for the lock, then gives up)
        a = talk.ask_screened("SetPreferenceIntent", amount="300", unit="mg:milligrams", form="glycinate:glycinate")
        assert a.said("preference.saved.both", "store.unsaved") and not a.said("error")
        # U: start my wind-down  (the stored bedtime is read)   U: next  (the preference from the session)
        assert talk.ask("WindDownIntent").said("routine.checkin")
        assert talk.ask_screened("AMAZON.NextIntent").said("routine.dose.yours")
        assert UserProfile.from_attributes(store.get_attributes(WHO)).preferred_form is None
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    # U: I took my magnesium   A: ... keep count of your nights?
    # U: yes  (the lock is gone: tonight is counted, and the preference is stored with it)
    talk.ask("DoseTakenIntent")
    a = talk.ask("AMAZON.YesIntent")
    assert a.said("count.agreed", "dose_taken.first") and not a.said("store.unsaved")

    profile = UserProfile.from_attributes(store.get_attributes(WHO))
    assert (profile.bedtime, profile.preferred_form, profile.preferred_amount_mg) == ("22:30", "glycinate", 300)
    assert (profile.count_nights, profile.nights_counted) == (True, 1)
    store.close()


def test_a_store_that_fails_only_on_reads_still_saves_changes_onto_the_stored_row(
    tmp_path: Path,
) -> None:
    class FlakyReads(SqlitePersistenceAdapter):
        """Fails the first read of each request (a throttled read), then works."""

        fail_next = True

        def read(self, request_envelope: RequestEnvelope) -> Any:
            if self.fail_next:
                self.fail_next = False
                from ask_sdk_core.exceptions import PersistenceException

                raise PersistenceException("ProvisionedThroughputExceededException")
            return super().read(request_envelope)

    store = FlakyReads(tmp_path / "bedtime.sqlite3")
    store.write(WHO, {"bedtime": "22:30", "preferred_amount_mg": 200}, expected=0)
    talk = conversation_on(store)

    a = talk.ask_screened("SetPreferenceIntent", form="glycinate:glycinate")

    # "I'll remember 200 milligrams of glycinate": what is stored, read again when saving
    assert a.said("preference.saved.both") and "200 milligrams" in a.speech and not a.said("store.unsaved")
    profile = UserProfile.from_attributes(store.get_attributes(WHO))
    # the save read the row again and changed only the form: nothing the first read missed was lost
    assert (profile.bedtime, profile.preferred_amount_mg, profile.preferred_form) == ("22:30", 200, "glycinate")
    store.close()
