"""The gunicorn worker `bedtime-skill serve` runs: gevent, reading every request against deadlines.

It serves one question: can a client that sends slowly (a byte of header or body at a time)
keep others from being answered? Under gevent each connection is a greenlet, so a slow client
holds only that; on top of that this worker gives each request a wall-clock deadline for its
line and headers (`header_timeout`, then the connection is closed) and for its whole body
(`body_timeout`, then 408), and buffers the body before the app sees it, so the app never
blocks on a client. Imported by gunicorn in the server process only, never on the Lambda path.
"""
from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable, Iterable
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventWorker

from skill.web.server import Limits

StartResponse = Callable[..., Any]


class _Closing(list):  # type: ignore[type-arg]
    """A one-chunk response body that hangs up once it has been sent.

    The request it answers was not read whole, so the connection cannot carry another; gunicorn
    ignores a "Connection: close" set by the app, but calls close() on the body after writing it.
    """

    def __init__(self, data: bytes, sock: socket.socket | None) -> None:
        super().__init__([data])
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone


def _answer(environ: dict[str, Any], start_response: StartResponse, status: str, reason: str) -> Iterable[bytes]:
    """A JSON error like the app's own, then the connection closes: its request was not read whole."""
    data = json.dumps({"error": reason}).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), ("Connection", "close")],
    )
    return _Closing(data, environ.get("gunicorn.socket"))


class BufferedBody:
    """WSGI middleware: read the whole body within `body_timeout` and hand the app an in-memory copy."""

    def __init__(self, app: Callable[..., Any], limits: Limits) -> None:
        self.app = app
        self.limits = limits

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _answer(environ, start_response, "400 Bad Request", "bad request")
        if not length and not chunked:
            return self.app(environ, start_response)
        cap = self.limits.max_body_bytes
        if length > cap:
            return _answer(environ, start_response, "413 Request Entity Too Large", "request entity too large")
        body: bytes | None = None
        # gevent.Timeout is wall clock over every read: a client dripping a byte at a time is cut.
        with gevent.Timeout(self.limits.body_timeout, False):
            body = environ["wsgi.input"].read(length if length else cap + 1)
        if body is None:
            return _answer(environ, start_response, "408 Request Timeout", "request timeout")
        if len(body) > cap:
            return _answer(environ, start_response, "413 Request Entity Too Large", "request entity too large")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.app(environ, start_response)


class DeadlineWorker(GeventWorker):
    """gunicorn's gevent worker with a header deadline of its own and a buffered, deadlined body."""

    def _limits(self) -> Limits:
        return getattr(self.app, "limits", None) or Limits()

    def timeout_ctx(self) -> gevent.Timeout:
        # gunicorn wraps reading each request's line and headers in this; on expiry the connection closes.
        return gevent.Timeout(self._limits().header_timeout, False)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi: Any = BufferedBody(self.wsgi, self._limits())
