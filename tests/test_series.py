"""series.py, the rule engine on coded arrays, and progress_csv.py, the command line's pandas-free tables."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import numpy as np
import pandas as pd
import pytest

from bench import shapes
from hipdata import series
from hipdata.analysis import progress
from hipdata.auth import SYSTEM
from hipdata.file_import import import_file
from hipdata.progress_csv import flags_csv, trends_csv
from hipdata.store import Store
from hipdata.store.table_csv import frame_csv


def test_weekly_medians_of_any_number_of_readings_in_any_order():
    rng = np.random.default_rng(7)
    cell = np.repeat(np.arange(400), rng.integers(1, 8, 400))  # 1 to 7 readings a week
    value = rng.integers(-40, 40, len(cell)) / rng.choice([1, 2, 10], len(cell))
    shuffled = rng.permutation(len(cell))
    cells, first, n, median = series.weekly(cell[shuffled], value[shuffled])
    expected = pd.Series(value).groupby(cell).median()
    assert np.array_equal(median, expected.to_numpy())  # exact, not close: the middle value itself
    assert np.array_equal(n, np.bincount(cell))
    assert np.array_equal(cells, np.arange(400)) and np.array_equal(cell[shuffled][first], np.arange(400))


def test_weekly_medians_of_one_reading_a_week_are_the_readings():
    cell, value = np.array([7, 3, 5]), np.array([0.5, 1.5, 2.5])
    cells, first, n, median = series.weekly(cell, value)
    assert cells.tolist() == [3, 5, 7] and first.tolist() == [1, 2, 0]
    assert n.tolist() == [1, 1, 1] and median.tolist() == [1.5, 2.5, 0.5]
    assert [len(a) for a in series.weekly(np.zeros(0, np.int64), np.zeros(0))] == [0, 0, 0, 0]


def test_weekly_series_decodes_cells_into_series_and_weeks():
    # patient 0, measure 1, side 1: two readings in one week, then one; patient 2, measure 1, side 2: one
    first, second = 5, 2 * series.SERIES_SPAN + 1 * series.SIDE_SPAN + 2
    week = series.week_of(np.array([19000, 19001, 19010, 18000]))  # a Saturday and the Sunday after it
    cell = np.array([first, first, first, second]) * series.WEEK_SPAN + week
    readings = series.Readings(
        cell, np.array([1.0, 3.0, 5.0, 7.0]), (["A", "B", "C"], ["m0", "m1"], ["", "x", "y"])
    )
    weekly = series.weekly_series(readings)
    assert weekly.code.tolist() == [first, first, second]
    assert weekly.series.v.tolist() == [2.0, 5.0, 7.0] and weekly.n.tolist() == [2, 1, 1]
    mondays = series.monday_of(weekly.series.t.astype(np.int64))
    assert [str(np.datetime64(int(d), "D")) for d in mondays] == ["2022-01-03", "2022-01-17", "2019-04-08"]
    s = weekly.series
    assert (s.patient.tolist(), s.measure.tolist(), s.side.tolist()) == ([0, 2], [1, 1], [1, 2])


def test_the_store_codes_readings_and_each_patients_last_day(new_db):
    store = Store(new_db())
    try:
        rows = pd.DataFrame({"patient_id": ["B", "B", "A"], "date": pd.to_datetime(["2024-01-02", "2024-03-05", "2023-12-31"]),
                             "measure": ["pain_knee", "hip_flexion", "pain_low_back"], "side": ["left", "right", ""],
                             "value": [3.0, 100.0, 2.0], **dict.fromkeys(("method", "position", "mode", "measured_by", "note"))})  # fmt: skip
        store.add_readings(SYSTEM, rows)
        readings = store.series_readings(SYSTEM, date(2024, 3, 4), last_days=True)
        ids, measures, sides = readings.labels
        assert ids == ["A", "B"]
        code = readings.cell // series.WEEK_SPAN
        p, m, s = series.decode(code)
        keys = sorted(zip((ids[i] for i in p), (measures[i] for i in m), (sides[i] for i in s), strict=True))
        assert keys == [
            ("A", "pain_low_back", ""),
            ("B", "pain_knee", "left"),
        ]  # the March reading is after as_of
        assert readings.last_day.tolist() == [
            (date(2023, 12, 31) - date(1970, 1, 1)).days,
            (date(2024, 1, 2) - date(1970, 1, 1)).days,
        ]
        assert store.series_readings(SYSTEM, date(2024, 3, 4)).last_day is None
    finally:
        store.close()


def test_weeks_before_1970_and_1900_are_iso_weeks():
    days = np.array([0, -1, -3, -4, -25567, -25568]).astype(np.int64)  # 1970-01-01 was a Thursday
    mondays = series.monday_of(series.week_of(days))
    assert [str(np.datetime64(int(d), "D")) for d in mondays] == [
        "1969-12-29", "1969-12-29", "1969-12-29", "1969-12-22", "1900-01-01", "1899-12-25",
    ]  # fmt: skip


@pytest.fixture(scope="module", params=sorted(shapes.SHAPES))
def shaped(request, tmp_path_factory, session_db):
    """A store holding one of the benchmark's data shapes (repeated trials and shuffled rows in `mixed`)."""
    readings = tmp_path_factory.mktemp(f"series-{request.param}") / "readings.csv"
    shapes.write(request.param, patients=30, weeks=16, seed=9, path=readings)
    store = Store(session_db(f"series-{request.param}"))
    import_file(store, SYSTEM, readings)
    yield store
    store.close()


