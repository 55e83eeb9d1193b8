"""The embedded default store: ask-sdk persistent attributes in one SQLite file.

Safe for several gunicorn worker processes and threads at once: WAL journal, a busy timeout, one
short IMMEDIATE transaction per save and one connection per thread (and per process, so a forked
worker never reuses its parent's connection). Each row has a version: ``write`` stores only if the
row is still at the version that was read (compare-and-swap inside the IMMEDIATE transaction), so
two requests for one person at the same instant cannot overwrite each other.

SQLite's calls block the thread that makes them. Under a gevent worker that thread is the whole
event loop, so the adapter takes two injected runners (``reads``, ``writes``; see
skill.profile.offload) that run each call on a real thread: a lock held elsewhere then delays only
the turns that write, each by at most WRITE_WAIT_MS, and a read never queues behind a stuck write.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException

from skill.digest import sha256_hex
from skill.profile.versions import UNVERSIONED, Snapshot, VersionConflict

if TYPE_CHECKING:
    from ask_sdk_model import RequestEnvelope

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a write waits for another connection's lock. Alexa waits about 8 seconds for a whole
# answer and the Alexa API calls may use 3.5 of them, so a stuck lock must give up well before.
BUSY_TIMEOUT_MS = 2000
# A write's whole wait, from being asked to its lock: time spent queued for a thread counts too.
WRITE_WAIT_MS = BUSY_TIMEOUT_MS


class Runner(Protocol):
    """Runs one piece of store work and returns its result (or raises its exception)."""

    def __call__(self, work: Callable[[], T], /) -> T: ...


def run_here(work: Callable[[], T], /) -> T:
    """The default runner: on the calling thread, as plain threads and Lambda want it."""
    return work()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS user_attributes (
    user_key   TEXT PRIMARY KEY,            -- SHA-256 hex of the Alexa userId; the raw id is never stored
    attributes TEXT NOT NULL,               -- JSON object
    updated_at TEXT NOT NULL,               -- ISO 8601, UTC
    version    INTEGER NOT NULL DEFAULT 0   -- bumped by every write; compared by write()
)
"""

# Files made before rows had versions get the column (their rows read as version 0).
_ADD_VERSION = "ALTER TABLE user_attributes ADD COLUMN version INTEGER NOT NULL DEFAULT 0"

_UPSERT = """
INSERT INTO user_attributes (user_key, attributes, updated_at, version) VALUES (?, ?, ?, 1)
ON CONFLICT (user_key) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at,
    version = user_attributes.version + 1
"""

_PUT_VERSION = """
INSERT INTO user_attributes (user_key, attributes, updated_at, version) VALUES (?, ?, ?, ?)
ON CONFLICT (user_key) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at,
    version = excluded.version
"""


def hashed_user_id(request_envelope: RequestEnvelope) -> str:
    """Return the key a person is stored under: the SHA-256 hex of their Alexa userId."""
    try:
        user_id = request_envelope.context.system.user.user_id  # type: ignore[union-attr]  # a missing part is caught
    except AttributeError as exc:
        raise PersistenceException("the request has no context.System.user.userId to store under") from exc
    if not isinstance(user_id, str) or not user_id:
        raise PersistenceException("the request has an empty userId; nothing can be stored for it")
    return sha256_hex(user_id.encode("utf-8"))


def _json_default(value: Any) -> Any:
    # Handlers should save UserProfile.to_attributes(), but dates and DynamoDB-style Decimals are
    # common enough in attribute dicts that refusing them would only move the bug elsewhere.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"a {type(value).__name__} cannot be stored as JSON")


