"""reminder: the weekly check-in reminder file, parsed back with the icalendar library."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from icalendar import Calendar

from hipdata import reminder


def parsed(*args, **kwargs):
    calendar = Calendar.from_ical(reminder.weekly_reminder(*args, **kwargs))
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def test_a_weekly_event_on_the_chosen_day_and_time_with_the_check_in_address():
    calendar, event = parsed(
        2, time(18, 30), "https://rehab.example.org/checkin", "P1", today=date(2026, 3, 2)
    )
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert event.decoded("DTSTART") == datetime(2026, 3, 4, 18, 30)  # the next Wednesday, local time
    rule = event["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["WE"]
    assert str(event["URL"]) == "https://rehab.example.org/checkin"
    assert "https://rehab.example.org/checkin" in str(event["DESCRIPTION"])
    assert str(event["SUMMARY"]) == "hipdata weekly check-in"
    assert event["UID"] and event["DTSTAMP"]
    assert [str(a["ACTION"]) for a in event.walk("VALARM")] == ["DISPLAY"]


def test_today_counts_when_it_is_the_chosen_day_and_the_uid_names_no_patient():
    _, event = parsed(0, time(7, 0), "u", "P0001", today=date(2026, 3, 2))  # a Monday
    assert event.decoded("DTSTART") == datetime(2026, 3, 2, 7, 0)
    assert "P0001" not in str(event["UID"])
    assert str(parsed(0, time(7, 0), "u", "P0001")[1]["UID"]) == str(
        event["UID"]
    )  # stable: re-import updates


def test_the_address_comes_from_the_setting(monkeypatch):
    monkeypatch.delenv("HIPDATA_URL", raising=False)
    assert reminder.checkin_url() == "http://localhost:8501/checkin"
    monkeypatch.setenv("HIPDATA_URL", "https://rehab.example.org/")
    assert reminder.checkin_url() == "https://rehab.example.org/checkin"


def test_a_bad_weekday_is_refused():
    with pytest.raises(ValueError, match="weekday"):
        reminder.weekly_reminder(7, time(9, 0), "u")
