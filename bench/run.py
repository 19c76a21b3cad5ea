"""Benchmarks: the app's own path next to a floor measured in the same run, on the same data.

    python -m bench [--patients 2000] [--weeks 52] [--page-patients 1000]

Each measurement runs in its own process so that peak memory (max RSS) belongs to it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).parents[1]
PY = sys.executable

# Rules 1-4 of CLINICAL_RULES as one hand-written DuckDB query over the raw readings: the floor for `trends`.
FLOOR_TRENDS_SQL = """
WITH m(measure, direction, mdc) AS (VALUES {measures}),
w AS (SELECT patient_id, measure, coalesce(side, '') AS side, date_trunc('week', date) AS week, median(value) AS v
      FROM r WHERE date <= DATE '{as_of}' GROUP BY ALL),
n AS (SELECT *, row_number() OVER s AS i, count(*) OVER s AS weeks FROM w
      WINDOW s AS (PARTITION BY patient_id, measure, side ORDER BY week
                   ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)),
bc AS (SELECT patient_id, measure, side, any_value(weeks) AS weeks,
              median(v) FILTER (WHERE i <= 2) AS baseline, median(v) FILTER (WHERE i > weeks - 2) AS current
       FROM n GROUP BY ALL),
slopes AS (SELECT a.patient_id, a.measure, a.side,
                  median((b.v - a.v) / (datediff('day', a.week, b.week) / 7.0)) AS slope
           FROM n a JOIN n b ON a.patient_id = b.patient_id AND a.measure = b.measure AND a.side = b.side
                AND a.i < b.i GROUP BY ALL)
SELECT bc.patient_id, bc.measure, bc.side, weeks, baseline, current, current - baseline AS change,
       (current - baseline) * direction AS improvement, mdc,
       CASE WHEN weeks >= 3 THEN slope END AS slope_per_week,
       CASE WHEN weeks < 4 THEN 'insufficient_data' WHEN improvement >= mdc THEN 'improved'
            WHEN improvement <= -mdc THEN 'worsened' ELSE 'no_detectable_change' END AS status
FROM bc JOIN m USING (measure) LEFT JOIN slopes USING (patient_id, measure, side)
ORDER BY 1, 2, 3
"""


def measure(
    command: list[str], env: dict | None = None, stdout=subprocess.DEVNULL
) -> tuple[float, float, str]:
    """Wall time (s), peak memory (MiB) and the last stdout line of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE)
    out = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss / 1024, (out.strip().splitlines() or [""])[-1]


def python(code: str, **env) -> tuple[float, float, str]:
    return measure([PY, "-c", code], env=env)


