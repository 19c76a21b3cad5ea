"""Measurement context history: each series' first reading and every change of method, position, mode or rater."""

from __future__ import annotations

from datetime import date

import pandas as pd

from hipdata.auth import SYSTEM
from hipdata.context import context_changes

TODAY = date(2026, 3, 1)
COLUMNS = ["date", "measure", "side", "method", "position", "mode", "measured_by"]


def reading(
    day: str, value: float = 30, measure: str = "hip_internal_rotation", side: str = "left", **context
) -> dict:
    return {"patient_id": "P1", "date": day, "measure": measure, "side": side, "value": value, **context}


def changes(store, make_readings, *rows: dict, patient: str | None = "P1") -> pd.DataFrame:
    store.add_readings(SYSTEM, make_readings(*rows, today=TODAY))
    return context_changes(store.readings(SYSTEM, patient))


def as_tuples(frame: pd.DataFrame) -> list[tuple]:
    out = frame.assign(date=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d"))
    return [tuple(None if pd.isna(v) else v for v in row) for row in out[COLUMNS].itertuples(index=False)]


def test_first_reading_then_only_the_changes(store, make_readings):
    gonio_seated = {"method": "goniometer", "position": "seated", "mode": "active", "measured_by": "self"}
    found = changes(
        store,
        make_readings,
        reading("2026-01-05", **gonio_seated),
        reading("2026-01-12", **gonio_seated),  # same context: not listed
        reading("2026-01-19", **{**gonio_seated, "position": "supine"}),
        reading("2026-01-26", **{**gonio_seated, "position": "supine"}),
        reading("2026-02-02", **{**gonio_seated, "position": "supine", "method": "inclinometer"}),
        reading(
            "2026-02-09",
            **{**gonio_seated, "position": "supine", "method": "inclinometer", "mode": "passive"},
        ),
        reading(
            "2026-02-16",
            **{
                **gonio_seated,
                "position": "supine",
                "method": "inclinometer",
                "mode": "passive",
                "measured_by": "therapist",
            },
        ),
        reading(
            "2026-02-23",
            **{
                **gonio_seated,
                "position": "supine",
                "method": "inclinometer",
                "mode": "passive",
                "measured_by": "therapist",
            },
        ),
    )
    assert list(found.columns) == COLUMNS
    assert as_tuples(found) == [
        ("2026-01-05", "hip_internal_rotation", "left", "goniometer", "seated", "active", "self"),
        ("2026-01-19", "hip_internal_rotation", "left", "goniometer", "supine", "active", "self"),
        ("2026-02-02", "hip_internal_rotation", "left", "inclinometer", "supine", "active", "self"),
        ("2026-02-09", "hip_internal_rotation", "left", "inclinometer", "supine", "passive", "self"),
        ("2026-02-16", "hip_internal_rotation", "left", "inclinometer", "supine", "passive", "therapist"),
    ]


def test_each_series_starts_its_own_history(store, make_readings):
    found = changes(
        store,
        make_readings,
        reading("2026-01-05", method="goniometer"),
        reading("2026-01-12", method="goniometer"),
        reading("2026-01-05", side="right", method="goniometer"),  # same context, another side: its own first
        reading("2026-01-12", side="right", method="goniometer"),
        reading("2026-01-05", measure="fingertip_to_floor", side="", value=5, method="tape_measure"),
        reading("2026-01-12", measure="fingertip_to_floor", side="", value=4, method="tape_measure"),
    )
    assert sorted((m, s, d) for d, m, s, *_ in as_tuples(found)) == [
        ("fingertip_to_floor", "", "2026-01-05"),
        ("hip_internal_rotation", "left", "2026-01-05"),
        ("hip_internal_rotation", "right", "2026-01-05"),
    ]


def test_each_patient_starts_its_own_history(store, make_readings):
    found = changes(
        store,
        make_readings,
        reading("2026-01-05", method="goniometer"),
        {**reading("2026-01-12", method="goniometer"), "patient_id": "P2"},
        patient=None,
    )
    assert [d for d, *_ in as_tuples(found)] == ["2026-01-05", "2026-01-12"]


def test_blank_context_is_its_own_value(store, make_readings):
    found = changes(
        store,
        make_readings,
        reading("2026-01-05"),  # all blank: the first reading is listed anyway
        reading("2026-01-12"),  # blank -> blank: no change
        reading("2026-01-19", method="goniometer"),  # blank -> goniometer: a change
        reading("2026-01-26", method="goniometer"),
        reading("2026-02-02"),  # goniometer -> blank: a change too
        reading("2026-02-09"),
    )
    assert as_tuples(found) == [
        ("2026-01-05", "hip_internal_rotation", "left", None, None, None, None),
        ("2026-01-19", "hip_internal_rotation", "left", "goniometer", None, None, None),
        ("2026-02-02", "hip_internal_rotation", "left", None, None, None, None),
    ]


def test_a_series_that_is_always_blank_lists_only_its_first_reading(store, make_readings):
    found = changes(store, make_readings, *(reading(f"2026-01-{d:02d}") for d in (5, 12, 19, 26)))
    assert as_tuples(found) == [("2026-01-05", "hip_internal_rotation", "left", None, None, None, None)]


def test_readings_are_read_in_date_order_not_entry_order(store, make_readings):
    found = changes(
        store,
        make_readings,
        reading("2026-01-19", method="inclinometer"),
        reading("2026-01-05", method="goniometer"),
        reading("2026-01-12", method="goniometer"),
    )
    assert [(d, method) for d, _, _, method, *_ in as_tuples(found)] == [
        ("2026-01-05", "goniometer"),
        ("2026-01-19", "inclinometer"),
    ]


def test_same_day_readings_follow_their_ids():
    frame = pd.DataFrame(
        {
            "id": [2, 1],
            "patient_id": "P1",
            "date": pd.to_datetime(["2026-01-05", "2026-01-05"]),
            "measure": "hip_flexion",
            "side": "left",
            "value": [100.0, 101.0],
            "method": ["inclinometer", "goniometer"],
            "position": None,
            "mode": None,
            "measured_by": None,
        }
    )
    assert context_changes(frame)["method"].tolist() == ["goniometer", "inclinometer"]


def test_no_readings_no_changes(store):
    found = context_changes(store.readings(SYSTEM))
    assert found.empty
    assert list(found.columns) == COLUMNS
