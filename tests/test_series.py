"""series.py, the rule engine on coded arrays, and progress_csv.py, the command line's pandas-free tables."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import pandas as pd
import pytest

from bench import shapes
from hipdata import catalog, contract, series
from hipdata.analysis import progress
from hipdata.auth import SYSTEM, Actor
from hipdata.checkin import monday
from hipdata.file_import import import_file
from hipdata.progress_csv import RULES_TEXT, flags_csv, trends_csv
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


def test_the_rules_text_written_unchecked_never_starts_a_formula():
    """progress_csv.RULES_TEXT columns skip the per-cell spreadsheet check: catalog ids, sides and statuses."""
    words = [*catalog.MEASURES, *catalog.SIDES, *series.STATUSES]
    assert words and not [w for w in words if re.match(contract.SPREADSHEET_ESCAPED, w)]
    assert set(RULES_TEXT) <= {"measure", "side", "status", "asymmetry"}  # asymmetry: measure ids joined


def test_the_first_trends_run_leaves_its_kept_numbers_in_the_file_not_the_log(tmp_path):
    db = tmp_path / "x.duckdb"
    readings = tmp_path / "r.csv"
    shapes.write("demo", patients=3, weeks=6, seed=1, path=readings)
    store = Store(db)
    import_file(store, SYSTEM, readings)
    store._engine.checkpoint()
    trends_csv(store, SYSTEM, TODAY)
    wal = db.with_name(db.name + ".wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed beside the CSV, not left to the close
    assert store.trends_to_compute(SYSTEM, TODAY) == ([], [], False)
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


# ---- kept trends: the command line's trends keep each series' numbers per patient version -------------

TODAY = date.today()


def _day(weeks_ago: int) -> str:
    return date.fromordinal(TODAY.toordinal() - 7 * weeks_ago).isoformat()


def _computed(store: Store, as_of: date = TODAY, patients=None, actor=SYSTEM) -> bytes:
    """The trends table as the pages compute it from the readings (nothing kept)."""
    return _frame_csv(progress(store, actor, as_of, patients).trends)


@pytest.fixture
def kept(new_db, make_readings):
    """P1 and P2, six weeks of flexion on both sides; one of P1's readings deleted. Trends run once."""
    store = Store(new_db())
    rows = [{"patient_id": p, "date": _day(w), "side": s, "value": 100 + w * (1 + (p == "P2"))}
            for p in ("P1", "P2") for s in ("left", "right") for w in range(6)]  # fmt: skip
    store.add_readings(SYSTEM, make_readings(*rows, {"date": _day(0), "value": 134}, today=TODAY))
    store.delete_row(SYSTEM, "readings", _reading(store, 134))
    store.add_patient(SYSTEM, "P3")  # no readings: kept as such, not recomputed on every run
    assert trends_csv(store, SYSTEM, TODAY) == _computed(store)
    assert store.trends_to_compute(SYSTEM, TODAY) == ([], [], False)
    yield store
    store.close()


def _reading(store: Store, value: float, deleted: bool = False) -> int:
    rows = store.deleted_readings(SYSTEM, "P1") if deleted else store.readings(SYSTEM, "P1")
    return int(rows.loc[rows["value"] == value, "id"].iloc[0])


def _one(make_readings, value: float, weeks_ago: int = 0, side: str = "left"):
    return make_readings({"date": _day(weeks_ago), "side": side, "value": value}, today=TODAY)


KEPT_WRITES = {
    "add_readings": lambda s, mr, tmp: s.add_readings(SYSTEM, _one(mr, 140)),
    "save_checkin": lambda s, mr, tmp: s.save_checkin(SYSTEM, "P1", monday(TODAY), _one(mr, 141), None),
    "update_reading": lambda s, mr, tmp: s.update_reading(SYSTEM, _reading(s, 101), _one(mr, 90, 1)),
    "delete_reading": lambda s, mr, tmp: s.delete_row(SYSTEM, "readings", _reading(s, 105)),
    "restore_reading": lambda s, mr, tmp: s.restore_reading(SYSTEM, _reading(s, 134, deleted=True)),
    "import_csv": lambda s, mr, tmp: import_file(s, SYSTEM, _file(tmp, "P1,{},hip_flexion,right,70")),
    "a new series": lambda s, mr, tmp: s.add_readings(SYSTEM, _one(mr, 30, 3, "right").assign(measure="hip_abduction")),
    "a patient's first readings": lambda s, mr, tmp: import_file(s, SYSTEM, _file(tmp, "P3,{},pain_low_back,,4")),
}  # fmt: skip


def _file(folder, row: str):
    path = folder / "readings.csv"
    path.write_text("patient_id,date,measure,side,value\n" + row.format(_day(0)) + "\n")
    return path