def row(name: str, app: float, floor: float, target: str, app_mem: float, floor_mem: float) -> str:
    return f"| {name} | {app:.2f} s | {floor:.2f} s | {app / floor:.2f}x | {target} | {app_mem:.0f} / {floor_mem:.0f} MiB |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--page-patients", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    from hipdata import catalog

    as_of = date.today().isoformat()
    work = Path(tempfile.mkdtemp(prefix="hipdata-bench-"))
    csv = work / "readings.csv"
    page_csv = work / "page-readings.csv"
    t0 = time.perf_counter()
    python(
        "from hipdata import demo;"
        f"demo.write_csv(demo.generate({args.patients}, {args.weeks}, {args.seed}), {str(csv)!r});"
        f"demo.write_csv(demo.generate({args.page_patients}, {args.weeks}, {args.seed}), {str(page_csv)!r})"
    )
    rows = sum(1 for _ in csv.open()) - 1
    print(
        f"data: {args.patients} patients x {args.weeks} weeks = {rows:,} readings ({time.perf_counter() - t0:.1f} s to make)"
    )
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")

    # import: the CLI (validation, dedupe, weekly aggregates, audit) vs read_csv straight into a table
    app_db, floor_db = work / "app.duckdb", work / "floor.duckdb"
    app_t, app_mem, _ = measure([PY, "-m", "hipdata", "--db", str(app_db), "import", str(csv)])
    floor_code = (
        "import duckdb, time; t = time.perf_counter(); c = duckdb.connect({db!r});"
        'c.execute("CREATE TABLE r AS SELECT * FROM read_csv({csv!r}, header=true,'
        " types={{'side': 'VARCHAR', 'date': 'DATE'}})\"); c.close(); print(time.perf_counter() - t)"
    )
    floor_t, floor_mem, floor_core = python(floor_code.format(db=str(floor_db), csv=str(csv)))
    results = [row("import (CLI)", app_t, floor_t, "≤ 2x", app_mem, floor_mem)]

    # trends and flags: the CLI vs one hand-written SQL query for rules 1-4 on the raw readings
    measures = ", ".join(f"('{m.id}', {m.direction}, {m.mdc})" for m in catalog.MEASURES.values())
    sql = FLOOR_TRENDS_SQL.format(measures=measures, as_of=as_of).replace("\n", " ")
    floor_trends = (
        f"import duckdb, time; t = time.perf_counter(); c = duckdb.connect({str(floor_db)!r}, read_only=True);"
        f"n = len(c.execute({sql!r}).fetchall()); print(time.perf_counter() - t)"
    )
    floor_t, floor_mem, _ = python(floor_trends)
    for command in ("trends", "flags"):
        cmd = [PY, "-m", "hipdata", "--db", str(app_db), command, "--as-of", as_of, "--format", "csv"]
        app_t, app_mem, _ = measure(cmd)
        results.append(row(f"{command} (CLI)", app_t, floor_t, "≤ 1.5x", app_mem, floor_mem))

    # pages: server-side time of AppTest runs: a page's first visit in a new process (imports its modules),
    # its first run after a write (the caches miss) and a cached run
    page_db = work / "pages.duckdb"
    measure([PY, "-m", "hipdata", "--db", str(page_db), "import", str(page_csv)])
    page_code = f"""
import time, datetime
import pandas as pd
from streamlit.testing.v1 import AppTest
from hipdata import auth
from hipdata.auth import SYSTEM
from hipdata.store import Store
s = Store({str(page_db)!r})
s.create_account(SYSTEM, "bench", "admin", auth.hash_password("benchmark-password"))
token = s.open_session("bench", datetime.datetime.now())
out = {{}}
at = AppTest.from_file({str(ROOT / "app.py")!r}, default_timeout=600)
at.session_state["session_token"] = token

def write():  # any write bumps the data version, so the next run recomputes instead of reading its cache
    note = {{"patient_id": ["P0001"], "week": [pd.Timestamp("2025-01-06")], "text": ["benchmark"]}}
    s.add_records(SYSTEM, "notes", pd.DataFrame(note))

def timed(label):
    t = time.perf_counter(); at.run(); out[label] = time.perf_counter() - t
    assert not at.exception, at.exception

for page in ("caseload", "progress"):
    if page == "progress":
        at.session_state["review_patient"] = "P0001"
        at.switch_page("app_pages/progress.py")
    timed(f"{{page}} first visit")  # includes importing the page's modules, once per server process
    write()
    timed(f"{{page}} first after a write")
    timed(f"{{page}} cached")
print(__import__("json").dumps(out))
"""
    _, page_mem, page_json = python(page_code, HIPDATA_DB=str(page_db))
    pages = json.loads(page_json)

    print("| step | app | floor | ratio | target | peak memory app / floor |")
    print("|---|---|---|---|---|---|")
    print("\n".join(results))
    print(f"\nfloor import core time (inside its process): {float(floor_core):.2f} s\n")
    print(f"| page at {args.page_patients} patients x {args.weeks} weeks | server time | target |")
    print("|---|---|---|")
    for label, seconds in pages.items():
        target = "" if "first visit" in label else "≤ 1 s" if label.startswith("caseload") else "≤ 0.3 s"
        print(f"| {label} | {seconds:.3f} s | {target} |")
    print(f"\npeak memory of the page process: {page_mem:.0f} MiB")
    print(f"(files in {work})")


if __name__ == "__main__":
    main()
