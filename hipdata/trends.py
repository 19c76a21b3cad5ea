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

Every function works on whole frames (all patients and series at once) with sorting and numpy index
arithmetic; the only loops are over a handful of columns or over distinct series lengths, never over rows.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import cache, reduce

import numpy as np
import pandas as pd

from hipdata import catalog

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
ASYMMETRY_COLUMNS = ["patient_id", "measure", "left", "right", "difference", "mdc", "lsi", "asymmetric"]
FLAG_COLUMNS = ["patient_id", "last_reading", "inactive", "worsening", "pain_rising", "asymmetry", "plateau"]
STATUSES = ("insufficient_data", "improved", "worsened", "no_detectable_change")

MIN_WEEKS_STATUS = 4
MIN_WEEKS_SLOPE = 3
PLATEAU_MIN_WEEKS = 8
INACTIVE_DAYS = 14

# Comparisons against an MDC allow a relative slack of 1e-9 of the numbers involved. Differences of decimal
# readings carry binary rounding noise (16.4 - 6.4 = 9.999999999999998, 8.2 - 3.7 = 4.499999999999999), which
# would otherwise decide a change that sits exactly at the MDC. The slack is ~1e-7 of a degree at most, far
# below any reading's resolution, so it never turns a real sub-MDC change into a detectable one.
REL_TOL = 1e-9

# Pairwise slopes held in memory at once (2 MB per float64 array): bounds memory for long series, and
# small blocks stay in cache (measured ~2x faster than 2M-pair blocks).
_PAIR_BUDGET = 262_144
_THURSDAY = 3  # 1970-01-01, day 0, was a Thursday (Monday = 0)


def _detectable(amount, mdc, *scale) -> np.ndarray:
    """amount >= mdc, with the rounding slack (see REL_TOL) relative to the largest number involved."""
    size = reduce(np.maximum, [np.abs(np.asarray(x, dtype=float)) for x in (mdc, *scale)])
    return np.asarray(amount, dtype=float) >= np.asarray(mdc, dtype=float) - REL_TOL * size


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


def _series_codes(frame: pd.DataFrame) -> np.ndarray:
    """One int64 per (patient_id, measure, side), ordered as the sorted tuples are."""
    code = np.zeros(len(frame), dtype=np.int64)
    for col in KEYS:  # three columns, not rows
        codes, uniques = pd.factorize(frame[col], sort=True)
        code = code * max(len(uniques), 1) + codes
    return code


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


