"""`hipdata trends` agrees with an independent implementation of rules 1-4: one hand-written SQL query."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from bench.run import FLOOR_TRENDS_SQL
from hipdata import catalog, demo
from hipdata.analysis import progress
from hipdata.auth import SYSTEM
from hipdata.file_import import import_file
from hipdata.store import Store

END = date(2026, 6, 14)


@pytest.fixture(scope="module")
def readings_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("oracle") / "readings.csv"
    demo.write_csv(demo.generate(patients=25, weeks=20, seed=5, end=END), path)
    return path


@pytest.mark.parametrize("as_of", [date(2026, 6, 14), date(2026, 5, 6), date(2026, 3, 1)])
def test_trends_match_an_independent_sql_query(readings_csv, tmp_path, as_of):
    store = Store(tmp_path / "app.duckdb")
    import_file(store, SYSTEM, readings_csv, today=END)
    ours = progress(store, SYSTEM, as_of).trends
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE r AS SELECT * FROM read_csv(?, header = true, types = {'side': 'VARCHAR'})",
        [str(readings_csv)],
    )
    measures = ", ".join(f"('{m.id}', {m.direction}, {m.mdc})" for m in catalog.MEASURES.values())
    oracle = con.execute(FLOOR_TRENDS_SQL.format(measures=measures, as_of=as_of.isoformat())).df()
    joined = ours.merge(
        oracle, on=["patient_id", "measure", "side"], suffixes=("", "_sql"), how="outer", indicator=True
    )
    assert (joined["_merge"] == "both").all() and len(joined) > 400
    for column in ("weeks", "baseline", "current", "change", "improvement", "mdc", "slope_per_week"):
        a, b = joined[column].astype(float), joined[f"{column}_sql"].astype(float)
        assert (np.isclose(a, b, rtol=1e-12, atol=1e-12) | (a.isna() & b.isna())).all(), column
    assert (joined["status"] == joined["status_sql"]).all()
    assert set(joined["status"]) >= {"improved", "no_detectable_change"}
    assert pd.notna(joined["slope_per_week"]).any()
