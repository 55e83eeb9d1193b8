"""Choose the persistence adapter the settings ask for; the builder injects whatever this returns."""
from __future__ import annotations

from typing import TYPE_CHECKING

from skill.profile.sqlite_store import SqlitePersistenceAdapter

if TYPE_CHECKING:
    from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter

    from skill.settings import Settings

SQLITE_FILE_NAME = "bedtime.sqlite3"


def make_persistence_adapter(settings: Settings) -> AbstractPersistenceAdapter | None:
    """Return the SQLite adapter, the DynamoDB adapter, or None when nothing should be remembered."""
    if settings.persistence == "sqlite":
        from skill.profile.offload import for_this_process

        runners = for_this_process()  # under a gevent worker, SQLite runs off the event loop
        return SqlitePersistenceAdapter(settings.data_dir / SQLITE_FILE_NAME, reads=runners.reads, writes=runners.writes)
    if settings.persistence == "dynamodb":
        # Imported here so boto3 loads only when DynamoDB is really chosen.
        from skill.profile.dynamo import make_dynamodb_adapter

        return make_dynamodb_adapter(settings)
    if settings.persistence == "none":
        return None
    raise ValueError(f"unknown persistence {settings.persistence!r}; choose sqlite, dynamodb or none")
