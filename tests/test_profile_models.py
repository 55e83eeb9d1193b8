"""What the skill remembers about a person, and how it reads back whatever shape was stored."""
from __future__ import annotations

import dataclasses
import json
import logging
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from skill.fields import FieldError, pydantic_reader, read_value, slots
from skill.profile.models import FORMS, SCHEMA_VERSION, UserProfile, read_stored

NOV_1 = date(2026, 11, 1)
HOUR = 3600


def evening(night: date, hour: int = 21) -> int:
    """When "I took it" was said on that night's evening (epoch seconds; UTC stands in for any zone)."""
    return int(datetime.combine(night, time(hour), tzinfo=timezone.utc).timestamp())


# -- "I took my magnesium": counted only after a yes ------------------------------------------------


def counting() -> UserProfile:
    return UserProfile(count_nights=True)


def test_nothing_is_counted_before_the_person_agreed() -> None:
    for answer in (None, False):
        with pytest.raises(ValueError, match="count_nights"):
            UserProfile(count_nights=answer).count_night(NOV_1, evening(NOV_1))


def test_the_first_night_counted_sets_the_count_the_start_and_the_last_night() -> None:
    profile = counting()

    assert profile.count_night(NOV_1, evening(NOV_1)) == 1
    assert (profile.nights_counted, profile.started_on, profile.last_counted_on) == (1, NOV_1, NOV_1)
    assert profile.last_counted_at == evening(NOV_1)


def test_saying_it_twice_on_one_night_counts_once() -> None:
    profile = counting()
    profile.count_night(NOV_1, evening(NOV_1))

    assert profile.count_night(NOV_1, evening(NOV_1, 23)) is None  # "you already told me tonight"
    nov_2 = NOV_1 + timedelta(days=1)
    assert profile.count_night(nov_2, evening(nov_2)) == 2
    assert (profile.nights_counted, profile.started_on, profile.last_counted_on) == (2, NOV_1, nov_2)


def test_within_18_hours_of_the_last_count_it_is_the_same_night_whatever_its_date() -> None:
    profile = counting()
    profile.count_night(NOV_1, evening(NOV_1))  # counted at 21:00 in the default zone's night of 1 November
    nov_2 = NOV_1 + timedelta(days=1)

    # A time zone learned later that evening dates it 2 November: still the night counted.
    assert profile.count_night(nov_2, evening(NOV_1) + 90 * 60) is None
    assert profile.count_night(nov_2, evening(NOV_1) + 18 * HOUR - 1) is None
    assert profile.nights_counted == 1
    # 18 hours on it is a new night, even one whose date a wrong first zone had already used.
    assert profile.count_night(NOV_1, evening(NOV_1) + 18 * HOUR) == 2
    assert profile.last_counted_at == evening(NOV_1) + 18 * HOUR


def test_a_v3_record_without_the_instant_goes_by_the_date_until_the_next_count() -> None:
    profile = UserProfile.from_attributes({"schema_version": 3, "count_nights": True, "nights_counted": 3,
                                           "started_on": "2026-10-30", "last_counted_on": "2026-11-01"})

    assert (profile.schema_version, profile.last_counted_at) == (SCHEMA_VERSION, None)
    assert profile.count_night(NOV_1, evening(NOV_1)) is None  # that night was counted
    assert profile.count_night(NOV_1 - timedelta(days=1), evening(NOV_1)) is None  # and so was an earlier one
    nov_2 = NOV_1 + timedelta(days=1)
    assert profile.count_night(nov_2, evening(nov_2)) == 4
    assert profile.last_counted_at == evening(nov_2)  # from now on, the instant


def test_a_later_night_does_not_move_the_start_date() -> None:
    profile = UserProfile(count_nights=True, started_on=date(2026, 10, 1))

    profile.count_night(NOV_1, evening(NOV_1))

    assert profile.started_on == date(2026, 10, 1)


def test_a_year_of_nights_is_one_number_and_two_dates() -> None:
    profile = counting()
    for day in range(400):
        profile.count_night(NOV_1 + timedelta(days=day), evening(NOV_1 + timedelta(days=day)))

    attributes = profile.to_attributes()
    assert (attributes["nights_counted"], attributes["started_on"], attributes["last_counted_on"]) == (
        400, "2026-11-01", "2027-12-05")
    assert sum(json.dumps(attributes).count(f'"{year}-') for year in (2026, 2027)) == 2  # no list of dates


def test_declining_keeps_only_the_no() -> None:
    profile = UserProfile(bedtime="22:30", count_nights=True, nights_counted=9, started_on=NOV_1,
                          last_counted_on=NOV_1 + timedelta(days=8), last_counted_at=evening(NOV_1 + timedelta(days=8)))

    profile.decline_count()

    assert profile == UserProfile(bedtime="22:30", count_nights=False)


