"""Structured logs: one JSON object a line, with no user id or spoken words in clear."""
from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import TextIO

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
        # Scrubbed last, over the whole line: a library's message, an exception's text (a requests
        # error names the URL, so the deviceId) and any extra field are all covered.
        return scrub(json.dumps(line, default=str))


# What identifies a person or grants access, wherever a library puts it in a message: Alexa ids,
# the device id in the settings API path (/v2/devices/<id>/settings/...), bearer tokens. Patterns
# are left to re's cache, compiled on first use: a line rarely holds a device path or a token, and
# compiling those two at import cost every cold start ~0.3 ms (the ignore-case one most).
_SECRETS = (
    # (?!REDACTED): capture mode's stable pseudonyms (amzn1.ask.account.REDACTED<hash>) are kept.
    (r"amzn1\.(ask\.)?(account|device|person|user)\.(?!REDACTED)[A-Za-z0-9._\-]+", 0, r"amzn1.\1\2.REDACTED"),
    (r"(/devices/)(?!REDACTED)[^/\s\"'?\\]+", 0, r"\1REDACTED"),
    (r"(Bearer\s+)[A-Za-z0-9._~+/=\-]+", re.IGNORECASE, r"\1REDACTED"),
)
# A lower-case substring every match of the pattern at the same place in _SECRETS contains.
_MARKERS = ("amzn1.", "/devices/", "bearer")
# Libraries whose DEBUG lines carry URLs, headers or request bodies: they speak from WARNING up.
QUIET_LIBRARIES = ("urllib3", "requests", "botocore", "boto3", "s3transfer")


def scrub(text: str) -> str:
    """The text with every user id, device id and token replaced by REDACTED."""
    # Most lines hold none of them: a substring test (~0.1 µs) spares each pattern's scan (~4-8 µs).
    folded = text.lower()
    for (pattern, flags, replacement), marker in zip(_SECRETS, _MARKERS):
        if marker in folded:
            text = re.sub(pattern, replacement, text, flags=flags)
    return text


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log line to stderr (or `stream`) as JSON, ids and tokens scrubbed; called once by each entry point."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        # Even at DEBUG: urllib3 logs each URL, and the settings API's URL holds the raw deviceId.
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