def _set_up(conn: sqlite3.Connection) -> None:
    """Switch to WAL and create the table, retrying while another connection does the same.

    Switching a new file to WAL upgrades a shared lock to an exclusive one, and SQLite does not run
    the busy handler for a lock upgrade (it could deadlock), so several workers or threads opening a
    fresh file at once can get "database is locked" at once. Seen in CI; retried here with backoff.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable across application crashes in WAL mode; FULL only adds power-loss safety.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(user_attributes)")}
            if "version" not in columns:
                try:
                    conn.execute(_ADD_VERSION)
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):  # another worker added it first: fine
                        raise
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _to_json(attributes: dict[str, Any]) -> str:
    try:
        return json.dumps(attributes, default=_json_default, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise PersistenceException(f"attributes cannot be stored as JSON: {exc}") from exc


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SqlitePersistenceAdapter(AbstractPersistenceAdapter):
    """Keeps each person's attributes as a JSON row keyed by their hashed user id."""

    def __init__(self, path: Path, *, reads: Runner = run_here, writes: Runner = run_here) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._inherited: list[sqlite3.Connection] = []
        self._reads = reads
        self._writes = writes

    def _connection(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it (and the table) on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        if conn is not None:
            # Inherited across fork(): SQLite forbids using it, and closing it here could disturb
            # the parent's file state, so it is parked, never touched again.
            self._inherited.append(conn)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            _set_up(conn)
        except sqlite3.Error:
            conn.close()
            raise
        self._local.conn = conn
        self._local.pid = os.getpid()
        return conn

    def get_attributes(self, request_envelope: RequestEnvelope) -> dict[str, Any]:
        """Return the stored attributes for this person, or {} if there are none (or they are unreadable)."""
        return self.read(request_envelope).attributes

    def read(self, request_envelope: RequestEnvelope) -> Snapshot:
        """Return this person's attributes and the version they are at ({} and 0 when there is no row)."""
        key = hashed_user_id(request_envelope)

        def select() -> Any:
            return self._connection().execute(
                "SELECT attributes, version FROM user_attributes WHERE user_key = ?", (key,)
            ).fetchone()

        try:
            row = self._reads(select)
        except (sqlite3.Error, OSError) as exc:
            raise PersistenceException(f"could not read attributes from {self.path}: {exc}") from exc
        if row is None:
            return Snapshot({}, UNVERSIONED)
        text, version = row
        try:
            attributes = json.loads(text)
        except (TypeError, ValueError):
            log.warning("stored attributes for user %s… are not valid JSON; treating as empty", key[:8])
            return Snapshot({}, version)
        if not isinstance(attributes, dict):
            log.warning("stored attributes for user %s… are not a JSON object; treating as empty", key[:8])
            return Snapshot({}, version)
        return Snapshot(attributes, version)

    def write(self, request_envelope: RequestEnvelope, attributes: dict[str, Any], expected: int) -> int:
        """Store this person's attributes if their row is still at version ``expected``; return the new one."""
        key = hashed_user_id(request_envelope)
        text = _to_json(attributes)

        def compare_and_swap(conn: sqlite3.Connection) -> int:
            # Inside BEGIN IMMEDIATE: nobody can write between this read and the write below.
            row = conn.execute("SELECT version FROM user_attributes WHERE user_key = ?", (key,)).fetchone()
            current = row[0] if row is not None else UNVERSIONED
            if current != expected:
                raise VersionConflict(f"row is at version {current}, not {expected}")
            conn.execute(_PUT_VERSION, (key, text, _now(), expected + 1))
            return expected + 1

        return self._transaction(compare_and_swap)

    def save_attributes(self, request_envelope: RequestEnvelope, attributes: dict[str, Any]) -> None:
        """Store this person's attributes, replacing what was there, in one transaction.

        The ask-sdk contract, kept for its callers; the skill's own saves go through ``write``.
        """
        key = hashed_user_id(request_envelope)
        text = _to_json(attributes)
        self._transaction(lambda conn: conn.execute(_UPSERT, (key, text, _now())))

    def delete_attributes(self, request_envelope: RequestEnvelope) -> None:
        """Forget everything stored for this person."""
        key = hashed_user_id(request_envelope)
        self._transaction(lambda conn: conn.execute("DELETE FROM user_attributes WHERE user_key = ?", (key,)))

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in its own IMMEDIATE transaction (takes the write lock up front, so
        concurrent writers wait on busy_timeout instead of failing on a lock upgrade), on the
        write runner, within WRITE_WAIT_MS of being asked however long it queued for a thread."""
        asked = time.monotonic()

        def transaction() -> T:
            left_ms = WRITE_WAIT_MS - int((time.monotonic() - asked) * 1000)
            if left_ms <= 0:
                raise sqlite3.OperationalError("database is busy: no thread came free in time")
            conn = self._connection()
            conn.execute(f"PRAGMA busy_timeout = {min(left_ms, BUSY_TIMEOUT_MS)}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        try:
            return self._writes(transaction)
        except (sqlite3.Error, OSError) as exc:
            raise PersistenceException(f"could not write attributes to {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None
