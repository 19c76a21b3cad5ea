"""What each rule for a reading says when it fails: one wording for both engines.

validate.clean_readings (pandas: the check-in form) and store/csv_file (DuckDB: files from the command line
and the Data page) both take their messages from here, and tests/test_import_rules.py holds them to the
same answers. A message about one measure is a function of it, so it can name the measure.
"""

from __future__ import annotations

from datetime import date

from hipdata import catalog
from hipdata.contract import EARLIEST_DATE, NOTE_MAX, PATIENT_ID_MAX

EMPTY_PATIENT = "must not be empty"
LONG_PATIENT = f"must be at most {PATIENT_ID_MAX} characters"
BAD_DATE = "must be a calendar date written YYYY-MM-DD"
EARLY_DATE = f"must not be before {EARLIEST_DATE}"
UNKNOWN_MEASURE = "unknown measure; allowed: " + ", ".join(catalog.MEASURES)
NOT_A_NUMBER = "must be a finite number"
LONG_NOTE = f"must be at most {NOTE_MAX} characters"


def future_date(today: date) -> str:
    return f"must not be in the future (today is {today})"


def needs_side(measure: catalog.Measure) -> str:
    return "this measure needs side left or right"


def has_no_sides(measure: catalog.Measure) -> str:
    return "this measure has no sides; leave side empty"


def out_of_range(measure: catalog.Measure) -> str:
    return f"must be between {measure.valid_min:g} and {measure.valid_max:g} {measure.unit}"


def not_whole(measure: catalog.Measure) -> str:
    return "pain is a whole number 0-10"


def not_a_choice(choices) -> str:
    return "allowed: empty, " + ", ".join(choices)


def wrong_field_count(fields: int | str, width: int) -> str:
    """A row that does not split into the header's columns (csv_file fills in `fields` in SQL)."""
    return f"has {fields} fields; the header has {width}"


def per_measure(message) -> dict[str, str]:
    """A measure's message for every measure of the catalog, by id."""
    return {m.id: message(m) for m in catalog.MEASURES.values()}
