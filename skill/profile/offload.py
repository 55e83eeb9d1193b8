"""Where the SQLite store runs its calls: on the caller's thread, or on real threads under gevent.

Serves the gevent worker of `bedtime-skill serve`. There every request is a greenlet on one OS
thread, and a SQLite call blocks that thread in C: one write waiting on a lock held elsewhere
froze every request of the worker for the whole busy timeout (2 s in the third red-team round).
gevent's ThreadPool runs a call on a real thread and parks only the greenlet that asked.

Reads and writes get a pool each, so a read (which WAL never makes wait on a writer) never queues
behind writes stuck on a lock. Plain threads (the Flask dev server, gthread) and Lambda keep the
default: the call runs where it is made.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from skill.profile.sqlite_store import Runner, run_here

T = TypeVar("T")

# Threads per pool. Reads take well under a millisecond; writes may each wait up to the store's
# WRITE_WAIT_MS for a lock, and a write queued longer than that gives up before it starts.
READ_THREADS = 4
WRITE_THREADS = 8


@dataclass(frozen=True, slots=True)
class Runners:
    """The pair of runners a SqlitePersistenceAdapter takes."""

    reads: Runner = run_here
    writes: Runner = run_here


def gevent_patched() -> bool:
    """True in a process whose threading gevent has monkey-patched (the gevent worker)."""
    monkey = sys.modules.get("gevent.monkey")  # never imports gevent where nothing else has
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def _outcome(work: Callable[[], Any]) -> tuple[bool, Any]:
    # Caught on the pool's thread and raised again on the caller's: gevent's pool would otherwise
    # print the traceback of every "database is locked" that the store answers calmly.
    try:
        return True, work()
    except BaseException as exc:  # noqa: BLE001 - handed back whole, not handled here
        return False, exc


def on_pool(pool: Any) -> Runner:
    """A runner that runs each piece of work on `pool` (a gevent ThreadPool) and waits for it."""

    def run(work: Callable[[], T], /) -> T:
        done, value = pool.apply(_outcome, (work,))
        if done:
            return value  # type: ignore[no-any-return]
        raise value

    return run


def for_this_process() -> Runners:
    """Real-thread pools in a gevent-patched process; the caller's thread everywhere else."""
    if not gevent_patched():
        return Runners()
    from gevent.threadpool import ThreadPool

    return Runners(reads=on_pool(ThreadPool(READ_THREADS)), writes=on_pool(ThreadPool(WRITE_THREADS)))
