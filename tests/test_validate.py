"""validate.clean_readings and clean_exercise_log: every rule, with strange inputs.

Behaviour documented here (as found):
- side is case-sensitive: 'Left' is refused; surrounding spaces are stripped (' left' -> 'left');
  'both' is refused; a blank side (' ') on a measure without sides counts as empty.
- measure and date are stripped too ('  hip_flexion ' is accepted); measure ids are case-sensitive.
- patient_id is NOT stripped: ' P1 ' is stored as typed (only an all-blank id is refused).
- value accepts anything pandas reads as a finite float ('+5', '1e2', ' 100 '); 'nan', 'inf', '1e400'
  (overflows to inf), '1,5', '0x10' and '' are refused.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from hipdata import catalog
from hipdata.contract import NOTE_MAX, PATIENT_ID_MAX, Problem, ValidationError
from hipdata.validate import clean_exercise_log, clean_readings

TODAY = date(2026, 3, 1)
BASE = {"patient_id": "P1", "date": "2026-01-05", "measure": "hip_flexion", "side": "left", "value": "100"}


def raw(*rows: dict, columns: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame([{**BASE, **r} for r in rows] or [BASE], dtype=str)
    return frame if columns is None else frame.loc[:, columns]


def problems(*rows: dict, today: date = TODAY) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        clean_readings(raw(*rows), today=today)
    return info.value.problems


def one_problem(row: dict) -> Problem:
    found = problems(row)
    assert len(found) == 1, found
    return found[0]


def accepted(row: dict) -> pd.Series:
    return clean_readings(raw(row), today=TODAY).iloc[0]


# ---- a good row ----------------------------------------------------------------------------------------


def test_clean_row_is_typed():
    clean = clean_readings(
        raw(
            {
                "method": "goniometer",
                "position": "supine",
                "mode": "active",
                "measured_by": "self",
                "note": "ok",
            }
        ),
        today=TODAY,
    )
    assert list(clean.columns) == [
        "patient_id", "date", "measure", "side", "value", "method", "position", "mode", "measured_by", "note",
    ]  # fmt: skip
    row = clean.iloc[0]
    assert row["date"] == pd.Timestamp("2026-01-05")
    assert clean["date"].dtype == "datetime64[ns]"
    assert clean["value"].dtype == "float64" and row["value"] == 100.0
    assert (row["method"], row["position"], row["mode"], row["measured_by"], row["note"]) == (
        "goniometer", "supine", "active", "self", "ok",
    )  # fmt: skip


def test_empty_context_and_note_become_none():
    row = accepted({"method": "", "position": " ", "note": ""})
    assert row["method"] is None and row["position"] is None and row["note"] is None
    assert row["mode"] is None and row["measured_by"] is None  # columns absent altogether


def test_index_is_reset():
    frame = raw(BASE, BASE)
    frame.index = [10, 20]
    assert list(clean_readings(frame, today=TODAY).index) == [0, 1]


# ---- measure ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["hip_wiggle", "HIP_FLEXION", "", "hip flexion"])
def test_unknown_measure(bad):
    p = one_problem({"measure": bad})
    assert (p.row, p.column, p.value) == (2, "measure", bad)
    assert p.message.startswith("is not a measure hipdata knows; allowed: ")
    assert all(m in p.message for m in catalog.MEASURES), "the message lists the allowed ids"


def test_measure_is_stripped():
    assert accepted({"measure": "  hip_flexion "})["measure"] == "hip_flexion"


def test_unknown_measure_skips_value_and_side_checks():
    # With no catalog entry there is no range to check: only the measure is reported.
    p = one_problem({"measure": "nope", "value": "99999", "side": "both"})
    assert p.column == "measure"


# ---- side ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Left", "RIGHT", "both", "", "l", "left,right"])
def test_sided_measure_needs_left_or_right(bad):
    p = one_problem({"side": bad})
    assert (p.column, p.value) == ("side", bad)
    assert "left or right" in p.message


@pytest.mark.parametrize(("given", "stored"), [(" left", "left"), ("right ", "right"), ("left", "left")])
def test_side_is_stripped(given, stored):
    assert accepted({"side": given})["side"] == stored


@pytest.mark.parametrize("measure", ["fingertip_to_floor", "pain_low_back"])
def test_sideless_measure_needs_empty_side(measure):
    value = "5"
    p = one_problem({"measure": measure, "side": "left", "value": value})
    assert (p.column, p.value) == ("side", "left")
    assert "leave side empty" in p.message
    assert accepted({"measure": measure, "side": "", "value": value})["side"] == ""
    assert accepted({"measure": measure, "side": "  ", "value": value})["side"] == ""


# ---- date ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["2026/01/05", "05-01-2026", "2026-02-30", "", "2026-1-5", "20260105", "2026-01-05T10:00", "yesterday"],
)
def test_date_must_be_iso_calendar_date(bad):
    p = one_problem({"date": bad})
    assert (p.row, p.column, p.value) == (2, "date", bad)
    assert "YYYY-MM-DD" in p.message


def test_leap_day_is_a_date():
    assert accepted({"date": "2024-02-29"})["date"] == pd.Timestamp("2024-02-29")
    assert one_problem({"date": "2025-02-29"}).column == "date"


def test_date_surrounding_spaces_are_stripped():
    assert accepted({"date": " 2026-01-05 "})["date"] == pd.Timestamp("2026-01-05")


def test_future_date_refused_today_accepted():
    p = problems({"date": "2026-03-02"}, today=TODAY)
    assert len(p) == 1 and p[0].column == "date" and "future" in p[0].message and "2026-03-01" in p[0].message
    clean = clean_readings(raw({"date": "2026-03-01"}), today=TODAY)
    assert clean.iloc[0]["date"] == pd.Timestamp("2026-03-01")


def test_today_defaults_to_the_real_today():
    with pytest.raises(ValidationError, match="future"):
        clean_readings(raw({"date": "2999-01-01"}))
    assert len(clean_readings(raw({"date": "2000-01-03"}))) == 1


# ---- value -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "", " ", "abc", "1,5", "0x10", "True", "12°"]
)
def test_value_must_be_a_finite_number(bad):
    p = one_problem({"value": bad})
    assert (p.row, p.column, p.value) == (2, "value", bad)
    assert p.message == "Hip flexion (hip_flexion), left: must be a number from 0° to 160°"


def test_a_value_of_an_unknown_measure_only_needs_to_be_a_number():
    found = problems({"measure": "hip_wiggle", "value": "abc"})
    assert [(p.column, p.message) for p in found][1:] == [("value", "must be a number")]


@pytest.mark.parametrize(
    ("text", "number"), [(" 100 ", 100.0), ("+5", 5.0), ("1e2", 100.0), ("12.25", 12.25)]
)
def test_number_spellings_accepted(text, number):
    assert accepted({"value": text})["value"] == number


# (measure, side, valid_min, valid_max): the edges are inclusive.
RANGES = [
    ("hip_flexion", "left", 0, 160),
    ("hip_extension", "right", -40, 60),
    ("hip_abduction", "left", 0, 90),
    ("hip_adduction", "left", 0, 60),
    ("hip_internal_rotation", "left", 0, 90),
    ("hip_external_rotation", "right", 0, 90),
    ("fingertip_to_floor", "", -30, 80),
    ("figure_four", "left", 0, 60),
    ("pain_hip", "left", 0, 10),
    ("pain_low_back", "", 0, 10),
    ("pain_knee", "right", 0, 10),
    ("pain_ankle_foot", "left", 0, 10),
]


@pytest.mark.parametrize(("measure", "side", "low", "high"), RANGES)
def test_range_edges_inclusive(measure, side, low, high):
    row = {"measure": measure, "side": side}
    assert accepted({**row, "value": str(low)})["value"] == low
    assert accepted({**row, "value": str(high)})["value"] == high
    step = 1 if measure.startswith("pain") else 0.001  # pain must stay a whole number to test the range
    for beyond in (low - step, high + step):
        found = problems({**row, "value": repr(beyond)})
        assert [p.column for p in found] == ["value"], found
        m = catalog.MEASURES[measure]
        named = f"{m.label} ({m.id})" + (f", {side}" if side else "")
        unit = {"deg": "°", "cm": " cm", "nprs": ""}[m.unit]
        assert found[0].message.startswith(f"{named}: must be ")
        assert f"from {low:g}{unit} to {high:g}{unit}" in found[0].message
        if m.group == "pain":
            assert "whole number" in found[0].message and "points out of 10" in found[0].message


def test_negative_values_allowed_where_the_range_allows():
    assert accepted({"measure": "hip_extension", "value": "-12.5"})["value"] == -12.5
    assert accepted({"measure": "fingertip_to_floor", "side": "", "value": "-30"})["value"] == -30
    assert one_problem({"measure": "hip_flexion", "value": "-1"}).column == "value"


def test_pain_whole_numbers_only():
    p = one_problem({"measure": "pain_hip", "value": "3.5"})
    assert (p.column, p.value) == ("value", "3.5") and "whole number" in p.message
    assert accepted({"measure": "pain_hip", "value": "3.0"})["value"] == 3.0
    assert accepted({"measure": "pain_hip", "value": "3"})["value"] == 3.0
    # Fractions are fine for range of motion.
    assert accepted({"measure": "hip_flexion", "value": "3.5"})["value"] == 3.5


def test_pain_fraction_beyond_range_reports_both():
    found = problems({"measure": "pain_knee", "value": "10.5"})
    assert sorted(p.message for p in found) == sorted(
        [
            "Knee pain (pain_knee), left: must be a whole number from 0 to 10 (points out of 10)",
            "Knee pain (pain_knee), left: must be a whole number of points out of 10, with no decimals",
        ]
    )


def test_a_file_names_the_catalog_id_and_the_check_in_form_the_label_alone():
    bad = raw({"measure": "pain_knee", "value": "11"}, {"measure": "figure_four", "side": "", "value": "10"})
    figure_four = catalog.MEASURES["figure_four"].label
    for with_ids, knee, figure in (
        (True, "Knee pain (pain_knee), left", f"{figure_four} (figure_four)"),
        (False, "Knee pain, left", figure_four),
    ):
        with pytest.raises(ValidationError) as info:
            clean_readings(bad, with_ids=with_ids)
        assert [p.message for p in info.value.problems] == [
            f"{knee}: must be a whole number from 0 to 10 (points out of 10)",
            f"{figure}: needs side left or right",
        ]


# ---- patient_id ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "   ", "\t"])
def test_patient_id_must_not_be_blank(bad):
    p = one_problem({"patient_id": bad})
    assert (p.column, p.value) == ("patient_id", bad) and "must not be empty" in p.message


def test_patient_id_length_limit_counts_characters():
    assert PATIENT_ID_MAX == 64
    assert accepted({"patient_id": "x" * 64})["patient_id"] == "x" * 64
    assert accepted({"patient_id": "é" * 64})["patient_id"] == "é" * 64  # characters, not bytes
    p = one_problem({"patient_id": "x" * 65})
    assert p.column == "patient_id" and "at most 64" in p.message


@pytest.mark.parametrize(
    "pid",
    [
        "Zoë-Ångström",
        "患者-7",
        "runner 🏃‍♀️",
        'O\'Brien "Bob"',
        "'; DROP TABLE readings; --",
        "<script>alert(1)</script>",
        "a,b",
        "NULL",
        "NA",
    ],
)
def test_strange_patient_ids_kept_literally(pid):
    assert accepted({"patient_id": pid})["patient_id"] == pid


def test_patient_id_is_not_stripped():
    assert accepted({"patient_id": " P1 "})["patient_id"] == " P1 "


# ---- context and note ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "choices"), list(catalog.CONTEXT_CHOICES.items()))
def test_context_choices(column, choices):
    for choice in choices:
        assert accepted({column: choice})[column] == choice
    assert accepted({column: f" {choices[0]} "})[column] == choices[0]
    p = one_problem({column: "Goniometer, probably"})
    assert (p.column, p.value) == (column, "Goniometer, probably")
    assert p.message == "allowed: empty, " + ", ".join(choices)


def test_note_length_and_literal_text():
    note = 'commas, "quotes", newline\nand <b>html</b> 🦵'
    assert accepted({"note": note})["note"] == note
    assert accepted({"note": "n" * NOTE_MAX})["note"] == "n" * NOTE_MAX
    p = one_problem({"note": "n" * (NOTE_MAX + 1)})
    assert p.column == "note" and f"at most {NOTE_MAX}" in p.message


# ---- header ----------------------------------------------------------------------------------------------


def header_problems(columns: list[str]) -> list[Problem]:
    frame = pd.DataFrame([["x"] * len(columns)], columns=columns, dtype=str)
    with pytest.raises(ValidationError) as info:
        clean_readings(frame, today=TODAY)
    assert all(p.row is None for p in info.value.problems), "header problems concern the whole file"
    return info.value.problems


def test_missing_required_columns_each_named():
    found = header_problems(["patient_id", "date", "measure"])
    assert [(p.column, "required column is missing" in p.message) for p in found] == [
        ("side", True),
        ("value", True),
    ]


def test_unknown_column_named_with_the_allowed_ones():
    found = header_problems(["patient_id", "date", "measure", "side", "value", "Note"])
    assert [p.column for p in found] == ["Note"]
    assert "unknown column" in found[0].message and "measured_by, note" in found[0].message


def test_duplicated_column():
    found = header_problems(["patient_id", "date", "measure", "side", "value", "value"])
    assert [(p.column, p.message) for p in found] == [
        ("value", "column appears more than once in the header")
    ]


def test_header_problems_stop_before_rows():
    # A bad header is reported alone: no row can be trusted to mean anything.
    found = header_problems(["patient_id", "date", "measure", "side", "valeur"])
    assert {p.column for p in found} == {"value", "valeur"}


def test_optional_columns_may_come_in_any_order():
    frame = raw(
        {"note": "n", "mode": "passive"},
        columns=["note", "value", "side", "mode", "measure", "date", "patient_id"],
    )
    row = clean_readings(frame, today=TODAY).iloc[0]
    assert (row["patient_id"], row["value"], row["mode"], row["note"], row["method"]) == (
        "P1",
        100.0,
        "passive",
        "n",
        None,
    )


# ---- all problems at once --------------------------------------------------------------------------------


def test_every_problem_reported_at_once_in_row_order():
    rows = [
        BASE,  # row 2: fine
        {"measure": "pain_hip", "value": "3.5", "side": "Left"},  # row 3: two problems
        {"date": "2026/01/05"},  # row 4
        BASE,  # row 5: fine
        {"patient_id": "", "value": "999", "method": "ruler"},  # row 6: three problems
    ]
    with pytest.raises(ValidationError) as info:
        clean_readings(raw(*rows), today=TODAY)
    error = info.value
    got = [(p.row, p.column, p.value) for p in error.problems]
    assert sorted(got) == sorted(
        [
            (3, "side", "Left"),
            (3, "value", "3.5"),
            (4, "date", "2026/01/05"),
            (6, "patient_id", ""),
            (6, "value", "999"),
            (6, "method", "ruler"),
        ]
    )
    assert [r for r, _, _ in got] == sorted(r for r, _, _ in got), "listed in row order"
    text = str(error)
    assert text.startswith("6 problems in 3 rows:")
    assert "row 3, side = 'Left': Hip pain (pain_hip): needs side left or right" in text
    assert "row 6, value = '999': Hip flexion (hip_flexion), left: must be a number from 0° to 160°" in text
    assert "row 4, date = '2026/01/05': must be a calendar date written YYYY-MM-DD" in text
    frame = error.frame()
    assert list(frame.columns) == ["row", "column", "value", "message"] and len(frame) == 6


def test_first_row_offsets_row_numbers():
    with pytest.raises(ValidationError) as info:
        clean_readings(raw(BASE, {"value": "x"}), today=TODAY, first_row=1001)
    assert [p.row for p in info.value.problems] == [1002]


def test_nothing_returned_when_any_problem():
    rows = [BASE] * 50 + [{"value": "161"}]
    result = None
    with pytest.raises(ValidationError):
        result = clean_readings(raw(*rows), today=TODAY)
    assert result is None


def test_long_problem_lists_are_capped_but_counted():
    with pytest.raises(ValidationError) as info:
        clean_readings(raw(*[{"value": "x"}] * 250), today=TODAY)
    error = info.value
    assert len(error.problems) == 250
    text = str(error)
    assert text.startswith("250 problems in 250 rows")
    assert "... and 50 more problems" in text
    assert "row 201," in text and "row 202," not in text


def test_empty_input_gives_an_empty_typed_frame():
    empty = pd.DataFrame(columns=["patient_id", "date", "measure", "side", "value"], dtype=str)
    clean = clean_readings(empty, today=TODAY)
    assert len(clean) == 0
    assert clean["value"].dtype == "float64" and clean["date"].dtype == "datetime64[ns]"


def test_many_rows_vectorised():
    n = 20_000
    frame = pd.DataFrame(
        {
            "patient_id": "P1",
            "date": "2026-01-05",
            "measure": np.where(np.arange(n) % 2, "hip_flexion", "pain_low_back"),
            "side": np.where(np.arange(n) % 2, "left", ""),
            "value": (np.arange(n) % 10).astype(str),
        }
    )
    clean = clean_readings(frame, today=TODAY)
    assert len(clean) == n and clean["value"].sum() == (np.arange(n) % 10).sum()


# ---- exercise log ----------------------------------------------------------------------------------------


def test_exercise_log_clean():
    log = clean_exercise_log(
        pd.DataFrame(
            {
                "exercise": ["foam_rolling", " ninety_ninety "],
                "sessions": ["3", "14"],
                "sets": ["", "3"],
                "reps": ["", "10"],
                "seconds": ["600", ""],
                "band_level": ["", "heavy"],
                "load_kg": ["", "12.5"],
            }
        )
    )
    assert list(log["exercise"]) == ["foam_rolling", "ninety_ninety"]
    assert list(log["sessions"]) == [3, 14] and str(log["sessions"].dtype) == "Int64"
    assert pd.isna(log.loc[0, "sets"]) and log.loc[1, "reps"] == 10
    assert log.loc[0, "band_level"] is None and log.loc[1, "band_level"] == "heavy"
    assert np.isnan(log.loc[0, "load_kg"]) and log.loc[1, "load_kg"] == 12.5


@pytest.mark.parametrize(
    ("column", "bad"),
    [
        ("exercise", "yoga"),
        ("sessions", "15"),
        ("sessions", "-1"),
        ("sessions", "2.5"),
        ("sessions", ""),
        ("sets", "21"),
        ("reps", "501"),
        ("seconds", "3601"),
        ("band_level", "purple"),
        ("load_kg", "301"),
        ("load_kg", "-1"),
        ("load_kg", "heavy"),
    ],
)
def test_exercise_log_refuses(column, bad):
    row = {"exercise": "banded_glute_bridge", "sessions": "2", column: bad}
    with pytest.raises(ValidationError) as info:
        clean_exercise_log(pd.DataFrame([row], dtype=str))
    assert [(p.row, p.column, p.value) for p in info.value.problems] == [(1, column, bad)]


def test_exercise_log_edges_accepted():
    log = clean_exercise_log(
        pd.DataFrame(
            [
                {
                    "exercise": "foam_rolling",
                    "sessions": "0",
                    "sets": "20",
                    "reps": "500",
                    "seconds": "3600",
                    "load_kg": "300",
                }
            ]
        )
    )
    assert (log.loc[0, "sessions"], log.loc[0, "sets"], log.loc[0, "load_kg"]) == (0, 20, 300.0)
