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

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
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
