"""Reading progress: weekly series, baseline/current/status, trend slope and caseload flags.

The rules (shared/reference/CLINICAL_RULES.md), in plain words:

1. Only readings dated on or before `as_of` count, so any past day can be reproduced. A reading belongs to
   the ISO week of its date, named by its Monday; the week's value is the median of that week's readings.
   Weeks without readings are gaps: never filled. `weeks` counts the weeks that have a value.
2. baseline = median of the first two weekly values, current = median of the last two (with one week of
   data, both are that week's value). change = current - baseline, in the measure's unit; improvement is
   the change turned so that positive is always better (x -1 where lower is better).
3. status, in this order: fewer than 4 weeks -> insufficient_data; improvement >= MDC -> improved;
   improvement <= -MDC -> worsened; otherwise no_detectable_change. A change smaller than the minimal
   detectable change (MDC) cannot be told apart from measurement noise.
4. slope_per_week: Theil-Sen slope, the median of the slopes between every pair of weeks (time in weeks,
   Monday to Monday / 7); one odd week cannot swing it. Empty under 3 weeks.
5. Flags per patient: worsening (a ROM or field-test series worsened), pain_rising (a pain series
   worsened), asymmetry (left and right current values of a ROM or field measure differ by >= MDC),
   inactive (last reading 14 or more days before as_of), plateau (a ROM series improved, yet every ROM series
   with 8+ weeks moved less than its MDC between the last two weeks and the two weeks six back).

The rules themselves live in series.py, on integer-coded arrays; this module turns tables into those
arrays and the answers back into tables, for the pages, the report and the tests.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from hipdata import series
from hipdata.series import (
    INACTIVE_DAYS,
    MIN_WEEKS_SLOPE,
    MIN_WEEKS_STATUS,
    PLATEAU_MIN_WEEKS,
    REL_TOL,
    STATUSES,
)

__all__ = ["INACTIVE_DAYS", "MIN_WEEKS_SLOPE", "MIN_WEEKS_STATUS", "PLATEAU_MIN_WEEKS", "REL_TOL", "STATUSES"]

KEYS = ["patient_id", "measure", "side"]
WEEKLY_COLUMNS = [*KEYS, "week", "value", "n"]
TREND_COLUMNS = [
    *KEYS,
    "weeks",
    "baseline",
    "current",
    "change",
    "improvement",
    "mdc",
    "slope_per_week",
    "status",
]
TREND_COLUMNS_WITHOUT_SLOPE = [c for c in TREND_COLUMNS if c != "slope_per_week"]
ASYMMETRY_COLUMNS = ["patient_id", "measure", "left", "right", "difference", "mdc", "lsi", "asymmetric"]
FLAG_COLUMNS = ["patient_id", "last_reading", "inactive", "worsening", "pain_rising", "asymmetry", "plateau"]


def _days(values) -> np.ndarray:
    """Dates (datetime64, python dates or ISO strings) as whole days since 1970-01-01; NaT -> int64 min."""
    stamps = pd.to_datetime(pd.Series(values))
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_localize(None)  # keep the local calendar day
    return stamps.to_numpy().astype("datetime64[D]").astype(np.int64)


def _day(as_of) -> int:
    return int(np.datetime64(pd.Timestamp(as_of or date.today()).date(), "D").astype(np.int64))


def _as_datetime(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[ns]")


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    """The key columns, with a missing side read as '' (a measure without sides).

    Categorical columns (as the store hands them over) stay categorical here: series keys are turned
    into strings only once per series, not once per row.
    """

    def text(column: pd.Series) -> pd.Series:
        return column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype(str)

    side = frame["side"]
    if not isinstance(side.dtype, pd.CategoricalDtype):
        side = side.fillna("")
    return pd.DataFrame(
        {"patient_id": text(frame["patient_id"]), "measure": text(frame["measure"]), "side": text(side)},
        index=frame.index,
    )


def _positions(values: pd.Series, names: pd.Index) -> np.ndarray:
    """Each value's place in `names`, -1 where it is not there (categoricals looked up once per category)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return names.get_indexer(values.cat.categories.astype(str))[values.cat.codes]
    return names.get_indexer(values.astype(str))


class _Coded:
    """Each row's (patient, measure, side) codes, their labels, and one int64 per series in key order.

    patients: code patients by their place in this sorted list instead (-1 for one not in it).
    """

    def __init__(self, frame: pd.DataFrame, patients: pd.Index | None = None):
        keys = _keys(frame)
        codes, labels = [], []
        for col in KEYS:  # three columns, not rows
            if col == "patient_id" and patients is not None:
                code, names = _positions(keys[col], patients), patients
            else:
                code, names = pd.factorize(keys[col], sort=True)
            codes.append(np.asarray(code, dtype=np.int64))
            labels.append(np.asarray(names, dtype=object))
        self.keys = tuple(codes)
        self.labels = tuple(labels)
        p, m, s = codes
        self.series = (p * max(len(labels[1]), 1) + m) * max(len(labels[2]), 1) + s

    def frame(self, s: series.Series) -> pd.DataFrame:
        """The key columns of each series, as text."""
        codes = (s.patient, s.measure, s.side)
        return pd.DataFrame({col: self.labels[k][codes[k]] for k, col in enumerate(KEYS)})


