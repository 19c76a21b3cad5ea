"""Raw input (a form or a CSV file, as text) -> clean typed rows, or one error that lists every problem.

One set of rules serves the check-in form and the importer, so both accept and refuse the same things.
Checks are vectorised over whole columns: a 2-million-row file is validated without a loop per row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache

import numpy as np
import pandas as pd

from hipdata import catalog, messages
from hipdata.contract import (
    CONTEXT_COLUMNS,
    EARLIEST_DATE,
    NOTE_MAX,
    PATIENT_ID_MAX,
    Problem,
    ValidationError,
    header_problems,
)

BAND_LEVELS = ("light", "medium", "heavy", "extra_heavy")
EXERCISE_LIMITS = {"sessions": (0, 14), "sets": (0, 20), "reps": (0, 500), "seconds": (0, 3600)}
LOAD_KG_MAX = 300


def _text(raw: pd.DataFrame, column: str) -> pd.Series:
    if column not in raw:
        return pd.Series("", index=raw.index, dtype=object)
    return raw[column].fillna("").astype(str)


class _Collector:
    """Gathers the rows failing each rule as whole-column masks, then lists them in row order."""

    def __init__(self, raw: pd.DataFrame, first_row: int):
        self.raw = raw
        self.rows = np.arange(first_row, first_row + len(raw))
        self.found: list[pd.DataFrame] = []

    def add(self, mask: pd.Series, column: str, message: str | Callable[[np.ndarray], np.ndarray]) -> None:
        """message: one text for every failing row, or a function giving the failing rows' texts."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        msg = message(mask) if callable(message) else message
        self.found.append(
            pd.DataFrame(
                {
                    "row": self.rows[mask],
                    "column": column,
                    "value": _text(self.raw, column).to_numpy()[mask],
                    "message": msg,
                }
            )
        )

    def raise_if_any(self, extra: list[Problem] = ()) -> None:
        problems = list(extra)
        if self.found:
            table = pd.concat(self.found, ignore_index=True).sort_values("row", kind="stable")
            problems += [
                Problem(int(r), c, str(v), m)
                for r, c, v, m in zip(
                    table["row"], table["column"], table["value"], table["message"], strict=True
                )
            ]
        if problems:
            raise ValidationError(problems)


@cache
def _wording(with_id: bool) -> pd.DataFrame:
    """messages.message_rows as a frame indexed by (measure, named side)."""
    columns = ["measure", "named_side", "range", "whole", "side"]
    rows = messages.message_rows(with_id)
    return pd.DataFrame(rows, columns=columns).set_index(["measure", "named_side"])


def _parse_numbers(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.strip(), errors="coerce").astype("float64")


def clean_readings(
    raw: pd.DataFrame, today: date | None = None, first_row: int = 2, with_ids: bool = True
) -> pd.DataFrame:
    """Check every row of raw readings (strings) against the catalog.

    Returns the readings typed (date as datetime64, value as float, side '' when the measure has none,
    empty context as None) or raises ValidationError naming every bad row, column, value and what is allowed.
    with_ids=False names a measure by its label alone (the check-in form); a file's reader wants the id too.
    """
    header = header_problems([str(c) for c in raw.columns])
    if header:
        raise ValidationError(header)
    today = today or date.today()
    check = _Collector(raw, first_row)
    measures = catalog.measures_frame().set_index("measure")

    patient = _text(raw, "patient_id")
    check.add(patient.str.strip() == "", "patient_id", messages.EMPTY_PATIENT)
    check.add(patient.str.len() > PATIENT_ID_MAX, "patient_id", messages.LONG_PATIENT)

    date_text = _text(raw, "date").str.strip()
    when = pd.to_datetime(date_text, format="%Y-%m-%d", errors="coerce")
    bad_date = when.isna() | ~date_text.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
    check.add(bad_date, "date", messages.BAD_DATE)
    check.add(~bad_date & (when < pd.Timestamp(EARLIEST_DATE)), "date", messages.EARLY_DATE)
    check.add(~bad_date & (when > pd.Timestamp(today)), "date", messages.future_date(today))

    measure = _text(raw, "measure").str.strip()
    known = measure.isin(measures.index)
    check.add(~known, "measure", messages.UNKNOWN_MEASURE)

    side = _text(raw, "side").str.strip()
    sided = measure.isin(measures.index[measures["sided"]])

    def wording(kind: str, fallback: str | None = None):
        """The failing rows' messages of one kind, looked up by measure and named side (hipdata/messages.py)."""

        def lookup(mask: np.ndarray) -> np.ndarray:
            m, s = measure[mask], side[mask]
            named = s.where(sided[mask] & s.isin(catalog.SIDES), "")
            found = _wording(with_ids)[kind].reindex(pd.MultiIndex.from_arrays([m, named]))
            return (found.fillna(fallback) if fallback else found).to_numpy()

        return lookup

    check.add(known & sided & ~side.isin(catalog.SIDES), "side", wording("side"))
    check.add(known & ~sided & (side != ""), "side", wording("side"))

    value_text = _text(raw, "value")
    value = _parse_numbers(value_text)
    not_number = ~np.isfinite(value)
    check.add(not_number, "value", wording("range", messages.NOT_A_NUMBER))
    low = measure.map(measures["valid_min"]).astype("float64")  # float even for an empty column
    high = measure.map(measures["valid_max"]).astype("float64")
    out_of_range = known & ~not_number & ((value < low) | (value > high))
    check.add(out_of_range, "value", wording("range"))
    whole = measure.isin(measures.index[measures["whole_numbers"]])
    check.add(
        known & whole & ~not_number & (value != np.round(value)),
        "value",
        wording("whole"),
    )

    for column, choices in catalog.CONTEXT_CHOICES.items():
        text = _text(raw, column).str.strip()
        check.add((text != "") & ~text.isin(choices), column, messages.not_a_choice(choices))
    note = _text(raw, "note")
    check.add(note.str.len() > NOTE_MAX, "note", messages.LONG_NOTE)

    check.raise_if_any()
    clean = pd.DataFrame(
        {
            "patient_id": patient.astype(object),
            "date": when.astype("datetime64[ns]"),
            "measure": measure.astype(object),
            "side": side.astype(object),
            "value": value,
        }
    )
    for column in CONTEXT_COLUMNS:
        clean[column] = _text(raw, column).str.strip().astype(object).replace("", None)
    clean["note"] = note.astype(object).replace("", None)
    return clean.reset_index(drop=True)


