"""A lock other processes honour: one of them does a slow job (training, a build) while the others wait to reuse it."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if sys.platform != "win32":
    import fcntl


@contextmanager
def exclusive(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the ``with`` block; yield whether
    it is held. With ``wait=False`` a lock another process holds is not waited for: the block gets False.

    Without advisory locks (Windows) every lock is held at once: each process then does the job itself,
    which is slower but still right as long as results are written whole (write aside, then rename).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if sys.platform != "win32":
            try:
                # Released when the file is closed, even if the process dies.
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        yield True