# -- what may be stored ---------------------------------------------------------------------------


def test_a_new_profile_is_empty_and_current() -> None:
    profile = UserProfile()

    assert profile.schema_version == SCHEMA_VERSION == 4
    assert profile.to_attributes() == {
        "schema_version": 4,
        "bedtime": None,
        "time_zone": None,
        "preferred_form": None,
        "preferred_amount_mg": None,
        "count_nights": None,
        "nights_counted": 0,
        "started_on": None,
        "last_counted_on": None,
        "last_counted_at": None,
        "reminder_ids": [],
        "reminder_at": None,
        "paused_step": None,
        "paused_on": None,
        "reminder_claimed_at": None,
    }


@pytest.mark.parametrize(("spoken", "stored"), [("22:30", "22:30"), ("7:05", "07:05"), (" 00:00 ", "00:00")])
def test_a_bedtime_is_kept_as_24_hour_hh_mm(spoken: str, stored: str) -> None:
    assert UserProfile(bedtime=spoken).bedtime == stored


@pytest.mark.parametrize("bad", ["24:00", "22:60", "10pm", "2230", ""])
def test_a_bedtime_that_is_not_a_time_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="bedtime"):
        UserProfile(bedtime=bad)


def test_a_time_zone_must_be_an_iana_name() -> None:
    assert UserProfile(time_zone="Europe/London").time_zone == "Europe/London"
    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "GMT+25", ""):
        with pytest.raises(ValueError, match="time_zone"):
            UserProfile(time_zone=bad)


@pytest.mark.parametrize(("said", "form"), [("glycinate", "glycinate"), ("Magnesium Glycinate", "glycinate"),
                                            ("bisglycinate", "glycinate"), ("L-Threonate", "threonate")])
def test_a_form_is_kept_under_its_plain_name(said: str, form: str) -> None:
    assert UserProfile(preferred_form=said).preferred_form == form


def test_only_the_seven_forms_are_accepted() -> None:
    assert FORMS == ("glycinate", "threonate", "taurate", "citrate", "gluconate", "orotate", "oxide")
    with pytest.raises(ValueError):
        UserProfile(preferred_form="unicorn")


@pytest.mark.parametrize("bad", [0, 2001, -5, True, 300.5])
def test_an_amount_must_be_whole_milligrams_between_1_and_2000(bad: object) -> None:
    with pytest.raises(ValueError):
        UserProfile(preferred_amount_mg=bad)


def test_changes_are_checked_too() -> None:
    profile = UserProfile()

    with pytest.raises(ValueError):
        profile.bedtime = "25:00"
    assert profile.bedtime is None


def test_attributes_are_plain_json() -> None:
    profile = UserProfile(bedtime="22:30", time_zone="Europe/London", preferred_form="citrate",
                          preferred_amount_mg=200, reminder_ids=["tok-1"], count_nights=True)
    profile.count_night(NOV_1, evening(NOV_1))

    attributes = profile.to_attributes()

    assert json.loads(json.dumps(attributes)) == attributes
    assert (attributes["count_nights"], attributes["nights_counted"]) == (True, 1)
    assert attributes["started_on"] == attributes["last_counted_on"] == "2026-11-01"
    assert UserProfile.from_attributes(attributes) == profile


def test_nothing_about_health_is_ever_kept() -> None:
    stored = {"schema_version": 3, "bedtime": "22:00", "conditions": ["kidney"], "medicines": ["ppi"],
              "pregnant": True, "symptoms": "cramps"}

    attributes = UserProfile.from_attributes(stored).to_attributes()

    assert set(attributes) == {field.name for field in dataclasses.fields(UserProfile)}
    assert not {"conditions", "medicines", "pregnant", "symptoms"} & set(attributes)


# -- reading back what was stored -----------------------------------------------------------------


def test_nothing_stored_reads_as_a_new_profile() -> None:
    assert UserProfile.from_attributes(None) == UserProfile()
    assert UserProfile.from_attributes({}) == UserProfile()


def test_dynamodb_decimals_and_iso_dates_read_back() -> None:
    stored = {"schema_version": Decimal("3"), "preferred_amount_mg": Decimal("350"), "count_nights": True,
              "nights_counted": Decimal("2"), "started_on": "2026-11-01", "last_counted_on": "2026-11-02"}

    profile = UserProfile.from_attributes(stored)

    assert profile.preferred_amount_mg == 350 and profile.nights_counted == 2
    assert isinstance(profile.preferred_amount_mg, int) and isinstance(profile.nights_counted, int)
    assert (profile.count_nights, profile.started_on, profile.last_counted_on) == (True, NOV_1, date(2026, 11, 2))


