"""The per-field merge behind every save: what one request changed is re-applied to the latest row."""
from __future__ import annotations

from skill.profile.versions import apply, changes

BASE = {"bedtime": "22:00", "preferred_form": None, "nights_counted": 3, "last_counted_on": "2026-11-01",
        "reminder_ids": ["old"]}


def test_two_requests_changing_different_fields_both_keep_theirs() -> None:
    mine = {**BASE, "bedtime": "22:30"}  # U (speaker): my bedtime is ten thirty
    theirs = {**BASE, "preferred_form": "glycinate"}  # U (phone), at the same instant: remember glycinate

    merged = apply(changes(BASE, mine), theirs)

    assert merged == {**BASE, "bedtime": "22:30", "preferred_form": "glycinate"}


def test_lists_merge_as_sets_of_additions_and_removals() -> None:
    mine = {**BASE, "reminder_ids": ["new"]}
    theirs = {**BASE, "reminder_ids": ["old", "other"]}

    merged = apply(changes(BASE, mine), theirs)

    assert merged["reminder_ids"] == ["other", "new"]


def test_one_night_counted_by_two_requests_is_counted_once() -> None:
    # U (speaker): I took my magnesium   and, at the same instant,   U (phone): I took my magnesium
    tonight = {**BASE, "nights_counted": 4, "last_counted_on": "2026-11-02"}

    merged = apply(changes(BASE, tonight), tonight)

    assert (merged["nights_counted"], merged["last_counted_on"]) == (4, "2026-11-02")


def test_a_field_this_request_did_not_touch_is_what_the_latest_row_says() -> None:
    mine = dict(BASE)
    theirs = {**BASE, "bedtime": "23:15", "sleep_score": 7}  # a newer release's field too

    assert apply(changes(BASE, mine), theirs) == theirs


def test_clearing_a_value_or_a_list_is_a_change_too() -> None:
    mine = {**BASE, "bedtime": None, "reminder_ids": []}

    found = changes(BASE, mine)
    merged = apply(found, {**BASE, "reminder_ids": ["old", "made-meanwhile"]})

    assert merged["bedtime"] is None
    assert merged["reminder_ids"] == ["made-meanwhile"]
    assert set(found) == {"bedtime", "reminder_ids"}