def _runs(sorted_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each run of equal values in a sorted array."""
    if not len(sorted_codes):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return starts, np.diff(np.r_[starts, len(sorted_codes)])


def _increasing(a: np.ndarray) -> bool:
    return bool(np.all(a[1:] > a[:-1]))


def _median_of_sorted(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of each run of a run-wise sorted array: the middle value, or the mean of the two middle ones."""
    return (values[starts + (counts - 1) // 2] + values[starts + counts // 2]) / 2


def weekly_values(readings: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """One row per (patient_id, measure, side, week): the median `value` of the week's `n` readings.

    Readings after as_of (default today) are left out, also those later in the week holding as_of. Rows
    without a date or a value are left out. `week` is the Monday (datetime64[ns]); sorted by series, week.
    """
    days = _days(readings["date"])
    value = readings["value"].to_numpy(dtype=float, na_value=np.nan)
    keep = (days != np.iinfo(np.int64).min) & (days <= _day(as_of)) & ~np.isnan(value)
    if not keep.all():  # skip the copy in the common case
        readings, days, value = readings[keep], days[keep], value[keep]
    keys = _keys(readings)
    monday = days - (days + _THURSDAY) % 7
    week = (monday - monday.min()) // 7 if len(monday) else monday
    cell = _series_codes(keys) * (int(week.max(initial=0)) + 1) + week
    # by series and week, values ascending inside each week (already so when each week has one reading)
    order = np.arange(len(cell)) if _increasing(cell) else np.lexsort((value, cell))
    starts, counts = _runs(cell[order])
    first = order[starts]
    out = keys.iloc[first].reset_index(drop=True)
    out["week"] = _as_datetime(monday[first])
    out["value"] = _median_of_sorted(value[order], starts, counts)
    out["n"] = counts.astype(np.int64)
    return out


class _Series:
    """Weekly values laid out series by series in time order: series k is v[starts[k]:starts[k] + counts[k]]."""

    def __init__(self, weekly: pd.DataFrame):
        value = weekly["value"].to_numpy(dtype=float, na_value=np.nan)
        weekly = weekly[~np.isnan(value)]  # a week counts only when it has a value
        keys = _keys(weekly)
        days = _days(weekly["week"])
        code = _series_codes(keys)
        in_order = (code[1:] > code[:-1]) | ((code[1:] == code[:-1]) & (days[1:] > days[:-1]))
        order = np.arange(len(code))
        if not in_order.all():  # weekly_values and the store hand over sorted frames: skip the sort then
            order = np.lexsort((days, code))
            code, days = code[order], days[order]
            if np.any((code[1:] == code[:-1]) & (days[1:] == days[:-1])):
                raise ValueError("weekly must hold at most one row per (patient_id, measure, side, week)")
        self.starts, self.counts = _runs(code)
        self.keys = keys.iloc[order[self.starts]].astype(str).reset_index(drop=True)
        self.v = weekly["value"].to_numpy(dtype=float)[order]
        self.t = days / 7.0  # weeks; exact whole numbers between Mondays
        self.last = self.starts + self.counts - 1

    def from_end(self, k: int) -> np.ndarray:
        """Index of the k-th last value (k=0: last) of each series, clipped to the series' first value."""
        return np.maximum(self.last - k, self.starts)


def _theil_sen(s: _Series) -> np.ndarray:
    """Median of all pairwise slopes (v_j - v_i) / (t_j - t_i), i < j, per series; NaN under 3 weeks.

    Series of the same length n form a (series, n) matrix, so all their n(n-1)/2 pairs come from one fancy
    index and the median from one partition along the rows. The work is cut into memory-bounded blocks of
    series of one length, never single series, and the blocks run on every core: numpy releases the GIL
    while it takes, subtracts and partitions. Same arithmetic as scipy.stats.theilslopes.
    """
    slope = np.full(len(s.starts), np.nan)

    def block(n: int, rows: np.ndarray) -> None:
        i, j = _pairs(n)
        mid = [(len(i) - 1) // 2, len(i) // 2]  # the middle pair (the same index twice when odd)
        at = s.starts[rows, None] + np.arange(n)
        v, t = s.v[at], s.t[at]
        pairs = np.take(v, j, axis=1)
        pairs -= np.take(v, i, axis=1)
        pairs /= np.take(t, j, axis=1) - np.take(t, i, axis=1)
        pairs.partition(mid, axis=1)  # in place: median without sorting every row
        slope[rows] = (pairs[:, mid[0]] + pairs[:, mid[1]]) / 2  # blocks write disjoint rows

    blocks = []
    for n in np.unique(s.counts[s.counts >= MIN_WEEKS_SLOPE]):
        rows = np.flatnonzero(s.counts == n)
        step = max(1, _PAIR_BUDGET // (n * (n - 1) // 2))
        blocks += [(int(n), rows[c : c + step]) for c in range(0, len(rows), step)]
    if len(blocks) > 1:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(lambda b: block(*b), blocks))
    elif blocks:
        block(*blocks[0])
    return slope


@cache
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, 1)


def theil_sen(weekly: pd.DataFrame) -> pd.Series:
    """Theil-Sen slope per week of each series, indexed by (patient_id, measure, side); NaN under 3 weeks."""
    s = _Series(weekly)
    return pd.Series(_theil_sen(s), index=pd.MultiIndex.from_frame(s.keys), name="slope_per_week")


def _catalog(measures: pd.Series, column: str) -> np.ndarray:
    table = catalog.measures_frame().set_index("measure")[column]
    unknown = sorted(set(measures.unique()) - set(table.index))
    if unknown:
        raise ValueError(f"measures not in the catalog: {', '.join(unknown)}")
    return measures.map(table).to_numpy()


def series_trends(weekly: pd.DataFrame, slopes: bool = True) -> pd.DataFrame:
    """One row per series of `weekly` (as weekly_values returns it): rules 2-4, sorted by series.

    slopes=False leaves out slope_per_week: the Theil-Sen slope is most of the cost, and the caseload
    and the flags do not use it.
    """
    s = _Series(weekly)
    out = s.keys
    baseline = (s.v[s.starts] + s.v[np.minimum(s.starts + 1, s.last)]) / 2
    current = (s.v[s.from_end(1)] + s.v[s.last]) / 2
    direction = _catalog(out["measure"], "direction").astype(float)
    mdc = _catalog(out["measure"], "mdc").astype(float)
    change = current - baseline
    improvement = change * direction
    scale = (baseline, current)
    status = np.select(
        [
            s.counts < MIN_WEEKS_STATUS,
            _detectable(improvement, mdc, *scale),
            _detectable(-improvement, mdc, *scale),
        ],
        ["insufficient_data", "improved", "worsened"],
        default="no_detectable_change",
    )
    out = out.assign(
        weeks=s.counts.astype(np.int64),
        baseline=baseline,
        current=current,
        change=change,
        improvement=improvement,
        mdc=mdc,
        slope_per_week=_theil_sen(s) if slopes else np.nan,
        status=status,
    )
    return out[TREND_COLUMNS] if slopes else out[[c for c in TREND_COLUMNS if c != "slope_per_week"]]


def _in_groups(measures: pd.Series, groups: tuple[str, ...]) -> np.ndarray:
    table = catalog.measures_frame()
    return measures.isin(table.loc[table["group"].isin(groups), "measure"]).to_numpy(dtype=bool)


def asymmetries(trends: pd.DataFrame) -> pd.DataFrame:
    """ROM and field measures with a current value on both sides: |left - right| against the MDC, and LSI.

    lsi = 100 x smaller / larger current value (100 = symmetric), NaN unless both values are positive.
    """
    rows = trends[
        _in_groups(trends["measure"], ("rom", "field"))
        & trends["side"].isin(catalog.SIDES)
        & trends["current"].notna()
    ]
    pick = ["patient_id", "measure", "current"]
    both = (
        rows.loc[rows["side"] == "left", pick]
        .merge(rows.loc[rows["side"] == "right", pick], on=["patient_id", "measure"], suffixes=("_l", "_r"))
        .sort_values(["patient_id", "measure"], ignore_index=True)
    )
    left = both["current_l"].to_numpy(dtype=float)
    right = both["current_r"].to_numpy(dtype=float)
    mdc = _catalog(both["measure"], "mdc").astype(float)
    difference = np.abs(left - right)
    with np.errstate(invalid="ignore", divide="ignore"):
        lsi = np.where(
            (left > 0) & (right > 0), 100 * np.minimum(left, right) / np.maximum(left, right), np.nan
        )
    return pd.DataFrame(
        {
            "patient_id": both["patient_id"],
            "measure": both["measure"],
            "left": left,
            "right": right,
            "difference": difference,
            "mdc": mdc,
            "lsi": lsi,
            "asymmetric": _detectable(difference, mdc, left, right),
        }
    )[ASYMMETRY_COLUMNS]


def _plateau(trends: pd.DataFrame, weekly: pd.DataFrame) -> pd.Series:
    """Per patient with a ROM series: some ROM series improved, and no ROM series with 8+ weeks moved by its
    MDC between median(v[n-1], v[n]) and median(v[n-7], v[n-6]); at least one such series must exist."""
    s = _Series(weekly[_in_groups(weekly["measure"], ("rom",))])
    long = s.counts >= PLATEAU_MIN_WEEKS
    recent = (s.v[s.from_end(1)] + s.v[s.last]) / 2
    earlier = (s.v[s.from_end(7)] + s.v[s.from_end(6)]) / 2
    mdc = _catalog(s.keys["measure"], "mdc").astype(float)
    moved = _detectable(np.abs(recent - earlier), mdc, recent, earlier)
    per_patient = (
        pd.DataFrame({"patient_id": s.keys["patient_id"], "long": long, "moved": long & moved})
        .groupby("patient_id")[["long", "moved"]]
        .any()
    )
    rom = trends[_in_groups(trends["measure"], ("rom",))]
    improved = rom["status"].eq("improved").groupby(rom["patient_id"]).any()
    improved = improved.reindex(per_patient.index, fill_value=False)
    return improved & per_patient["long"] & ~per_patient["moved"]


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
    patients = out["patient_id"]
    idle = _day(as_of) - _days(out["last_reading"])
    out["inactive"] = out["last_reading"].notna().to_numpy() & (idle >= INACTIVE_DAYS)

    def any_worsened(groups: tuple[str, ...]) -> np.ndarray:
        rows = trends[_in_groups(trends["measure"], groups)]
        worse = rows["status"].eq("worsened").groupby(rows["patient_id"]).any()
        return worse.reindex(patients, fill_value=False).to_numpy(dtype=bool)

    out["worsening"] = any_worsened(("rom", "field"))
    out["pain_rising"] = any_worsened(("pain",))
    asym = asymmetries(trends)
    # one list per patient is the contract; built from the rows already sorted by patient and measure
    found = asym[asym["asymmetric"]].groupby("patient_id")["measure"].agg(list).reindex(patients)
    out["asymmetry"] = [m if isinstance(m, list) else [] for m in found]
    out["plateau"] = _plateau(trends, weekly).reindex(patients, fill_value=False).to_numpy(dtype=bool)
    return out[FLAG_COLUMNS]


def last_readings(readings: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """patient_id, last_reading: each patient's latest reading date on or before as_of (default today)."""
    days = _days(readings["date"])
    keep = (days != np.iinfo(np.int64).min) & (days <= _day(as_of))
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
