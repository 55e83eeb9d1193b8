"""Production serving: a WSGI app under gunicorn, started from `bedtime-skill serve`.

gunicorn's gthread workers read a request with no deadline, so a handful of clients sending a
byte at a time hold every thread. The default worker here (skill.web.worker.DeadlineWorker) is
gevent-based: a slow client holds one greenlet, and its headers and body each get a wall-clock
deadline. Limits come from settings (BEDTIME_HEADER_TIMEOUT, BEDTIME_BODY_TIMEOUT,
BEDTIME_MAX_CONNECTIONS, BEDTIME_MAX_BODY_BYTES).
"""
from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from skill.fields import slots
from skill.settings import Settings

DEADLINE_WORKER = "skill.web.worker.DeadlineWorker"
# Options that are ours, not gunicorn's: the worker reads them from the application object.
_LIMIT_KEYS = ("header_timeout", "body_timeout", "max_body_bytes")


def _default(name: str) -> Any:
    return slots(Settings)[name].field.default


@dataclass(frozen=True)
class Limits:
    """How long and how much a client may take to send one request (see the BEDTIME_* settings)."""

    header_timeout: float = _default("header_timeout")
    body_timeout: float = _default("body_timeout")
    max_body_bytes: int = _default("max_body_bytes")


def _close_logging(server: Any, worker: Any) -> None:
    """gunicorn's worker_exit hook: close the worker's log handlers while gevent still runs.

    Otherwise logging drops them at interpreter teardown, through gevent's patched threading after
    gevent's module is gone: two "Exception ignored ... TypeError" tracebacks on every clean stop.
    """
    import logging

    logging.shutdown()  # flush and close every handler, as interpreter exit would
    # Each handler ever made is in this list through a weakref whose callback takes logging's lock when
    # the handler is freed; at teardown that lock is gevent's, gone by then. Closed handlers need no
    # callback, so the refs are dropped here, while the process can still take the lock.
    with logging._lock:  # type: ignore[attr-defined]
        logging._handlerList.clear()  # type: ignore[attr-defined]


def gunicorn_options(
    host: str,
    port: int,
    workers: int = 2,
    threads: int = 4,
    *,
    worker_class: str = "gevent",
    header_timeout: float | None = None,
    body_timeout: float | None = None,
    max_body_bytes: int | None = None,
    max_connections: int | None = None,
) -> dict[str, Any]:
    """How the skill is served; the benchmarks serve their baselines with exactly these.

    `threads` matters only to the gthread worker; the gevent worker runs a greenlet per connection.
    """
    header = header_timeout if header_timeout is not None else _default("header_timeout")
    return {
        "bind": f"{host}:{port}",
        "workers": max(1, workers),
        "threads": max(1, threads),
        "worker_class": DEADLINE_WORKER if worker_class == "gevent" else "gthread",
        "worker_connections": max_connections or _default("max_connections"),
        # The gevent worker bounds headers with header_timeout itself; keepalive must only be non-zero.
        "keepalive": max(1, int(header)),
        "timeout": 30,
        "graceful_timeout": 5,
        "accesslog": None,
        "loglevel": "warning",
        "limit_request_line": 4094,
        "limit_request_fields": 50,
        "limit_request_field_size": 8190,
        "header_timeout": header,
        "body_timeout": body_timeout if body_timeout is not None else _default("body_timeout"),
        "max_body_bytes": max_body_bytes or _default("max_body_bytes"),
        "worker_exit": _close_logging,
    }


def options_from_settings(settings: Settings, host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """gunicorn_options with every limit taken from the settings."""
    return gunicorn_options(
        host,
        port,
        workers,
        threads,
        worker_class=settings.worker_class,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_body_bytes=settings.max_body_bytes,
        max_connections=settings.max_connections,
    )


class Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn with its options given in code, not from a config file or argv.

    `factory` runs in each worker after the fork, so no SQLite handle crosses processes.
    """

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = {k: v for k, v in options.items() if k not in _LIMIT_KEYS}
        self.limits = Limits(**{k: options[k] for k in _LIMIT_KEYS if k in options})
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        app = self._factory()
        # What the app holds now (the skill, its content, the console's compiled model) lives as
        # long as the worker. Frozen, the collector stops walking it: a full collection of the
        # ~120,000 objects took 60-90 ms, a pause some request waited through every few
        # thousand answers; after the freeze it walks only what requests leave behind.
        gc.freeze()
        return app


# Descriptors a worker needs besides its clients: listener, SQLite files, logs, certificate and API fetches.
SPARE_FILES = 256


def fit_open_files(max_connections: int) -> int:
    """Raise this process's open-file limit (its workers inherit it) so each worker can hold
    `max_connections` clients; return the cap that fits, lower when the hard limit is lower.

    Many systems start processes with a soft limit of 1,024 files, so without this a worker could
    not reach its cap: accept() would fail with EMFILE while a flood held every descriptor.
    """
    import logging
    import resource

    wanted = max_connections + SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return max_connections
    reachable = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if reachable > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (reachable, hard))
    cap = reachable - SPARE_FILES
    if cap < max_connections:
        logging.getLogger(__name__).warning(
            "the open-file limit (%d) holds %d connections a worker, not BEDTIME_MAX_CONNECTIONS=%d; "
            "raise the hard limit (ulimit -Hn, LimitNOFILE=) to hold more", reachable, cap, max_connections)
    return max(10, cap)


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int = 2,
    threads: int = 4,
    factory: Callable[[], Any] | None = None,
) -> None:
    """Run until stopped: `workers` processes, each reading requests with the settings' deadlines.

    `factory` builds the app in each worker; the developer tools pass one that adds the console.
    """
    from skill.web import create_app

    options = options_from_settings(settings, host, port, workers, threads)
    options["worker_connections"] = fit_open_files(options["worker_connections"])
    Gunicorn(factory or (lambda: create_app(settings)), options).run()
