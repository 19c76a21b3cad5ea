"""The command line's trends and flags as CSV, straight from the store's coded arrays: no pandas.

Bulk output is the command line's job, and importing pandas alone costs about as much as applying the
rules to two million readings. So the store hands over numpy arrays, series.py applies the rules (the same
engine as the pages' tables) and DuckDB writes the CSV. The columns and their text are those of
trends.series_trends and trends.patient_flags as cli.emit writes them; a test holds the two the same.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np

from hipdata import series
from hipdata.auth import Actor
from hipdata.store import Patients, Store

# Text the catalog and the rules write, never a user (tests hold that none of it can start a formula).
RULES_TEXT = ("measure", "side", "status", "asymmetry")


def _keys(s: series.Series) -> dict[str, np.ndarray]:
    names = [np.asarray(labels, dtype=object) for labels in s.labels]
    return {col: names[k][codes] for k, (col, codes) in enumerate(
        zip(("patient_id", "measure", "side"), (s.patient, s.measure, s.side), strict=True))}  # fmt: skip


def trends_csv(store: Store, actor: Actor, as_of: date, patients: Patients = None) -> bytes:
    """One row per series: rules 2-4, slope included.

    The numbers that depend on the readings alone (weeks, baseline, current, slope) are kept in the store
    per patient version, so a run computes only the patients changed since the last one; the verdicts
    (change, MDC, status) come from the catalog on every run."""
    stale = store.trends_to_compute(actor, as_of, patients)
    if stale is None:  # a day before some readings: computed, not kept
        s = series.weekly_series(store.series_readings(actor, as_of, patients)).series
        return store.table_csv({**_keys(s), **series.trends(s)}, RULES_TEXT)
    ids, versions, everyone = stale
    if ids:
        # by these ids, even for every patient: a patient added meanwhile must not shift the codes
        s = series.weekly_series(store.series_readings(actor, as_of, ids)).series
        numbers = series.trend_numbers(s)
        codes = {"patient": s.patient, "measure": s.measure, "side": s.side}
        kept = {name: numbers[name] for name in ("weeks", "baseline", "current")}
        with ThreadPoolExecutor(max_workers=1) as pool:  # the numbers are kept while the CSV is written
            keeping = pool.submit(
                store.keep_trends, ids, versions, {**codes, **kept, "slope": numbers["slope_per_week"]}
            )
            if everyone:  # nothing kept to read back
                out = store.table_csv(
                    {**_keys(s), **series.verdicts(s.measure, s.labels[1], numbers)}, RULES_TEXT
                )
                keeping.result()
                return out
            keeping.result()
    kept = store.kept_trends(actor, patients)
    measures, sides = kept.pop("labels")
    numbers = {**kept, "slope_per_week": kept.pop("slope")}
    return store.table_csv({
        "patient_id": kept.pop("patient_id"),
        "measure": np.asarray(measures, dtype=object)[kept["measure"]],
        "side": np.asarray(sides, dtype=object)[kept["side"]],
        **series.verdicts(kept["measure"], measures, numbers),
    }, RULES_TEXT)  # fmt: skip


def flags_csv(store: Store, actor: Actor, as_of: date, patients: Patients = None) -> bytes:
    """One row per patient with a reading on or before as_of: the rule-5 flags, asymmetric measures
    joined with |."""
    readings = store.series_readings(actor, as_of, patients, last_days=True)
    s = series.weekly_series(readings).series
    trend = series.trends(s, slopes=False)
    found = series.flags(s, s, trend, readings.last_day, (as_of - date(1970, 1, 1)).days)
    seen = readings.last_day != series.NO_DAY
    table = {
        "patient_id": np.asarray(s.labels[0], dtype=object)[seen],
        "last_reading": readings.last_day[seen].astype("datetime64[D]").astype("datetime64[s]"),
        **{flag: found[flag][seen] for flag in ("inactive", "worsening", "pain_rising")},
        "asymmetry": _joined(found["asymmetric_patient"], found["asymmetric_measure"], s.labels)[seen],
        "plateau": found["plateau"][seen],
    }
    return store.table_csv(table, RULES_TEXT)


def _joined(patient: np.ndarray, measure: np.ndarray, labels) -> np.ndarray:
    """Per patient code, its measures' ids joined with | (rows come grouped by patient, in name order)."""
    out = np.full(len(labels[0]), "", dtype=object)
    if len(patient):
        names = np.asarray(labels[1], dtype=object)[measure]
        starts, _ = series.runs(patient)
        parts = "|" + names  # a separator before every name but a patient's first
        parts[starts] = names[starts]
        out[patient[starts]] = np.add.reduceat(parts, starts)  # string concatenation, per patient, in C
    return out
