"""The trends floor: rules 1-4 of CLINICAL_RULES, Theil-Sen slope included, over the raw readings of an app
database, by hand and as fast as it can be made, written as CSV.

    python bench/floor_trends.py DB AS_OF OUT.csv MEASURES_JSON

No checks, no access scope, no command line: one query for the live readings, each as its value and one
(series, week) number, then numpy. A week's median is the sorted middle (most weeks hold one reading);
the slope's pairs of every series of one length come from one matrix, their median from a partition, on
every core. It imports
neither pandas nor hipdata: each measure's direction and MDC come as JSON, {id: [direction, mdc]}.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np

PATIENTS = "SELECT patient_id FROM patients WHERE deleted_at IS NULL {only} ORDER BY 1"
READINGS = """
    WITH p AS (SELECT patient_id, (row_number() OVER (ORDER BY patient_id) - 1)::BIGINT AS code
               FROM patients WHERE deleted_at IS NULL {only})
    SELECT (code * 4096 + enum_code(measure) * 4 + enum_code(side)) * 16384 + (date - DATE '1900-01-01') // 7
           AS cell, value AS v
    FROM readings JOIN p USING (patient_id) WHERE deleted_at IS NULL AND date <= ?::DATE"""


def medians(key: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each key in sorted order, median of its values)."""
    order = np.argsort(key, kind="stable")
    k, v = key[order], v[order]
    change = k[1:] != k[:-1]
    if change.all():  # one reading a week: no new arrays (fresh memory costs more than the arithmetic)
        return k, v
    start = np.flatnonzero(np.r_[True, change])
    n = np.diff(np.r_[start, len(k)])
    m = v[start]
    if len(start) < len(k):
        two, three = n == 2, n == 3
        m[two] = (v[start[two]] + v[start[two] + 1]) / 2
        a, b, c = (v[start[three] + i] for i in range(3))
        m[three] = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
        for s, size in zip(start[n > 3], n[n > 3], strict=True):  # rare
            m[np.searchsorted(start, s)] = np.median(v[s : s + size])
    return k[start], m


def slopes(start: np.ndarray, n: np.ndarray, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.full(len(start), np.nan)

    def block(size: int, i: np.ndarray, j: np.ndarray, rows: np.ndarray) -> None:
        at = start[rows, None] + np.arange(size)
        vs, ts = v[at], t[at]
        pairs = np.take(vs, j, axis=1)  # in place from here: fresh matrices cost more than the arithmetic
        pairs -= np.take(vs, i, axis=1)
        pairs /= np.take(ts, j, axis=1) - np.take(ts, i, axis=1)
        mid = [(len(i) - 1) // 2, len(i) // 2]
        pairs.partition(mid, axis=1)
        out[rows] = (pairs[:, mid[0]] + pairs[:, mid[1]]) / 2

    work = []
    for size in np.unique(n[n >= 3]):
        rows = np.flatnonzero(n == size)
        step = max(1, 262_144 // (size * (size - 1) // 2))
        i, j = np.triu_indices(size, 1)  # once per length
        work += [(int(size), i, j, rows[c : c + step]) for c in range(0, len(rows), step)]
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(lambda w: block(*w), work))
    return out


def trends(con, as_of: str, table: dict, patients: list[str] | None = None) -> dict[str, np.ndarray]:
    """The trends table's columns, over every patient or the ones named."""
    only, params = (
        ("", []) if patients is None else ("AND list_contains(?::VARCHAR[], patient_id)", [patients])
    )
    r = con.execute(READINGS.format(only=only), [*params, as_of]).fetchnumpy()
    cell, v = medians(r["cell"], r["v"])
    sid, t = cell >> 14, np.bitwise_and(cell, 16383, out=cell)
    start = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]]) if len(sid) else np.zeros(0, int)
    n = np.diff(np.r_[start, len(sid)])
    last = start + n - 1
    baseline = (v[start] + v[np.minimum(start + 1, last)]) / 2
    current = (v[np.maximum(last - 1, start)] + v[last]) / 2
    ids = np.array(
        [p for (p,) in con.execute(PATIENTS.format(only=only), params).fetchall()] or [""], dtype=object
    )
    names = [m for (m,) in con.execute("SELECT unnest(enum_range(NULL::measure_id))").fetchall()]
    sides = [s for (s,) in con.execute("SELECT unnest(enum_range(NULL::side_id))").fetchall()]
    key = sid[start]
    measure = key % 4096 // 4
    direction = np.array([table[m][0] for m in names], dtype=float)[measure]
    mdc = np.array([table[m][1] for m in names])[measure]
    change = current - baseline
    improvement = change * direction
    slack = 1e-9 * np.maximum(
        np.maximum(np.abs(baseline), np.abs(current)), mdc
    )  # as CLINICAL_RULES' rounding
    status = np.where(n < 4, "insufficient_data", np.where(improvement >= mdc - slack, "improved",
             np.where(-improvement >= mdc - slack, "worsened", "no_detectable_change")))  # fmt: skip
    return {
        "patient_id": ids[key // 4096], "measure": np.array(names, dtype=object)[measure],
        "side": np.array(sides, dtype=object)[key % 4], "weeks": n, "baseline": baseline, "current": current,
        "change": change, "improvement": improvement, "mdc": mdc, "slope_per_week": slopes(start, n, t, v),
        "status": status.astype(object),
    }  # fmt: skip


def main(db: str, as_of: str, out: str, measures: str) -> None:
    con = duckdb.connect(db, read_only=True)
    con.execute("SET enable_progress_bar = false")
    result = trends(con, as_of, json.loads(measures))  # noqa: F841 (read by the COPY below, by name)
    con.execute(f"COPY (SELECT * FROM result) TO '{out}' (HEADER)")


if __name__ == "__main__":
    main(*sys.argv[1:5])