def test_a_v1_profile_is_migrated(caplog: pytest.LogCaptureFixture) -> None:
    v1 = {"bedtime": "22:30", "form": "glycinate", "amount": Decimal("300"), "first_night": "2026-11-01"}

    with caplog.at_level(logging.INFO, logger="skill.profile.models"):
        profile = UserProfile.from_attributes(v1)

    assert profile.schema_version == SCHEMA_VERSION
    assert (profile.bedtime, profile.preferred_form, profile.preferred_amount_mg, profile.started_on) == (
        "22:30", "glycinate", 300, NOV_1)
    assert profile.count_nights is None  # never asked: the next "I took it" asks
    assert "v1" in caplog.text
    assert "form" not in profile.to_attributes()


def test_a_v2_list_of_nights_becomes_a_count_whose_consent_is_still_to_be_asked(caplog: pytest.LogCaptureFixture) -> None:
    # v2 kept every night without asking (and a field nothing wrote any more, last_routine_night).
    v2 = {"schema_version": Decimal("2"), "bedtime": "22:30", "started_on": "2026-10-30",
          "dose_nights": ["2026-11-02", "2026-11-01", "not a date", "2026-11-02", "2026-10-30"],
          "last_routine_night": "2026-11-02", "reminder_ids": ["tok-1"]}

    with caplog.at_level(logging.INFO, logger="skill.profile.models"):
        profile = UserProfile.from_attributes(v2)

    assert (profile.nights_counted, profile.started_on, profile.last_counted_on) == (3, date(2026, 10, 30), date(2026, 11, 2))
    assert profile.count_nights is None  # carried over, never taken as agreed
    assert (profile.schema_version, profile.bedtime, profile.reminder_ids) == (SCHEMA_VERSION, "22:30", ["tok-1"])
    attributes = profile.to_attributes()
    assert "dose_nights" not in attributes and "last_routine_night" not in attributes
    assert "v2" in caplog.text


def test_a_v2_row_without_nights_migrates_to_no_count_and_never_to_consent() -> None:
    for nights in ([], None, "2026-11-01", [None, 7]):
        profile = UserProfile.from_attributes({"schema_version": 2, "dose_nights": nights, "count_nights": True})
        assert (profile.count_nights, profile.nights_counted, profile.last_counted_on) == (None, 0, None)


def test_a_v2_release_writing_onto_a_v3_row_never_resets_the_count() -> None:
    # During a rolling deploy the old release reads a v3 row as "newer", keeps its fields, adds its list.
    row = {"schema_version": 3, "count_nights": True, "nights_counted": 12, "started_on": "2026-11-01",
           "last_counted_on": "2026-11-12", "dose_nights": ["2026-11-13"]}

    profile = UserProfile.from_attributes(row)

    assert (profile.count_nights, profile.nights_counted, profile.last_counted_on) == (True, 12, date(2026, 11, 12))


def test_bad_stored_values_are_dropped_with_a_log_line_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    stored = {
        "schema_version": 3,
        "bedtime": "25:61",
        "time_zone": "Atlantis/Capital",
        "preferred_form": "unicorn",
        "preferred_amount_mg": Decimal("300.5"),
        "count_nights": "yes",
        "nights_counted": -4,
        "started_on": "yesterday",
        "last_counted_on": {"odd": "shape"},
        "reminder_ids": ["tok-1", 7, "", "tok-1"],
    }

    with caplog.at_level(logging.WARNING, logger="skill.profile.models"):
        profile = UserProfile.from_attributes(stored)

    assert profile.bedtime is profile.time_zone is profile.preferred_form is None
    assert profile.preferred_amount_mg is None and profile.started_on is None
    assert (profile.count_nights, profile.nights_counted, profile.last_counted_on) == (None, 0, None)
    assert profile.reminder_ids == ["tok-1"]
    for field in ("bedtime", "time_zone", "preferred_form", "preferred_amount_mg", "count_nights", "nights_counted",
                  "started_on", "last_counted_on"):
        assert field in caplog.text


def test_attributes_of_the_wrong_shape_read_as_a_new_profile(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="skill.profile.models"):
        profile = UserProfile.from_attributes(["not", "a", "mapping"])  # type: ignore[arg-type]

    assert profile == UserProfile()
    assert "not a mapping" in caplog.text


def test_a_profile_from_a_newer_release_keeps_what_it_understands(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="skill.profile.models"):
        profile = UserProfile.from_attributes({"schema_version": 5, "bedtime": "23:00", "sleep_score": 7})

    assert profile.bedtime == "23:00"
    assert profile.schema_version == 5 > SCHEMA_VERSION  # written back as v5: that release must not migrate it again
    assert "newer" in caplog.text


