"""Production serving: the Flask app under gunicorn, started from `bedtime-skill serve`."""
from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from skill.settings import Settings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn with its options given in code, not from a config file or argv."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from skill.web import create_app

        # Each worker builds its own app after the fork, so no SQLite handle crosses processes.
        return create_app(self._settings)


def serve(settings: Settings, *, host: str, port: int, workers: int = 2, threads: int = 4) -> None:
    """Run until stopped: `workers` processes with `threads` threads each."""
    _Gunicorn(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": max(1, workers),
            "threads": max(1, threads),
            "worker_class": "gthread",
            "timeout": 30,
            "graceful_timeout": 5,
            "accesslog": None,
            "loglevel": "warning",
            "limit_request_line": 4094,
        },
    ).run()
