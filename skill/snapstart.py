"""Lambda SnapStart: what a container restored from a snapshot must not share with its siblings.

With SnapStart on, Lambda runs the entry's initialisation once, when a version is published, takes a
snapshot of that memory, and starts later containers from the snapshot instead of importing again.
Every restored container begins with the same memory, so whatever init made that must differ per
container is made again after the restore: the random state that chooses a wording (else every
container would say the same variants in the same order) and the one behind the retry jitter, and
OpenSSL's random state when TLS is loaded. Connections are dropped on both sides of the snapshot:
none is captured in it, and none made before a restore is reused after it. Credentials need nothing:
with SnapStart the runtime gives container credentials, which botocore refreshes when they expire.

The hooks go through ``snapshot_restore_py``, which the Lambda Python runtime provides (3.12 and
later). Elsewhere it is absent and nothing is registered; the zip carries no copy of it, so a
deployment with SnapStart off (or an older runtime) runs init in every container as before.
"""
from __future__ import annotations

import logging
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

from skill import outbound

log = logging.getLogger(__name__)

# Bytes of fresh entropy mixed into OpenSSL's generator after a restore.
_OPENSSL_ENTROPY = 32


@dataclass(slots=True)
class PerContainer:
    """What the Lambda entry made at init that a restored container must make again."""

    rng: random.Random  # the wording chooser the skill was built with
    seed: int | None = None  # BEDTIME_SEED: answers meant to repeat start again from it; None draws from os.urandom
    persistence: object | None = None  # the store; one with ``forget_connections`` drops its pooled connections
    prime: Callable[[], None] | None = None  # work done before the snapshot so restored containers skip it
    restores: int = 0  # for the log line and the tests

    def before_snapshot(self) -> None:
        """Run once, before Lambda takes the snapshot: warm what the first answer would load, hold no connection."""
        if self.prime is not None:
            try:
                self.prime()
            except Exception:  # a failed warm-up only costs the first answer its time; it must not stop the publish
                log.warning("warming up before the snapshot failed; the first answer will load what it needs", exc_info=True)
        self._forget_connections()

    def after_restore(self) -> None:
        """Run in each restored container before its first request: new random state, no inherited connection."""
        self.rng.seed(self.seed)  # None: from os.urandom, so each container differs
        random.seed()  # the module's own generator: the retry jitter in skill.services
        ssl = sys.modules.get("ssl")  # loaded by botocore; never imported here just for this
        if ssl is not None:
            ssl.RAND_add(os.urandom(_OPENSSL_ENTROPY), float(_OPENSSL_ENTROPY))
        self._forget_connections()
        self.restores += 1
        log.info("restored from a SnapStart snapshot: random state and connections made afresh")

    def _forget_connections(self) -> None:
        outbound.forget_connections()
        forget = getattr(self.persistence, "forget_connections", None)
        if callable(forget):
            forget()


def install(container: PerContainer) -> bool:
    """Register the container's hooks when the runtime offers SnapStart's; return whether it did."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False  # not Lambda's Python 3.12+ runtime: no snapshot is ever taken here
    register_before_snapshot(container.before_snapshot)
    register_after_restore(container.after_restore)
    return True