def weekly_values(readings: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """One row per (patient_id, measure, side, week): the median `value` of the week's `n` readings.

    Readings after as_of (default today) are left out, also those later in the week holding as_of. Rows
    without a date or a value are left out. `week` is the Monday (datetime64[ns]); sorted by series, week.
    """
    days = _days(readings["date"])
    value = readings["value"].to_numpy(dtype=float, na_value=np.nan)
    keep = (days != series.NO_DAY) & (days <= _day(as_of)) & ~np.isnan(value)
    if not keep.all():  # skip the copy in the common case
        readings, days, value = readings[keep], days[keep], value[keep]
    keys = _keys(readings)
    week = series.week_of(days)
    first_week = int(week.min(initial=0))
    cell = _Coded(keys).series * (int(week.max(initial=0)) - first_week + 1) + (week - first_week)
    _, first, n, median = series.weekly(cell, value)
    out = keys.iloc[first].reset_index(drop=True)
    out["week"] = _as_datetime(series.monday_of(week[first]))
    out["value"] = median
    out["n"] = n.astype(np.int64)
    return out


def _series(weekly: pd.DataFrame, patients: pd.Index | None = None) -> tuple[series.Series, _Coded]:
    """The weekly rows (a week counts only when it has a value) as series, in key and week order."""
    value = weekly["value"].to_numpy(dtype=float, na_value=np.nan)
    weekly = weekly[~np.isnan(value)]
    coded = _Coded(weekly, patients)
    week = series.week_of(_days(weekly["week"]))
    code = coded.series
    in_order = (code[1:] > code[:-1]) | ((code[1:] == code[:-1]) & (week[1:] > week[:-1]))
    order = np.arange(len(code))
    if not in_order.all():  # weekly_values and the store hand over sorted frames: skip the sort then
        order = np.lexsort((week, code))
        if np.any((code[order][1:] == code[order][:-1]) & (week[order][1:] == week[order][:-1])):
            raise ValueError("weekly must hold at most one row per (patient_id, measure, side, week)")
    v = weekly["value"].to_numpy(dtype=float)[order]

    def keys(rows: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(k[order[rows]] for k in coded.keys)

    return series.Series.of(code[order], week[order], v, keys, coded.labels), coded


def _rows(table: pd.DataFrame, patients: pd.Index | None = None) -> tuple[series.Series, _Coded]:
    """Each row of a table with one row per series (as trends), as a one-week series."""
    coded = _Coded(table, patients)
    n = len(table)
    ones = np.ones(n, dtype=np.int64)
    return series.Series(np.arange(n), ones, np.zeros(n), np.zeros(n), *coded.keys, coded.labels), coded


def theil_sen(weekly: pd.DataFrame) -> pd.Series:
    """Theil-Sen slope per week of each series, indexed by (patient_id, measure, side); NaN under 3 weeks."""
    s, coded = _series(weekly)
    return pd.Series(
        series.theil_sen(s), index=pd.MultiIndex.from_frame(coded.frame(s)), name="slope_per_week"
    )


def series_trends(weekly: pd.DataFrame, slopes: bool = True) -> pd.DataFrame:
    """One row per series of `weekly` (as weekly_values returns it): rules 2-4, sorted by series.

    slopes=False leaves out slope_per_week: the Theil-Sen slope is most of the cost, and the caseload
    and the flags do not use it.
    """
    s, coded = _series(weekly)
    out = coded.frame(s).assign(**series.trends(s, slopes))
    return out[TREND_COLUMNS if slopes else TREND_COLUMNS_WITHOUT_SLOPE]


def asymmetries(trends: pd.DataFrame) -> pd.DataFrame:
    """ROM and field measures with a current value on both sides: |left - right| against the MDC, and LSI.

    lsi = 100 x smaller / larger current value (100 = symmetric), NaN unless both values are positive.
    """
    rows, coded = _rows(trends)
    found = series.asymmetries(rows, trends["current"].to_numpy(dtype=float, na_value=np.nan))
    names = {
        "patient_id": coded.labels[0][found.pop("patient")],
        "measure": coded.labels[1][found.pop("measure")],
    }
    return pd.DataFrame({**names, **found})[ASYMMETRY_COLUMNS]


def patient_flags(
    trends: pd.DataFrame, weekly: pd.DataFrame, last_reading: pd.DataFrame, as_of: date | None = None
) -> pd.DataFrame:
    """One row per patient in `last_reading` (patient_id, last_reading): the rule-5 flags, sorted by patient.

    `trends` and `weekly` cover the same readings (on or before as_of, default today). asymmetry is a list
    of measure ids (sorted; empty when none). A missing last_reading is not inactive.
    """
    out = pd.DataFrame(
        {
            "patient_id": last_reading["patient_id"].astype(str),
            "last_reading": _as_datetime(_days(last_reading["last_reading"])),
        }
    ).sort_values("patient_id", ignore_index=True)
    patients = pd.Index(out["patient_id"])
    rows, coded = _rows(trends, patients)
    weekly_s, _ = _series(weekly, patients)
    known = rows.patient >= 0  # series of patients without a last reading are not flagged
    rows, weekly_s = rows.only(known), weekly_s.only(weekly_s.patient >= 0)
    trend = {
        "status": trends["status"].to_numpy(dtype=object)[known],
        "current": trends["current"].to_numpy(dtype=float, na_value=np.nan)[known],
    }
    found = series.flags(weekly_s, rows, trend, _days(out["last_reading"]), _day(as_of))
    asymmetry = _asymmetry_lists(
        found.pop("asymmetric_patient"), found.pop("asymmetric_measure"), coded.labels[1], len(patients)
    )
    return out.assign(**found, asymmetry=asymmetry)[FLAG_COLUMNS]


def _asymmetry_lists(patient: np.ndarray, measure: np.ndarray, names, patients: int) -> list[list[str]]:
    """Per patient code 0..patients-1, the ids of its asymmetric measures, from series.flags' (patient,
    measure) code rows (by patient and measure name): one step per run of a patient's rows."""
    lists: list[list[str]] = [[] for _ in range(patients)]
    if not len(patient):
        return lists
    ids = np.asarray(names, dtype=object)[measure]
    starts, _ = series.runs(patient)
    for p, run in zip(patient[starts], np.split(ids, starts[1:]), strict=True):
        lists[p].extend(run.tolist())
    return lists


def caseload_frames(r: series.Readings, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """(trends without slopes, flags, first weeks) of coded readings (Store.series_readings with
    last_days): the rows of series_trends(weekly, slopes=False), patient_flags and each patient's first
    weekly value's Monday, without a frame of every weekly value. Rows in the ids' code point order,
    whatever order the database sorts them in."""
    if r.last_day is None:
        raise ValueError("caseload_frames needs each patient's last reading (series_readings last_days=True)")
    s = series.weekly_series(r).series
    ids = np.asarray(s.labels[0], dtype=object)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(ids, kind="stable")] = np.arange(len(ids))
    trend = series.trends(s, slopes=False)
    found = series.flags(s, s, trend, r.last_day, _day(as_of))
    order = np.lexsort((s.side, s.measure, rank[s.patient]))  # measure and side codes are in name order
    keys = {"patient_id": ids[s.patient], "measure": np.asarray(s.labels[1], dtype=object)[s.measure],
            "side": np.asarray(s.labels[2], dtype=object)[s.side]}  # fmt: skip
    columns = {**keys, **trend}
    trends = pd.DataFrame({c: columns[c][order] for c in TREND_COLUMNS_WITHOUT_SLOPE})
    seen = np.flatnonzero(r.last_day != series.NO_DAY)
    seen = seen[np.argsort(rank[seen])]
    asymmetry = _asymmetry_lists(
        found["asymmetric_patient"], found["asymmetric_measure"], s.labels[1], len(ids)
    )
    flags = pd.DataFrame(
        {"patient_id": ids[seen], "last_reading": _as_datetime(r.last_day[seen]),
         **{flag: found[flag][seen] for flag in ("inactive", "worsening", "pain_rising", "plateau")},
         "asymmetry": [asymmetry[p] for p in seen]}
    )[FLAG_COLUMNS]  # fmt: skip
    runs, _ = series.runs(s.patient)  # series come patient by patient
    started = np.argsort(rank[s.patient[runs]])
    first = np.minimum.reduceat(s.t[s.starts], runs)[started]
    first_weeks = pd.Series(
        _as_datetime(series.monday_of(first)),
        index=pd.Index(ids[s.patient[runs][started]], dtype=object, name="patient_id"),
        name="first_week",
    )
    return trends, flags, first_weeks


def last_readings(readings: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """patient_id, last_reading: each patient's latest reading date on or before as_of (default today)."""
    days = _days(readings["date"])
    keep = (days != series.NO_DAY) & (days <= _day(as_of))
    codes, patients = pd.factorize(readings["patient_id"].astype(str)[keep], sort=True)
    latest = pd.Series(days[keep]).groupby(codes).max().to_numpy()
    return pd.DataFrame(
        {"patient_id": np.asarray(patients, dtype=object), "last_reading": _as_datetime(latest)}
    )


def trends_for(
    readings: pd.DataFrame, as_of: date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(weekly, trends, flags) of raw readings as of a day (default today), in one call."""
    as_of = as_of or date.today()
    weekly = weekly_values(readings, as_of)
    trends = series_trends(weekly)
    return weekly, trends, patient_flags(trends, weekly, last_readings(readings, as_of), as_of)
