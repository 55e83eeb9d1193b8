"""The embedded default store: ask-sdk persistent attributes in one SQLite file.

Safe for several gunicorn worker processes and threads at once: WAL journal, a busy timeout, one
short IMMEDIATE transaction per save and one connection per thread (and per process, so a forked
worker never reuses its parent's connection).
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException

from skill.digest import sha256_hex

if TYPE_CHECKING:
    from ask_sdk_model import RequestEnvelope

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS user_attributes (
    user_key   TEXT PRIMARY KEY,  -- SHA-256 hex of the Alexa userId; the raw id is never stored
    attributes TEXT NOT NULL,     -- JSON object
    updated_at TEXT NOT NULL      -- ISO 8601, UTC
)
"""

_UPSERT = """
INSERT INTO user_attributes (user_key, attributes, updated_at) VALUES (?, ?, ?)
ON CONFLICT (user_key) DO UPDATE SET attributes = excluded.attributes, updated_at = excluded.updated_at
"""


def hashed_user_id(request_envelope: RequestEnvelope) -> str:
    """Return the key a person is stored under: the SHA-256 hex of their Alexa userId."""
    try:
        user_id = request_envelope.context.system.user.user_id
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
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


class SqlitePersistenceAdapter(AbstractPersistenceAdapter):
    """Keeps each person's attributes as a JSON row keyed by their hashed user id."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._inherited: list[sqlite3.Connection] = []

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
        key = hashed_user_id(request_envelope)
        try:
            row = self._connection().execute(
                "SELECT attributes FROM user_attributes WHERE user_key = ?", (key,)
            ).fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise PersistenceException(f"could not read attributes from {self.path}: {exc}") from exc
        if row is None:
            return {}
        try:
            attributes = json.loads(row[0])
        except (TypeError, ValueError):
            log.warning("stored attributes for user %s… are not valid JSON; treating as empty", key[:8])
            return {}
        if not isinstance(attributes, dict):
            log.warning("stored attributes for user %s… are not a JSON object; treating as empty", key[:8])
            return {}
        return attributes

    def save_attributes(self, request_envelope: RequestEnvelope, attributes: dict[str, Any]) -> None:
        """Store this person's attributes, replacing what was there, in one transaction."""
        key = hashed_user_id(request_envelope)
        try:
            text = json.dumps(attributes, default=_json_default, separators=(",", ":"), sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise PersistenceException(f"attributes cannot be stored as JSON: {exc}") from exc
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._write(_UPSERT, (key, text, now))

    def delete_attributes(self, request_envelope: RequestEnvelope) -> None:
        """Forget everything stored for this person."""
        self._write("DELETE FROM user_attributes WHERE user_key = ?", (hashed_user_id(request_envelope),))

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        """Run one statement in its own IMMEDIATE transaction (takes the write lock up front, so
        concurrent writers wait on busy_timeout instead of failing on a lock upgrade)."""
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(sql, params)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            raise PersistenceException(f"could not write attributes to {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None
