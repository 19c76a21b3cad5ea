"""The wording of what is wrong with a reading, in one place for both rule engines and the form.

validate (pandas: the check-in form) and store/csv_file (DuckDB: files from the command line and the Data
page) take every message from here, and look the measure's messages up by measure and side, so the same
row gets the same words from both (tests/test_import_rules.py holds them to it). A message about a value
names the measure by its label, the side where it has one, and says what is allowed in units a patient
reads. Messages about a file (a CSV or FHIR import, the command line) also name the catalog id, which is
what the file holds; the check-in form, where the field shows the label, names the label alone
(with_id=False). No pandas here: the import command runs without it.
"""

from __future__ import annotations

from datetime import date

from hipdata import catalog
from hipdata.contract import EARLIEST_DATE, NOTE_MAX, PATIENT_ID_MAX

EMPTY_PATIENT = "must not be empty"
LONG_PATIENT = f"must be at most {PATIENT_ID_MAX} characters"
BAD_DATE = "must be a calendar date written YYYY-MM-DD"
EARLY_DATE = f"must not be before {EARLIEST_DATE}"
NOT_A_NUMBER = "must be a number"  # the measure is unknown, so nothing more can be said
UNKNOWN_MEASURE = "is not a measure hipdata knows; allowed: " + ", ".join(catalog.MEASURES)
LONG_NOTE = f"must be at most {NOTE_MAX} characters"


def future_date(today: date) -> str:
    return f"must not be in the future (today is {today})"


def not_a_choice(choices) -> str:
    return "allowed: empty, " + ", ".join(choices)


def wrong_field_count(fields: int | str, width: int) -> str:
    """A row that does not split into the header's columns (csv_file fills in `fields` in SQL)."""
    return f"has {fields} fields; the header has {width}"


def _number(x: float, unit: str) -> str:
    text = f"{x:g}"
    return {"deg": f"{text}°", "cm": f"{text} cm", "nprs": text}[unit]


def series_name(m: catalog.Measure, side: str = "", with_id: bool = True) -> str:
    """'Hip pain (pain_hip), left', or 'Hip pain, left' without the id: how a problem names its series."""
    return (f"{m.label} ({m.id})" if with_id else m.label) + (f", {side}" if side else "")


def allowed_values(m: catalog.Measure) -> str:
    """What a value of the measure may be, in words: 'a number from 0° to 160°'."""
    low, high = _number(m.valid_min, m.unit), _number(m.valid_max, m.unit)
    if m.whole_numbers:
        return f"a whole number from {low} to {high} (points out of 10)"
    return f"a number from {low} to {high}"


def out_of_range(m: catalog.Measure, side: str = "", with_id: bool = True) -> str:
    """The value is not a finite number, or outside the measure's valid range."""
    return f"{series_name(m, side, with_id)}: must be {allowed_values(m)}"


def not_whole(m: catalog.Measure, side: str = "", with_id: bool = True) -> str:
    return f"{series_name(m, side, with_id)}: must be a whole number of points out of 10, with no decimals"


def needs_side(m: catalog.Measure, with_id: bool = True) -> str:
    return f"{series_name(m, with_id=with_id)}: needs side left or right"


def has_no_side(m: catalog.Measure, with_id: bool = True) -> str:
    return f"{series_name(m, with_id=with_id)}: has no sides; leave side empty"


def named_side(sided: bool, side: str) -> str:
    """The side a value message names: the row's side when the measure has sides and it is valid."""
    return side if sided and side in catalog.SIDES else ""


def message_rows(with_id: bool = True) -> list[tuple[str, str, str, str, str]]:
    """Per measure and named side: (measure, side, range or number message, whole-number message,
    side message). Side messages are the same for every side: a wrong side is not named."""
    rows = []
    for m in catalog.MEASURES.values():
        side_message = needs_side(m, with_id) if m.sided else has_no_side(m, with_id)
        for side in ("", *m.sides):
            rows.append(
                (m.id, side, out_of_range(m, side, with_id), not_whole(m, side, with_id), side_message)
            )
    return rows
