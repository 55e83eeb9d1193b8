"""Structured logs: one JSON object a line, with no user id or spoken words in clear."""
from __future__ import annotations

import json
import logging
import sys
import time

# Extra fields a log call may carry; anything else passed as `extra` is left out on purpose.
FIELDS = ("alexa", "http")


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line that log tools can index."""

    _second = -1
    _stamp = ""

    def _time(self, record: logging.LogRecord) -> str:
        # One strftime per second, not per line: the log is written on every request.
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": self._time(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, dict):
                line.update(value)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["trace"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str = "INFO") -> None:
    """Send every log line to stderr as JSON; called once by each entry point."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