def test_fields_a_newer_release_wrote_are_written_back_as_they_were() -> None:
    stored = {"schema_version": Decimal("5"), "bedtime": "23:00", "sleep_score": Decimal("7"),
              "wind_down": {"minutes": Decimal("20"), "sounds": ["rain"]}, "extra": "a v5 field named extra"}
    profile = UserProfile.from_attributes(stored)

    profile.preferred_form = "glycinate"  # this release changes what it knows about
    attributes = profile.to_attributes()

    assert attributes["sleep_score"] == 7 and attributes["wind_down"] == {"minutes": 20, "sounds": ["rain"]}
    assert attributes["extra"] == "a v5 field named extra"
    assert (attributes["schema_version"], attributes["bedtime"], attributes["preferred_form"]) == (5, "23:00", "glycinate")
    assert UserProfile.from_attributes(attributes) == profile


def test_a_newer_field_never_overrides_one_this_release_knows() -> None:
    profile = UserProfile.from_attributes({"schema_version": 5, "bedtime": "23:00", "note": "kept"})
    profile.bedtime = "22:00"

    assert profile.to_attributes()["bedtime"] == "22:00"
    assert profile.to_attributes()["note"] == "kept"


# -- one definition, two readers: the plain one (every request) and pydantic's agree -----------------


PYDANTIC = pydantic_reader()
SLOTS = slots(UserProfile)

# Stored rows are JSON (SQLite) or JSON-like (DynamoDB's Decimals, made plain before reading), so
# values are JSON values; half of them are aimed at the field's own kind, near the edges of what it takes.
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False), st.text(max_size=12),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
NEAR_DATES = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(["2024-02-29", "2026-02-30", "20261101", "2026-W44-1", "2026-11-01T00:00:00", "0000-01-01",
                     "2026-1-01", " 2026-11-01", "２０２６-11-01"]),
)
AIMED = {
    "date": NEAR_DATES,
    "int": st.one_of(st.integers(-3, 2100), st.sampled_from([300.0, 2000.5, True, "300", 10**30])),
    "str": st.one_of(st.sampled_from(["22:30", "7:05", " 23:59 ", "24:00", "22:60", "10pm", "２２:30", "Europe/London",
                                      " UTC ", "Mars/Base", "../etc", "", " ", "tok-1"]), st.text(max_size=6)),
    "literal": st.one_of(st.sampled_from([*FORMS, "checkin", "dose", "breathe", "Dose", "Magnesium Glycinate",
                                          "L-Threonate", "bisglycinate", "unicorn", " oxide "]), st.text(max_size=6)),
}


def values_for(name: str) -> st.SearchStrategy[object]:
    kind = SLOTS[name].kind
    aimed = AIMED.get(kind.item.name if kind.name == "list" and kind.item else kind.name, JSON_VALUES)
    if kind.name == "list":
        aimed = st.lists(st.one_of(aimed, JSON_SCALARS), max_size=5)
    return st.one_of(aimed, aimed, JSON_VALUES)


def outcome(read, slot, value):  # type: ignore[no-untyped-def]
    try:
        return "kept", read(slot, value)
    except FieldError:
        return "dropped", None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SLOTS)).flatmap(lambda name: st.tuples(st.just(name), values_for(name))))
@example(("preferred_amount_mg", 300.0))
@example(("preferred_amount_mg", True))
@example(("started_on", "2026-11-01T00:00:00"))
@example(("nights_counted", True))
@example(("count_nights", 1))
@example(("reminder_ids", ["a", " ", "a", "b"]))
def test_each_stored_value_is_read_the_same_by_both_readers(case: tuple[str, object]) -> None:
    name, value = case
    slot = SLOTS[name]
    assert outcome(read_value, slot, value) == outcome(PYDANTIC, slot, value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional={name: values_for(name) for name in SLOTS})
       | st.dictionaries(st.sampled_from([*SLOTS, "form", "amount", "first_night", "sleep_score"]), JSON_VALUES, max_size=8)
       | st.fixed_dictionaries({"schema_version": st.sampled_from([2, None]),
                                "dose_nights": st.lists(st.one_of(NEAR_DATES, JSON_SCALARS), max_size=5)}))
def test_a_whole_stored_row_reads_the_same_with_either_reader(row: dict[str, object]) -> None:
    assert read_stored(row, read_value) == read_stored(row, PYDANTIC)


def test_the_profile_is_one_definition_that_pydantic_reads_too() -> None:
    # Every field has a description and a type pydantic understands; nothing is listed twice.
    assert [f.name for f in dataclasses.fields(UserProfile)] == list(SLOTS)
    assert all(slot.rule.description for slot in SLOTS.values())
    profile = read_stored({"bedtime": "7:05", "schema_version": 2, "dose_nights": ["2026-11-01"]}, PYDANTIC)
    assert (profile.bedtime, profile.nights_counted, profile.last_counted_on) == ("07:05", 1, NOV_1)
