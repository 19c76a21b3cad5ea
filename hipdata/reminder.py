"""A weekly check-in reminder as an iCalendar file (RFC 5545), built with the icalendar package.

The link in the event is the check-in address of this installation: the HIPDATA_URL setting (the address
patients open, e.g. https://rehab.example.org), followed by /checkin.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Alarm, Calendar, Event, vRecur

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DEFAULT_URL = "http://localhost:8501"


def checkin_url() -> str:
    base = (os.environ.get("HIPDATA_URL") or DEFAULT_URL).rstrip("/")
    return f"{base}/checkin"


def first_day(weekday: int, today: date) -> date:
    """The next date falling on `weekday` (0 = Monday), today included."""
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def weekly_reminder(weekday: int, at: time, url: str, uid_seed: str = "", today: date | None = None) -> bytes:
    """A calendar with one weekly event at the patient's local time (floating time: no time zone to get wrong)."""
    if weekday not in range(7):
        raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
    start = datetime.combine(first_day(weekday, today or date.today()), at.replace(second=0, microsecond=0))
    event = Event()
    event.add("uid", hashlib.sha256(f"hipdata-reminder:{uid_seed}".encode()).hexdigest()[:32] + "@hipdata")
    event.add("dtstamp", datetime.now(UTC))
    event.add("summary", "hipdata weekly check-in")
    event.add("description", f"Time for your weekly hip check-in (about two minutes): {url}")
    event.add("url", url)
    event.add("dtstart", start)
    event.add("duration", timedelta(minutes=10))
    event.add("rrule", vRecur(freq="WEEKLY", byday=_BYDAY[weekday]))
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", "hipdata weekly check-in")
    alarm.add("trigger", timedelta(0))
    event.add_component(alarm)
    calendar = Calendar()
    calendar.add("prodid", "-//hipdata//weekly check-in reminder//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    return calendar.to_ical()
