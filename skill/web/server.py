"""Production serving: a WSGI app under gunicorn, started from `bedtime-skill serve`."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from skill.settings import Settings


def gunicorn_options(host: str, port: int, workers: int = 2, threads: int = 4) -> dict[str, Any]:
    """How the skill is served; the benchmarks serve their baselines with exactly these."""
    return {
        "bind": f"{host}:{port}",
        "workers": max(1, workers),
        "threads": max(1, threads),
        "worker_class": "gthread",
        "timeout": 30,
        "graceful_timeout": 5,
        "accesslog": None,
        "loglevel": "warning",
        "limit_request_line": 4094,
    }


class Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn with its options given in code, not from a config file or argv.

    `factory` runs in each worker after the fork, so no SQLite handle crosses processes.
    """

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._factory()


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int = 2,
    threads: int = 4,
    factory: Callable[[], Any] | None = None,
) -> None:
    """Run until stopped: `workers` processes with `threads` threads each.

    `factory` builds the app in each worker; the developer tools pass one that adds the console.
    """
    from skill.web import create_app

    Gunicorn(factory or (lambda: create_app(settings)), gunicorn_options(host, port, workers, threads)).run()