def _frame_csv(frame: pd.DataFrame) -> bytes:
    lists = [c for c in frame if frame[c].dtype == object and isinstance(frame[c].iloc[0], list)]
    return frame_csv(frame.assign(**{c: frame[c].str.join("|") for c in lists}))


@pytest.mark.parametrize("days_back", [0, 30, 75])
def test_csv_tables_match_the_pages_tables_byte_for_byte(shaped, days_back):
    as_of = date.fromordinal(date.today().toordinal() - days_back)
    pages = progress(shaped, SYSTEM, as_of)
    assert trends_csv(shaped, SYSTEM, as_of) == _frame_csv(pages.trends)
    assert flags_csv(shaped, SYSTEM, as_of) == _frame_csv(pages.flags)
    flags = pages.flags
    assert flags["asymmetry"].map(len).gt(1).any() and flags["plateau"].any() or days_back > 0
    one = pages.flags["patient_id"].iloc[3]
    mine = progress(shaped, SYSTEM, as_of, one)
    assert trends_csv(shaped, SYSTEM, as_of, one) == _frame_csv(mine.trends)
    assert flags_csv(shaped, SYSTEM, as_of, [one]) == _frame_csv(mine.flags)


def test_csv_tables_of_formula_like_patient_ids_match_the_pages_tables(new_db, tmp_path):
    """Both escape the ids the same way, the ones that start with whitespace or a full-width sign too."""
    ids = ["=1+2", " -3", "\uff20x", "\u3000+y", "plain"]
    path = tmp_path / "odd.csv"
    rows = [f'"{p}",2024-0{m}-0{d},hip_flexion,left,{90 + m}' for p in ids for m in (1, 2) for d in (1, 8)]
    path.write_text("patient_id,date,measure,side,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    store = Store(new_db())
    try:
        import_file(store, SYSTEM, path)
        as_of = date(2024, 3, 1)
        pages = progress(store, SYSTEM, as_of)
        assert trends_csv(store, SYSTEM, as_of) == _frame_csv(pages.trends)
        assert flags_csv(store, SYSTEM, as_of) == _frame_csv(pages.flags)
        first = [line.split(",")[0] for line in flags_csv(store, SYSTEM, as_of).decode().splitlines()[1:]]
        assert first == ["' -3", "'=1+2", "plain", "'\u3000+y", "'\uff20x"]
    finally:
        store.close()


def test_csv_tables_of_a_store_with_nothing_yet(new_db):
    store = Store(new_db())
    try:
        assert (
            trends_csv(store, SYSTEM, date.today()).decode().splitlines()[0].startswith("patient_id,measure")
        )
        assert flags_csv(store, SYSTEM, date.today()).decode().splitlines() == [
            "patient_id,last_reading,inactive,worsening,pain_rising,asymmetry,plateau"
        ]
    finally:
        store.close()


def test_the_csv_commands_never_import_pandas(tmp_path):
    db = tmp_path / "x.duckdb"
    readings = tmp_path / "r.csv"
    shapes.write("demo", patients=3, weeks=6, seed=1, path=readings)
    subprocess.run([sys.executable, "-m", "hipdata", "--db", str(db), "import", str(readings)], check=True)
    for command in ("trends", "flags"):
        code = (
            "import runpy, sys; sys.argv = ['hipdata', '--db', sys.argv[1], sys.argv[2]]\n"
            "try: runpy.run_module('hipdata', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print('pandas' in sys.modules, file=sys.stderr)"
        )
        done = subprocess.run([sys.executable, "-c", code, str(db), command], capture_output=True, text=True)
        assert done.stderr.strip().splitlines()[-1] == "False", done.stderr
        assert done.stdout.count("\n") > 3