@pytest.mark.parametrize("write", list(KEPT_WRITES))
def test_a_write_recomputes_the_kept_trends_of_the_patient_it_changed_and_no_other(
    kept, make_readings, tmp_path, write
):
    before = trends_csv(kept, SYSTEM, TODAY)
    KEPT_WRITES[write](kept, make_readings, tmp_path)
    changed = "P3" if write == "a patient's first readings" else "P1"
    ids, versions, everyone = kept.trends_to_compute(SYSTEM, TODAY)
    assert ids == [changed] and versions == [kept.patient_version(SYSTEM, changed)] and not everyone
    after = trends_csv(kept, SYSTEM, TODAY)
    assert after != before and after == _computed(kept)
    assert kept.trends_to_compute(SYSTEM, TODAY)[0] == []
    assert trends_csv(kept, SYSTEM, TODAY) == after  # read back as kept


def test_kept_trends_hold_on_later_days_but_earlier_days_are_computed(kept, make_readings):
    later = date.fromordinal(TODAY.toordinal() + 9)
    assert kept.trends_to_compute(SYSTEM, later) == ([], [], False)
    assert trends_csv(kept, SYSTEM, later) == _computed(kept, later)
    earlier = date.fromordinal(TODAY.toordinal() - 10)  # before this week's readings: not kept
    assert kept.trends_to_compute(SYSTEM, earlier) is None
    assert trends_csv(kept, SYSTEM, earlier) == _computed(kept, earlier) != _computed(kept)
    assert kept.trends_to_compute(SYSTEM, TODAY) == ([], [], False)  # still kept through today
    before = kept.trends_to_compute(SYSTEM, date.fromordinal(TODAY.toordinal() - 1))
    assert before is None  # today's readings are after yesterday


def test_kept_trends_are_read_within_the_readers_scope(kept):
    kept.create_account(SYSTEM, "tess", "therapist", None)
    kept.assign(SYSTEM, "P2", "tess")
    tess = Actor("tess", "therapist")
    mine = trends_csv(kept, tess, TODAY)
    assert mine == _computed(kept, actor=tess) and b"P1" not in mine and b"P2" in mine
    assert trends_csv(kept, SYSTEM, TODAY, "P2") == _computed(kept, patients="P2") == mine


def test_kept_numbers_take_their_verdicts_from_the_catalog_of_the_day(kept, monkeypatch):
    assert b"worsened" not in trends_csv(kept, SYSTEM, TODAY)
    narrower = dataclasses.replace(catalog.MEASURES["hip_flexion"], mdc=5.0)
    monkeypatch.setitem(catalog.MEASURES, "hip_flexion", narrower)
    text = trends_csv(kept, SYSTEM, TODAY)
    assert text == _computed(kept) and b",5.0,-2.0,worsened" in text


def test_trends_run_at_once_keep_one_copy_of_each_patients_numbers(kept, make_readings):
    """Several runs at once (threads of one server; on PostgreSQL also another server) after a write: every
    run prints the same table, and one set of numbers per series is kept."""
    kept.add_readings(SYSTEM, _one(make_readings, 150))
    expected = _computed(kept)
    stores = [kept, *([Store(kept.path)] if kept.path.startswith("postgresql") else [])]
    try:
        with ThreadPoolExecutor(4) as pool:
            runs = list(pool.map(lambda k: trends_csv(stores[k % len(stores)], SYSTEM, TODAY), range(8)))
    finally:
        for other in stores[1:]:
            other.close()
    assert set(runs) == {expected}
    assert kept.trends_to_compute(SYSTEM, TODAY)[0] == []
    kept_rows = kept.kept_trends(SYSTEM)["weeks"]
    assert len(kept_rows) == expected.count(b"\n") - 1  # one row per series, no copies


def test_a_patient_written_to_during_a_run_is_printed_as_it_was_when_the_run_began(
    kept, make_readings, monkeypatch
):
    kept.add_readings(SYSTEM, _one(make_readings, 150))  # P1 changed: this run computes P1
    expected = _computed(kept)
    read = kept.series_readings

    def another_server_writes_first(*args, **kwargs):  # P2, kept, changes while P1 is computed
        kept.add_readings(SYSTEM, _one(make_readings, 20, 1).assign(patient_id="P2"))
        return read(*args, **kwargs)

    monkeypatch.setattr(kept, "series_readings", another_server_writes_first)
    assert trends_csv(kept, SYSTEM, TODAY) == expected  # P2 is not left out
    monkeypatch.undo()
    assert kept.trends_to_compute(SYSTEM, TODAY)[0] == ["P2"]
    assert trends_csv(kept, SYSTEM, TODAY) == _computed(kept) != expected


def test_older_numbers_never_replace_newer_ones(kept, make_readings):
    old = kept.patient_version(SYSTEM, "P1")
    kept.add_readings(SYSTEM, _one(make_readings, 150))
    expected = trends_csv(kept, SYSTEM, TODAY)  # keeps P1's newer numbers
    late = {"patient": np.zeros(1, np.int64), "measure": np.zeros(1, np.int64), "side": np.ones(1, np.int64),
            "weeks": np.ones(1, np.int64), "baseline": np.ones(1), "current": np.ones(1), "slope": np.ones(1)}  # fmt: skip
    kept.keep_trends(["P1"], [old], late)  # a slower run, computed before the write, finishes now
    assert trends_csv(kept, SYSTEM, TODAY) == expected == _computed(kept)
