"""How calls to the Alexa APIs fail, in the few kinds a handler answers differently.

Apart from the client (`skill.alexa_api`) so handlers can name the errors without importing the HTTP
stack on every cold start; the client is loaded only when a turn calls an API.
"""
from __future__ import annotations

from typing import Literal

ErrorKind = Literal["no_permission", "rate_limited", "unavailable", "timeout", "bad_request"]


class ReminderError(Exception):
    """Why a reminder (or settings) call failed.

    ``maybe_done`` marks an outcome that is unknown rather than a failure: the request may have
    reached the API and done its work (a timeout after sending, a 500, a success that could not be
    read). A create that ends so may have made the reminder.
    """

    def __init__(self, kind: ErrorKind, message: str, status: int | None = None, *, maybe_done: bool = False) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.status = status
        self.maybe_done = maybe_done

    def __repr__(self) -> str:
        return (f"ReminderError(kind={self.kind!r}, status={self.status!r}, maybe_done={self.maybe_done!r}, "
                f"message={str(self)!r})")