EXERCISE_COLUMNS = ("exercise", "sessions", "sets", "reps", "seconds", "band_level", "load_kg")


def clean_exercise_log(raw: pd.DataFrame, first_row: int = 1) -> pd.DataFrame:
    """Check exercise-log rows (strings or numbers): catalog exercise, whole-number doses in range."""
    check = _Collector(raw, first_row)
    exercise = _text(raw, "exercise").str.strip()
    check.add(
        ~exercise.isin(list(catalog.EXERCISES)), "exercise", "unknown exercise; pick one from the catalog"
    )
    clean = pd.DataFrame({"exercise": exercise.astype(object)})
    for column, (low, high) in EXERCISE_LIMITS.items():
        text = _text(raw, column).str.strip()
        number = _parse_numbers(text)
        bad = (text != "") & ~((number >= low) & (number <= high) & (number == np.round(number)))
        check.add(bad, column, f"must be a whole number from {low} to {high}, or empty")
        clean[column] = number.where(~bad).astype("Int64")
    no_sessions = _text(raw, "sessions").str.strip() == ""  # the log stores sessions NOT NULL
    check.add(no_sessions, "sessions", "required: sessions this week, 0 to 14 (or remove the row)")
    band = _text(raw, "band_level").str.strip()
    check.add(
        (band != "") & ~band.isin(BAND_LEVELS), "band_level", "allowed: empty, " + ", ".join(BAND_LEVELS)
    )
    clean["band_level"] = band.astype(object).replace("", None)
    load_text = _text(raw, "load_kg").str.strip()
    load = _parse_numbers(load_text)
    bad_load = (load_text != "") & ~((load >= 0) & (load <= LOAD_KG_MAX))
    check.add(bad_load, "load_kg", f"must be a number from 0 to {LOAD_KG_MAX} kg, or empty")
    clean["load_kg"] = load.where(~bad_load)
    check.raise_if_any()
    return clean.reset_index(drop=True)


def clean_goal(measure: str, side: str, target, target_date, today: date | None = None) -> pd.DataFrame:
    """A goal: a catalog series, a target inside the measure's valid range, a date not in the past."""
    today = today or date.today()
    problems = []
    m = catalog.MEASURES.get(measure)
    if m is None:
        problems.append(Problem(None, "measure", str(measure), messages.UNKNOWN_MEASURE))
    elif side not in (m.sides or ("",)):
        problems.append(
            Problem(None, "side", str(side), messages.needs_side(m) if m.sided else messages.has_no_side(m))
        )
    number = pd.to_numeric(pd.Series([target], dtype=object), errors="coerce").astype("float64").iloc[0]
    if m is not None and not (np.isfinite(number) and m.valid_min <= number <= m.valid_max):
        problems.append(
            Problem(
                None,
                "target",
                str(target),
                messages.out_of_range(m, messages.named_side(m.sided, side)),
            )
        )
    when = pd.to_datetime(pd.Series([target_date], dtype=object), errors="coerce").iloc[0]
    if pd.isna(when) or when.date() < today:
        problems.append(Problem(None, "target_date", str(target_date), f"must be a date from {today} on"))
    if problems:
        raise ValidationError(problems)
    return pd.DataFrame(
        {"measure": [measure], "side": [side], "target": [float(number)], "target_date": [when.normalize()]}
    )
