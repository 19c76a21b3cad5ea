"""Synthetic demo patients: deterministic, valid against the readings contract, and clinically plausible."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from hipdata import catalog, demo

END = date(2025, 3, 12)  # a Wednesday: the last week is only half over
MEASURES = catalog.measures_frame().set_index("measure")


@pytest.fixture(scope="module")
def small() -> demo.Demo:
    return demo.generate(patients=12, weeks=16, seed=7, end=END)


@pytest.fixture(scope="module")
def large() -> demo.Demo:
    return demo.generate(patients=400, weeks=20, seed=11, end=END)


def _with_catalog(readings: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    out = readings.merge(patients[["patient_id", "course"]], on="patient_id", validate="many_to_one")
    out = out.join(MEASURES[["group", "direction", "mdc", "valid_min", "valid_max", "sided"]], on="measure")
    out["week"] = out["date"] - pd.to_timedelta(out["date"].dt.day_of_week, unit="D")
    return out


def _change_in_mdc(readings: pd.DataFrame) -> pd.DataFrame:
    """Per series: (median of the last 2 weekly values - median of the first 2) x direction / MDC."""
    weekly = readings.groupby(["patient_id", "course", "measure", "side", "week"], as_index=False)[
        "value"
    ].median()
    keys = ["patient_id", "course", "measure", "side"]
    order = weekly.groupby(keys)["week"]
    first = weekly[order.rank(method="first") <= 2].groupby(keys)["value"].median()
    last = weekly[order.rank(method="first", ascending=False) <= 2].groupby(keys)["value"].median()
    out = (last - first).rename("change").reset_index()
    out = out.join(MEASURES[["group", "direction", "mdc"]], on="measure")
    out["improvement_mdc"] = out["change"] * out["direction"] / out["mdc"]
    return out


# ---- determinism and shape ---------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(small):
    again = demo.generate(patients=12, weeks=16, seed=7, end=END)
    pd.testing.assert_frame_equal(small.patients, again.patients)
    pd.testing.assert_frame_equal(small.readings, again.readings)
    pd.testing.assert_frame_equal(small.exercise_log, again.exercise_log)


def test_different_seeds_give_different_data(small):
    other = demo.generate(patients=12, weeks=16, seed=8, end=END)
    assert not small.readings["value"].equals(other.readings["value"])
    assert not small.patients.equals(other.patients)


def test_columns_and_types(small):
    assert list(small.patients.columns) == ["patient_id", "display_name", "course"]
    assert list(small.readings.columns) == list(demo.READING_COLUMNS)
    assert list(small.exercise_log.columns) == list(demo.EXERCISE_LOG_COLUMNS)
    r = small.readings
    assert r["date"].dtype == "datetime64[ns]"
    assert (r["date"] == r["date"].dt.normalize()).all()
    assert r["value"].dtype == np.float64
    for column in ("patient_id", "measure", "side", "method", "position", "mode", "measured_by", "note"):
        assert r[column].map(type).eq(str).all(), column
    assert (r["note"] == "").all()
    assert small.exercise_log["week"].dtype == "datetime64[ns]"
    assert (small.exercise_log["week"].dt.day_of_week == 0).all()


def test_patients_ids_names_and_courses(small):
    p = small.patients
    assert p["patient_id"].tolist() == [f"P{i:04d}" for i in range(1, 13)]
    assert p["display_name"].str.fullmatch(r"[A-Z][a-z]+ [A-Z]\.").all()
    assert set(p["course"]) <= set(demo.COURSES)
    wide = demo.generate(patients=12_000, weeks=1, seed=1, end=END).patients
    assert wide["patient_id"].iloc[-1] == "P12000" and wide["patient_id"].iloc[0] == "P00001"


@pytest.mark.parametrize("patients", [8, 9, 10, 12, 20])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_all_four_courses_present_from_eight_patients(patients, seed):
    courses = demo.generate(patients=patients, weeks=2, seed=seed, end=END).patients["course"]
    assert set(courses) == set(demo.COURSES)


# ---- the readings CSV contract ----------------------------------------------------------------------


def test_values_inside_valid_range_and_rounded_as_written(large):
    r = _with_catalog(large.readings, large.patients)
    assert r["value"].between(r["valid_min"], r["valid_max"]).all()
    assert np.isfinite(r["value"]).all()
    pain = r[r["group"] == "pain"]["value"]
    assert (pain == pain.round()).all() and pain.between(0, 10).all()
    rom = r[r["group"] == "rom"]["value"]
    assert (rom == rom.round()).all()
    field = r[r["group"] == "field"]["value"]
    assert (field * 2 == (field * 2).round()).all()
    assert not np.signbit(r["value"][r["value"] == 0]).any()  # no "-0.0" in a CSV


def test_side_rules(large):
    r = _with_catalog(large.readings, large.patients)
    assert r.loc[r["sided"], "side"].isin(["left", "right"]).all()
    assert (r.loc[~r["sided"], "side"] == "").all()
    series = set(zip(r["measure"], r["side"], strict=True))
    assert series == set(catalog.series_keys())


def test_context_values_come_from_the_catalog(large):
    r = large.readings
    for column, choices in catalog.CONTEXT_CHOICES.items():
        assert r[column].isin(("", *choices)).all(), column
    pain = r["measure"].map(MEASURES["group"]) == "pain"
    assert (r.loc[pain, ["method", "position", "mode"]] == "").all().all()
    assert (r.loc[pain, "measured_by"] == "self").all()


def test_no_reading_after_end_and_one_check_in_a_week(small, large):
    for d, weeks in ((small, 16), (large, 20)):
        r = d.readings
        assert r["date"].max() <= pd.Timestamp(END)
        first_monday = pd.Timestamp(END - timedelta(days=END.weekday())) - pd.Timedelta(weeks=weeks - 1)
        assert first_monday <= r["date"].min() < first_monday + pd.Timedelta(days=7)
        week = r["date"] - pd.to_timedelta(r["date"].dt.day_of_week, unit="D")
        per_week = r.assign(week=week).groupby(["patient_id", "week"])
        assert (per_week["date"].nunique() == 1).all()  # the whole check-in on one day
        assert (per_week.size() == len(catalog.series_keys())).all()  # one reading per series


def test_default_end_is_today():
    r = demo.generate(patients=5, weeks=3, seed=2).readings
    assert r["date"].max() <= pd.Timestamp(date.today())


@pytest.mark.parametrize("end", [date(2025, 3, 9), date(2025, 3, 10), date(2025, 3, 12)])
def test_last_week_is_the_one_containing_end(end):
    r = demo.generate(patients=50, weeks=4, seed=3, end=end).readings
    monday = pd.Timestamp(end - timedelta(days=end.weekday()))
    assert r["date"].max() <= pd.Timestamp(end)
    assert r["date"].min() >= monday - pd.Timedelta(weeks=3)
    if end.weekday() == 6:  # a whole week: almost everyone has checked in
        assert (r["date"] >= monday).any()


def test_csv_round_trips_exactly_and_passes_validation(small, tmp_path):
    from hipdata.validate import clean_readings

    path = tmp_path / "readings.csv"
    demo.write_csv(small, path)
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "patient_id,date,measure,side,value,method,position,mode,measured_by,note"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert raw["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (raw["value"].astype(float).to_numpy() == small.readings["value"].to_numpy()).all()
    assert (raw["date"] == small.readings["date"].dt.strftime("%Y-%m-%d")).all()
    clean = clean_readings(raw, today=END)  # raises if any row breaks the contract
    assert len(clean) == len(small.readings)


# ---- realism ------------------------------------------------------------------------------------------


def test_improving_rises_flat_stays_worsening_falls(large):
    change = _change_in_mdc(_with_catalog(large.readings, large.patients))
    moving = change[change["group"] != "pain"]
    by_course = moving.groupby("course")["improvement_mdc"].mean()
    assert by_course["improving"] >= 1.0
    assert by_course["plateau"] >= 1.0
    assert abs(by_course["flat"]) < 1.0
    assert by_course["worsening"] <= -0.6  # losses are kept small (demo.WORSENING_LOSS_MDC)
    rom = moving[moving["group"] == "rom"]
    assert (rom[rom["course"] == "improving"].groupby("measure")["improvement_mdc"].mean() >= 1.0).all()
    assert (rom[rom["course"] == "flat"].groupby("measure")["improvement_mdc"].mean().abs() < 1.0).all()


@pytest.mark.parametrize(("patients", "seed"), [(60, 0), (60, 1), (60, 7), (60, 2026), (12, 7), (12, 3)])
def test_changes_over_16_weeks_stay_plausible(patients, seed):
    """The bounds stated next to demo.COURSE_WEEKS, on several seeds."""
    d = demo.generate(patients=patients, weeks=16, seed=seed, end=END)
    change = _change_in_mdc(_with_catalog(d.readings, d.patients))
    rom = change.loc[change["group"] == "rom", "improvement_mdc"]
    assert len(rom) == patients * 12
    assert rom.quantile(0.95) <= 2.5 and rom.max() <= 3.5  # gains
    assert (-rom).quantile(0.95) <= 1.5 and (-rom).max() <= 2.5  # losses
    pain = change.loc[change["group"] == "pain", "change"].abs()
    assert pain.quantile(0.95) <= 3 and pain.max() <= 5  # points out of 10
    values = d.readings.join(MEASURES[["group"]], on="measure")
    low, high = zip(*(demo._plausible(catalog.MEASURES[m]) for m in values["measure"]), strict=True)
    assert values["value"].between(list(low), list(high)).all()
    # the courses still differ: most improving series gain, and worsening patients lose somewhere
    moving = change[change["group"] != "pain"]
    assert (moving.loc[moving["course"] == "improving", "improvement_mdc"] > 0.3).mean() > 0.7
    worse = moving[moving["course"] == "worsening"].groupby("patient_id")["improvement_mdc"].min()
    assert (worse <= -1.0).mean() > 0.5


def test_plausible_ranges_sit_inside_the_valid_ranges():
    for m in catalog.MEASURES.values():
        low, high = demo._plausible(m)
        assert m.valid_min <= low < high <= m.valid_max, m.id


def test_pain_falls_as_the_hip_improves(large):
    change = _change_in_mdc(_with_catalog(large.readings, large.patients))
    hip_pain = change[change["measure"] == "pain_hip"].groupby("course")["change"].mean()
    assert hip_pain["improving"] <= -1.0  # points on 0-10
    assert hip_pain["worsening"] >= 1.0
    assert abs(hip_pain["flat"]) < 0.5


def test_plateau_patients_stop_moving(large):
    r = _with_catalog(large.readings, large.patients)
    r = r[(r["course"] == "plateau") & (r["group"] == "rom")]
    weekly = r.groupby(["patient_id", "measure", "side", "week"], as_index=False)["value"].median()
    rank = weekly.groupby(["patient_id", "measure", "side"])["week"].rank(method="first", ascending=False)
    keys = ["patient_id", "measure", "side"]
    tail = weekly[rank <= 2].groupby(keys)["value"].median()
    before = weekly[rank.between(6, 7)].groupby(keys)["value"].median()
    moved = ((tail - before) / tail.index.get_level_values("measure").map(MEASURES["mdc"])).dropna()
    assert abs(moved.mean()) < 0.5


def test_noise_sd_is_about_the_sem(large):
    r = _with_catalog(large.readings, large.patients)
    r = r[(r["course"] == "flat") & (r["measured_by"] == "self")]
    r = r[(r["group"] != "pain") | (r["measure"] == "pain_hip")]
    keys = ["patient_id", "measure", "side", "method", "position", "mode"]
    groups = r.groupby(keys)["value"]
    r = r.assign(resid=r["value"] - groups.transform("mean"), n=groups.transform("size"))
    level = r.groupby(keys)["value"].transform("mean")
    # pain: only series well away from 0 and 10, where clipping does not shrink the spread
    r = r[(r["n"] >= 5) & ((r["group"] != "pain") | level.between(3, 7))]
    series = r.drop_duplicates(keys).groupby("measure").size()
    by_measure = r.groupby("measure").agg(ss=("resid", lambda x: (x**2).sum()), n=("resid", "size"))
    pooled = np.sqrt(by_measure["ss"] / (by_measure["n"] - series))  # pooled within-series SD
    expected = MEASURES.loc[pooled.index, "mdc"] / 2.77
    ratio = pooled / expected
    assert len(ratio) == 9, ratio
    assert ratio.between(0.75, 1.35).all(), ratio


def test_missed_weeks_and_inactive_patients(large, small):
    r = large.readings
    weeks = r.groupby("patient_id")["date"].agg(["min", "max"])
    check_ins = r.groupby("patient_id")["date"].nunique()
    span = (weeks["max"] - weeks["min"]).dt.days // 7 + 1
    gaps = span - check_ins
    missed = gaps.sum() / span.sum()
    assert 0.03 <= missed <= 0.12
    for d in (small, large):
        last = d.readings.groupby("patient_id")["date"].max()
        inactive = (pd.Timestamp(END) - last).dt.days >= 14
        assert 1 <= inactive.sum() <= max(2, 0.15 * len(last))


def test_asymmetry_and_context_changes(large):
    r = _with_catalog(large.readings, large.patients)
    first = r[r["week"] == r["week"].min()]
    ir = first[first["measure"] == "hip_internal_rotation"].pivot(
        index="patient_id", columns="side", values="value"
    )
    assert ((ir["left"] - ir["right"]).abs() >= 8).mean() > 0.15  # some patients have one stiffer side
    rom = r[r["group"] == "rom"]
    methods = rom.groupby("patient_id")["method"].nunique()
    assert (methods > 1).mean() > 0.2  # clinic visits or a new instrument
    assert (methods == 1).mean() > 0.3  # but most readings keep the patient's usual context
    assert (rom["measured_by"] == "therapist").any()
    assert (rom["measured_by"] == "self").mean() > 0.8


def test_exercise_log(large):
    log, r = large.exercise_log, large.readings
    assert log["exercise"].isin(list(catalog.EXERCISES)).all()
    per_patient = log.groupby("patient_id")["exercise"].nunique()
    assert per_patient.between(3, 5).all()
    assert log["sessions"].between(0, 7).all()
    check_ins = set(
        zip(r["patient_id"], r["date"] - pd.to_timedelta(r["date"].dt.day_of_week, unit="D"), strict=True)
    )
    assert set(zip(log["patient_id"], log["week"], strict=True)) == check_ins
    assert not log.duplicated(["patient_id", "week", "exercise"]).any()
    dose = log["exercise"].map({e.id: e.dose for e in catalog.EXERCISES.values()})
    banded = dose.str.contains("band")
    assert log.loc[banded, "band_level"].isin(["light", "medium", "heavy"]).all()
    assert (log.loc[~banded, "band_level"] == "").all()
    loaded = log["exercise"] == "bulgarian_split_squat"
    assert log.loc[loaded, "load_kg"].notna().all() and log.loc[~loaded, "load_kg"].isna().all()
    timed = dose.str.contains("seconds|minutes")
    assert log.loc[timed, "seconds"].notna().all() and log.loc[~timed, "seconds"].isna().all()
    assert log.loc[timed & ~dose.str.contains("reps"), "reps"].isna().all()
    adherence = log.groupby("patient_id")["sessions"].mean()
    assert adherence.max() >= 3.5 and adherence.min() <= 2.0  # some keep at it, some do not


def test_small_and_edge_sizes():
    one = demo.generate(patients=1, weeks=1, seed=0, end=date(2025, 3, 9))
    assert len(one.patients) == 1 and len(one.readings) in (0, len(catalog.series_keys()))
    none = demo.generate(patients=0, weeks=4, seed=0, end=END)
    assert (
        none.readings.empty
        and none.exercise_log.empty
        and list(none.readings.columns) == list(demo.READING_COLUMNS)
    )
    with pytest.raises(ValueError):
        demo.generate(patients=3, weeks=0)


def test_load_demo_twice_adds_nothing(new_db):
    from hipdata.auth import SYSTEM
    from hipdata.store import Store

    store = Store(new_db("demo"))
    try:
        first = demo.load_demo(store, SYSTEM, patients=4, weeks=5, seed=1, end=END)
        second = demo.load_demo(store, SYSTEM, patients=4, weeks=5, seed=1, end=END)
        assert first.added > 0 and second.added == 0
        assert store.patients(SYSTEM)["display_name"].str.len().gt(0).all()
        log = store.records(SYSTEM, "exercise_log")
        assert len(log) == len(demo.generate(patients=4, weeks=5, seed=1, end=END).exercise_log)
    finally:
        store.close()


# ---- one transaction: all or nothing, and a second run completes what is missing --------------------------

DEMO_TABLES = ("patients", "readings", "exercise_log", "programme", "audit")


def table_counts(path) -> dict[str, int]:
    from hipdata.store import Store

    store = Store(path)  # opened as the app opens it: replays what the log holds
    try:
        cur = store._cursor()
        return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in DEMO_TABLES}
    finally:
        store.close()


def test_a_failure_in_the_last_step_leaves_nothing_and_a_rerun_writes_everything(new_db, monkeypatch):
    from hipdata.auth import SYSTEM
    from hipdata.store import Store

    path = new_db("demo")
    store = Store(path)
    real_insert = Store._insert_owned

    def fail_on_programme(self, cur, actor, table, rows):
        if table == "programme":  # everything else is written by now
            raise RuntimeError("the process dies here")
        return real_insert(self, cur, actor, table, rows)

    monkeypatch.setattr(Store, "_insert_owned", fail_on_programme)
    with pytest.raises(RuntimeError):
        demo.load_demo(store, SYSTEM, patients=4, weeks=5, seed=1, end=END)
    monkeypatch.undo()
    store.close()
    assert set(table_counts(path).values()) == {0}
    store = Store(path)
    try:
        demo.load_demo(store, SYSTEM, patients=4, weeks=5, seed=1, end=END)
        expected = demo.generate(patients=4, weeks=5, seed=1, end=END)
        assert len(store.records(SYSTEM, "exercise_log")) == len(expected.exercise_log)
        assert set(store.records(SYSTEM, "programme")["patient_id"]) == set(
            expected.exercise_log["patient_id"]
        )
    finally:
        store.close()


def test_a_half_loaded_demo_gets_its_exercise_log_and_programme(new_db):
    """A database left by an interrupted load of an older version: patients and readings, nothing else."""
    from hipdata.auth import SYSTEM
    from hipdata.store import Store

    store = Store(new_db("demo"))
    try:
        full = demo.generate(patients=4, weeks=5, seed=1, end=END)
        store.add_patients(SYSTEM, full.patients.astype(object))
        demo.load_demo(store, SYSTEM, patients=4, weeks=5, seed=1, end=END)
        log = store.records(SYSTEM, "exercise_log")
        assert len(log) == len(full.exercise_log) and len(store.records(SYSTEM, "programme"))
        store.delete_row(SYSTEM, "programme", int(store.records(SYSTEM, "programme")["id"].iloc[0]))
        before = len(store.records(SYSTEM, "programme"))
        again = demo.load_demo(store, SYSTEM, patients=4, weeks=5, seed=1, end=END)
        assert again.added == 0 and len(store.records(SYSTEM, "exercise_log")) == len(log)
        assert len(store.records(SYSTEM, "programme")) == before, "a removed exercise does not come back"
    finally:
        store.close()


def test_kill_9_at_any_moment_leaves_all_or_nothing(new_db, store_engine):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    command = [sys.executable, "-m", "hipdata", "--db"]
    size = ["demo", "--patients", "120", "--weeks", "30", "--seed", "5"]
    reference = new_db("reference")
    started = time.monotonic()
    subprocess.run([*command, reference, *size], check=True, capture_output=True)
    took = time.monotonic() - started
    complete = table_counts(reference)
    victim = new_db("victim")
    for fraction in (0.35, 0.5, 0.65, 0.8, 0.9, 0.97):
        process = subprocess.Popen([*command, victim, *size], stdout=subprocess.DEVNULL)
        time.sleep(took * fraction)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        # a DuckDB file killed before it was created is not created by looking (a PostgreSQL schema exists)
        opened = store_engine != "duckdb" or Path(victim).exists()
        counts = table_counts(victim) if opened else dict.fromkeys(DEMO_TABLES, 0)
        assert counts in (dict.fromkeys(DEMO_TABLES, 0), complete), f"killed at {fraction:.0%}: {counts}"
    subprocess.run([*command, victim, *size], check=True, capture_output=True)
    assert {t: n for t, n in table_counts(victim).items() if t != "audit"} == {
        t: n for t, n in complete.items() if t != "audit"
    }


def test_flags_follow_the_courses():
    """Bounded courses still read as their kind over 16 weeks: plateau patients get the plateau flag far
    more often than steady improvers, and worsening patients get the worsening flag."""
    from hipdata import trends

    large = demo.generate(patients=400, weeks=16, seed=5, end=END)
    r = large.readings.assign(week=large.readings["date"].dt.to_period("W-SUN").dt.start_time)
    weekly = r.groupby(["patient_id", "measure", "side", "week"], as_index=False).agg(
        value=("value", "median"), n=("value", "size")
    )
    series = trends.series_trends(weekly, False)
    last = r.groupby("patient_id", as_index=False)["date"].max().rename(columns={"date": "last_reading"})
    flags = trends.patient_flags(series, weekly, last, END).merge(large.patients, on="patient_id")
    rate = flags.groupby("course")[["plateau", "worsening"]].mean()
    assert rate.loc["plateau", "plateau"] > 0.5 > 2 * rate.loc["improving", "plateau"]
    assert rate.loc["worsening", "worsening"] > 0.8
    assert rate.loc["flat", "worsening"] < 0.2 and rate.loc["improving", "worsening"] < 0.05
