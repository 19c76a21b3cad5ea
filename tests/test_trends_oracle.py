"""`hipdata trends` agrees with the benchmark's floors: a numpy program and one SQL query for rules 1-4.

The floor must compute exactly what the app computes, or its time means nothing: held here on both of the
benchmark's data shapes (one reading a week in order; repeated trials, notes and shuffled rows).
"""

from __future__ import annotations

import subprocess
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from bench import floor, shapes
from hipdata.analysis import progress
from hipdata.auth import SYSTEM
from hipdata.file_import import import_file
from hipdata.store import Store


@pytest.fixture(scope="module", params=sorted(shapes.SHAPES))
def database(request, tmp_path_factory, session_db):
    """The app's store, and a DuckDB file the floors read (closed, as the benchmark's floors find it),
    with the same file imported into each."""
    folder = tmp_path_factory.mktemp(f"oracle-{request.param}")
    readings = folder / "readings.csv"
    shapes.write(request.param, patients=25, weeks=20, seed=5, path=readings)
    store = Store(session_db(f"app-{request.param}"))
    import_file(store, SYSTEM, readings)
    floor_db = folder / "floor.duckdb"
    floor_store = Store(str(floor_db))
    import_file(floor_store, SYSTEM, readings)
    floor_store.close()
    yield store, floor_db
    store.close()


def _agree(ours: pd.DataFrame, oracle: pd.DataFrame) -> None:
    joined = ours.astype({"patient_id": str, "measure": str, "side": str}).merge(
        oracle.astype({"patient_id": str, "measure": str, "side": str}), on=["patient_id", "measure", "side"],
        suffixes=("", "_floor"), how="outer", indicator=True,
    )  # fmt: skip
    assert (joined["_merge"] == "both").all() and len(joined) > 400
    for column in ("weeks", "baseline", "current", "change", "improvement", "mdc", "slope_per_week"):
        a, b = joined[column].astype(float), joined[f"{column}_floor"].astype(float)
        assert (np.isclose(a, b, rtol=1e-12, atol=1e-12) | (a.isna() & b.isna())).all(), column
    assert (joined["status"] == joined["status_floor"]).all()
    assert set(joined["status"]) >= {"improved", "no_detectable_change"}
    assert pd.notna(joined["slope_per_week"]).any()


@pytest.mark.parametrize("days_back", [0, 40, 100])
def test_trends_match_the_floor_program(database, days_back, tmp_path):
    store, floor_db = database
    as_of = date.fromordinal(date.today().toordinal() - days_back)
    out = tmp_path / "floor.csv"
    subprocess.run(floor.trends_program(str(floor_db), as_of.isoformat(), str(out)), check=True)
    _agree(
        progress(store, SYSTEM, as_of).trends, pd.read_csv(out, dtype={"side": str}, keep_default_na=False)
    )


@pytest.mark.parametrize("days_back", [0, 40, 100])
def test_trends_match_the_single_sql_query(database, days_back):
    store, floor_db = database
    as_of = date.fromordinal(date.today().toordinal() - days_back)
    with duckdb.connect(str(floor_db), read_only=True) as con:
        oracle = con.execute(floor.trends_sql(as_of.isoformat())).df()
    _agree(progress(store, SYSTEM, as_of).trends, oracle)


def test_the_mixed_shape_has_repeated_trials_and_hard_notes(tmp_path):
    readings = shapes.mixed_readings(patients=10, weeks=12, seed=3)
    week = pd.to_datetime(readings["date"]).dt.to_period("W")
    per_week = readings.groupby([readings["patient_id"], readings["measure"], readings["side"], week]).size()
    assert (per_week >= 2).mean() > 0.1
    notes = readings["note"].dropna()
    assert notes.str.contains(",").any() and notes.str.contains('"').any() and notes.str.contains("\n").any()
    assert not readings["date"].is_monotonic_increasing
