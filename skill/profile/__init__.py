"""What the skill remembers (never health data) and the Alexa APIs it schedules reminders with.

The reminders client lives in ``skill.alexa_api`` and is imported from there, so loading
this package stays cheap on a Lambda cold start.
"""
from skill.profile.factory import make_persistence_adapter
from skill.profile.models import FORMS, SCHEMA_VERSION, UserProfile
from skill.profile.sqlite_store import SqlitePersistenceAdapter, hashed_user_id

__all__ = [
    "FORMS",
    "SCHEMA_VERSION",
    "SqlitePersistenceAdapter",
    "UserProfile",
    "hashed_user_id",
    "make_persistence_adapter",
]
