"""The floors: the fastest hand-written version of each step, run on the same data as the app.

- import: DuckDB `read_csv` of the file straight into a table, with nothing checked.
- trends (and flags): bench/floor_trends.py, rules 1-4 of CLINICAL_RULES (Theil-Sen slope included) over
  the raw readings in the app's own database file: one query for three numeric columns, then numpy, the
  CSV written by DuckDB. It beats every SQL formulation tried: the single query below takes about twice
  as long (its pairwise self-join and grouped median), and list lambdas about four times.
- pages: the same program's computation for the patients the page shows, in the page's process.
- The single SQL query stays as an independent oracle (tests/test_trends_oracle.py).

What makes the query fast: every series is one integer (patient code, measure and side enum codes), so
grouping, windows and the pairwise self-join of the Theil-Sen slope never touch text; the series keys are
turned back into text only for the one row per series of the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hipdata import catalog

TRENDS_SQL = """
WITH m(measure, direction, mdc) AS (VALUES {measures}),
codes AS (SELECT patient_id, row_number() OVER (ORDER BY patient_id) AS pcode
          FROM patients WHERE deleted_at IS NULL {patients}),
w AS (SELECT (pcode * 4096 + enum_code(measure) * 4 + enum_code(side))::INTEGER AS sid,
             ((date - DATE '1900-01-01') // 7)::INTEGER AS wk, median(value) AS v
      FROM readings JOIN codes USING (patient_id)
      WHERE deleted_at IS NULL AND date <= DATE '{as_of}' GROUP BY ALL),
n AS (SELECT sid, wk, v, row_number() OVER (PARTITION BY sid ORDER BY wk)::INTEGER AS i FROM w),
s AS (SELECT sid, count(*) AS weeks, list(v ORDER BY i) AS vs FROM n GROUP BY sid),
sl AS (SELECT a.sid, median((b.v - a.v) / (b.wk - a.wk)) AS slope
       FROM n a JOIN n b ON a.sid = b.sid AND a.i < b.i GROUP BY a.sid),
k AS (SELECT sid, enum_range(NULL::measure_id)[sid // 4 % 1024 + 1] AS measure,
             enum_range(NULL::side_id)[sid % 4 + 1] AS side, weeks,
             (vs[1] + vs[least(2, weeks)]) / 2 AS baseline, (vs[greatest(weeks - 1, 1)] + vs[weeks]) / 2 AS current
      FROM s)
SELECT c.patient_id, k.measure, side, weeks, baseline, current, current - baseline AS change,
       (current - baseline) * direction AS improvement, mdc,
       CASE WHEN weeks >= 3 THEN slope END AS slope_per_week,
       CASE WHEN weeks < 4 THEN 'insufficient_data' WHEN improvement >= mdc THEN 'improved'
            WHEN improvement <= -mdc THEN 'worsened' ELSE 'no_detectable_change' END AS status
FROM k LEFT JOIN sl USING (sid) JOIN codes c ON c.pcode = sid // 4096 JOIN m ON m.measure = k.measure
ORDER BY 1, 2, 3
"""


def trends_sql(as_of: str, patients: list[str] | None = None) -> str:
    """The floor query as of a day (YYYY-MM-DD), over every patient or the ones named."""
    measures = ", ".join(f"('{m.id}', {m.direction}, {m.mdc}::DOUBLE)" for m in catalog.MEASURES.values())
    only = "" if patients is None else "AND patient_id IN ({})".format(", ".join(f"'{p}'" for p in patients))
    return TRENDS_SQL.format(measures=measures, as_of=as_of, patients=only)


MEASURES = {m.id: [m.direction, m.mdc] for m in catalog.MEASURES.values()}  # the floor's catalog


def trends_program(db: str, as_of: str, out: str) -> list[str]:
    """The command that runs the trends floor (bench/floor_trends.py) on `db`, writing its CSV to `out`."""
    return [
        sys.executable,
        str(Path(__file__).with_name("floor_trends.py")),
        db,
        as_of,
        out,
        json.dumps(MEASURES),
    ]


def import_script(db: str, csv: str) -> str:
    """A Python program that reads the CSV into a table with DuckDB's own reader, checking nothing."""
    return (
        f"import duckdb; c = duckdb.connect({db!r}); c.execute('SET enable_progress_bar = false');"
        f'c.execute("CREATE TABLE r AS SELECT * FROM read_csv({csv!r}, header = true,'
        " types = {'side': 'VARCHAR', 'date': 'DATE'})\"); c.close()"
    )
