"""A real SQLite store that notes every call, so a test can say which reads and writes a request made."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ask_sdk_model import RequestEnvelope

from skill.profile.sqlite_store import SqlitePersistenceAdapter


class RecordingStore(SqlitePersistenceAdapter):
    """The real SQLite adapter, noting every read, write and delete."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: list[str] = []

    def get_attributes(self, request_envelope: RequestEnvelope) -> dict[str, Any]:
        self.calls.append("get")
        return super().get_attributes(request_envelope)

    def save_attributes(self, request_envelope: RequestEnvelope, attributes: dict[str, Any]) -> None:
        self.calls.append("save")
        super().save_attributes(request_envelope, attributes)

    def delete_attributes(self, request_envelope: RequestEnvelope) -> None:
        self.calls.append("delete")
        super().delete_attributes(request_envelope)
