"""Readiness that tells the truth about the store: /healthz writes, reads back and deletes a sentinel.

It serves load balancers and the deploy check. "The process is up" is not enough: a skill whose
store cannot be written loses what people tell it. The check goes through the same persistence
adapter the skill uses (SQLite file or DynamoDB table), under a sentinel key of its own (one per
host and process, so workers never read each other's sentinel), and its answer is reused for
a couple of seconds so probes stay cheap.

Each check runs on a thread of its own: the SQLite adapter keeps a connection per thread, and a
connection opened long ago can keep writing to its WAL after the file has become read-only,
while every new one fails. A fresh thread asks what a new request would meet, and a check that
hangs (a store behind a dead network) is answered at `timeout` instead of holding the probe.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ask_sdk_model import RequestEnvelope
from ask_sdk_model.context import Context
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.user import User

log = logging.getLogger(__name__)

SENTINEL_FIELD = "healthz"


@dataclass(frozen=True)
class Health:
    """One check's answer: ok, and if not, a short reason safe to return as JSON."""

    ok: bool
    reason: str | None = None


def _sentinel_envelope() -> RequestEnvelope:
    user_id = f"bedtime.healthz.{socket.gethostname()}.{os.getpid()}"
    return RequestEnvelope(context=Context(system=SystemState(user=User(user_id=user_id))))


class StoreProbe:
    """Write, read back and delete a sentinel through the persistence adapter; remember the answer briefly."""

    def __init__(self, adapter: Any | None, *, cache_seconds: float = 2.0, timeout: float = 3.0,
                 ticker: Callable[[], float] = time.monotonic) -> None:
        self._adapter = adapter
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._ticker = ticker
        self._lock = threading.Lock()
        self._answer: Health | None = None
        self._expires = 0.0
        self._pid = os.getpid()
        self._envelope: RequestEnvelope | None = None

    def check(self) -> Health:
        """The store's health, from the last check if it is recent enough."""
        if self._adapter is None:
            return Health(True)  # nothing is remembered, so nothing can fail to be
        with self._lock:  # one probe at a time; the others get its answer
            now = self._ticker()
            if self._answer is not None and now < self._expires:
                return self._answer
            self._answer = self._probe_on_a_fresh_thread()
            self._expires = self._ticker() + self._cache_seconds
            return self._answer

    def _probe_on_a_fresh_thread(self) -> Health:
        answers: list[Health] = []
        thread = threading.Thread(target=lambda: answers.append(self._probe()), name="store-check", daemon=True)
        thread.start()
        thread.join(self._timeout)
        if not answers:
            log.warning("store check did not finish in %.1f s", self._timeout)
            return Health(False, "store check timed out")
        return answers[0]

    def _probe(self) -> Health:
        if self._envelope is None or self._pid != os.getpid():  # a forked worker gets its own sentinel
            self._pid, self._envelope = os.getpid(), _sentinel_envelope()
        envelope, token = self._envelope, f"{time.time_ns()}"
        adapter = self._adapter
        if adapter is None:
            return Health(True, None)
        try:
            adapter.get_attributes(envelope)  # as a request would: read, then write what it read
            adapter.save_attributes(envelope, {SENTINEL_FIELD: token})
            if adapter.get_attributes(envelope).get(SENTINEL_FIELD) != token:
                log.warning("store check: the sentinel read back is not the one written")
                return Health(False, "store does not read back what it wrote")
            adapter.delete_attributes(envelope)
        except Exception as exc:  # any failure of the store is the answer, never a 500
            log.warning("store check failed: %s: %s", type(exc).__name__, exc)
            return Health(False, "store cannot be written")
        finally:
            close = getattr(self._adapter, "close", None)
            if callable(close):
                close()  # this thread's connection ends with it
        return Health(True)
