"""The progress rules (CLINICAL_RULES 1-5) on integer-coded series, with numpy alone.

The one rule engine: trends.py turns tables into these arrays and back, and the command line hands it
the store's arrays directly, without pandas. A series is one (patient, measure, side); its keys are integer
codes into label lists, so grouping and sorting never touch text. Time is counted in whole weeks since
1900-01-01, a Monday: a week's number names the ISO week (Monday to Sunday) holding the date.

Every function works on all series at once with sorting and index arithmetic; the only loops are over a
handful of columns or over distinct series lengths, never over rows or patients.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, reduce

import numpy as np

from hipdata import catalog

# One integer per series, patient code x SERIES_SPAN + measure code x SIDE_SPAN + side code, and one per
# (series, week): series code x WEEK_SPAN + week number. Powers of two, so decoding is shifts and masks.
SIDE_SPAN = 4  # sides: '', left, right
SERIES_SPAN = 1024 * SIDE_SPAN  # room for 1,024 measures
WEEK_SPAN = 1 << 14  # week numbers from 1900 to the year 2214
_SIDE_BITS, _SERIES_BITS, _WEEK_BITS = (span.bit_length() - 1 for span in (SIDE_SPAN, SERIES_SPAN, WEEK_SPAN))
NO_DAY = np.iinfo(np.int64).min  # no date
MONDAY_ZERO_DAYS = -25567  # 1900-01-01, a Monday, in days since 1970-01-01
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


def week_of(days: np.ndarray) -> np.ndarray:
    """Week numbers of days counted from 1970-01-01."""
    return (days - MONDAY_ZERO_DAYS) // 7


def monday_of(week: np.ndarray) -> np.ndarray:
    """The Monday of each week number, as days since 1970-01-01."""
    return week * 7 + MONDAY_ZERO_DAYS


def detectable(amount, mdc, *scale) -> np.ndarray:
    """amount >= mdc, with the rounding slack (see REL_TOL) relative to the largest number involved."""
    size = reduce(np.maximum, [np.abs(np.asarray(x, dtype=float)) for x in (mdc, *scale)])
    return np.asarray(amount, dtype=float) >= np.asarray(mdc, dtype=float) - REL_TOL * size


def runs(sorted_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of each run of equal values in a sorted array."""
    if not len(sorted_codes):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return starts, np.diff(np.r_[starts, len(sorted_codes)])


def weekly(cell: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rule 1's weekly medians. `cell` is one integer per reading that orders (series, week); readings in any
    order. Returns (cells, first, n, median) in cell order: each cell, the index of one of its readings, how
    many readings it holds and their median.

    Every array as long as the readings is fresh memory, which costs more than the arithmetic at tens of
    millions of readings: the usual case, one reading a week, makes three.
    """
    order = np.argsort(cell, kind="stable")  # near-linear on the store's mostly ordered rows
    sorted_cell = cell[order]
    v = value[order]
    change = sorted_cell[1:] != sorted_cell[:-1]
    if change.all():  # one reading a week: every reading is its week's median
        return sorted_cell, order, np.broadcast_to(np.int64(1), len(cell)), v
    starts, n = runs(sorted_cell)
    median = v[starts]
    two, three, many = n == 2, n == 3, np.flatnonzero(n > 3)
    median[two] = (v[starts[two]] + v[starts[two] + 1]) / 2
    a, b, c = (v[starts[three] + k] for k in range(3))  # the middle of three by comparisons: exact
    median[three] = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    if len(many):  # rare: sort the values of just those weeks
        size = n[many]
        offset = np.cumsum(size) - size
        rows = np.repeat(starts[many] - offset, size) + np.arange(size.sum())
        ordered = v[rows][np.lexsort((v[rows], np.repeat(np.arange(len(many)), size)))]
        median[many] = (ordered[offset + (size - 1) // 2] + ordered[offset + size // 2]) / 2
    return sorted_cell[starts], order[starts], n, median


@dataclass(frozen=True)
class Series:
    """Weekly values laid out series by series in time order: series k is v[starts[k]:starts[k] + counts[k]].

    patient, measure and side are each series' codes into `labels` (patients, measures, sides).
    """

    starts: np.ndarray
    counts: np.ndarray
    v: np.ndarray  # value
    t: np.ndarray  # week number
    patient: np.ndarray
    measure: np.ndarray
    side: np.ndarray
    labels: tuple[Sequence[str], Sequence[str], Sequence[str]]

    @classmethod
    def of(cls, code, week, value, keys: Callable[[np.ndarray], tuple], labels) -> Series:
        """From weekly rows sorted by (series code, week), one per week; keys(rows) = the (patient, measure,
        side) codes of those rows."""
        starts, counts = runs(code)
        p, m, s = keys(starts)
        return cls(starts, counts, np.asarray(value, dtype=float), np.asarray(week), p, m, s, labels)

    @property
    def last(self) -> np.ndarray:
        return self.starts + self.counts - 1

    def from_end(self, k: int) -> np.ndarray:
        """Index of the k-th last value (k=0: last) of each series, clipped to the series' first value."""
        return np.maximum(self.last - k, self.starts)

    def only(self, keep: np.ndarray) -> Series:
        """The series where `keep` is true (their values stay where they are)."""
        return Series(self.starts[keep], self.counts[keep], self.v, self.t, self.patient[keep],
                      self.measure[keep], self.side[keep], self.labels)  # fmt: skip

    def catalog(self, field: str) -> np.ndarray:
        """A catalog field of each series' measure; a measure the catalog does not know is an error."""
        return measure_field(self.measure, self.labels[1], field)

    def in_groups(self, groups: tuple[str, ...]) -> np.ndarray:
        return np.isin(self.catalog("group"), groups)


def measure_field(measure: np.ndarray, names: Sequence[str], field: str) -> np.ndarray:
    """A catalog field of each measure code (into `names`); a measure the catalog does not know is an
    error."""
    unknown = sorted({names[i] for i in np.unique(measure)} - set(catalog.MEASURES))
    if unknown:
        raise ValueError(f"measures not in the catalog: {', '.join(unknown)}")
    table = [getattr(catalog.MEASURES[m], field) if m in catalog.MEASURES else None for m in names]
    return np.asarray(table)[measure]


def trend_numbers(s: Series, slopes: bool = True) -> dict[str, np.ndarray]:
    """Rules 2-4's numbers per series, which depend on the readings alone: weeks, baseline, current and
    slope_per_week (NaN under 3 weeks, or everywhere when slopes=False)."""
    return {
        "weeks": s.counts.astype(np.int64),
        "baseline": (s.v[s.starts] + s.v[np.minimum(s.starts + 1, s.last)]) / 2,
        "current": (s.v[s.from_end(1)] + s.v[s.last]) / 2,
        "slope_per_week": theil_sen(s) if slopes else np.full(len(s.starts), np.nan),
    }


def verdicts(
    measure: np.ndarray, names: Sequence[str], numbers: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Rules 2-4 per series from its measure (codes into `names`) and trend_numbers: weeks, baseline,
    current, change, improvement, mdc, slope_per_week and status."""
    weeks, baseline, current = numbers["weeks"], numbers["baseline"], numbers["current"]
    direction = measure_field(measure, names, "direction").astype(float)
    mdc = measure_field(measure, names, "mdc").astype(float)
    change = current - baseline
    improvement = change * direction
    status = np.select(
        [
            weeks < MIN_WEEKS_STATUS,
            detectable(improvement, mdc, baseline, current),
            detectable(-improvement, mdc, baseline, current),
        ],
        list(STATUSES[:3]),
        default=STATUSES[3],
    )
    return {
        "weeks": weeks,
        "baseline": baseline,
        "current": current,
        "change": change,
        "improvement": improvement,
        "mdc": mdc,
        "slope_per_week": numbers["slope_per_week"],
        "status": status,
    }


def trends(s: Series, slopes: bool = True) -> dict[str, np.ndarray]:
    """Rules 2-4 per series (see verdicts); slopes=False leaves slope_per_week NaN."""
    return verdicts(s.measure, s.labels[1], trend_numbers(s, slopes))


def theil_sen(s: Series) -> np.ndarray:
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


def asymmetries(s: Series, current: np.ndarray) -> dict[str, np.ndarray]:
    """ROM and field measures with a current value on both sides, one row per (patient, measure), by patient
    code and measure name: |left - right| against the MDC, and LSI = 100 x smaller / larger current value (100 =
    symmetric), NaN unless both values are positive."""
    sides = list(s.labels[2])
    code = {name: sides.index(name) if name in sides else -1 for name in catalog.SIDES}
    usable = s.in_groups(("rom", "field")) & ~np.isnan(current)
    rank = np.argsort(np.argsort(np.asarray(s.labels[1], dtype=object)))  # measures in name order
    pair = (s.patient.astype(np.int64) << 32) | rank[s.measure]  # (patient, measure name) as one key
    left = np.flatnonzero(usable & (s.side == code["left"]))
    right = np.flatnonzero(usable & (s.side == code["right"]))
    right = right[np.argsort(pair[right], kind="stable")]
    at = np.searchsorted(pair[right], pair[left])
    found = at < len(right)
    found[found] = pair[right][at[found]] == pair[left][found]
    left, right = left[found], right[at[found]]
    by_key = np.argsort(pair[left], kind="stable")
    left, right = left[by_key], right[by_key]
    lv, rv = current[left], current[right]
    mdc = s.catalog("mdc").astype(float)[left]
    difference = np.abs(lv - rv)
    with np.errstate(invalid="ignore", divide="ignore"):
        lsi = np.where((lv > 0) & (rv > 0), 100 * np.minimum(lv, rv) / np.maximum(lv, rv), np.nan)
    return {
        "patient": s.patient[left],
        "measure": s.measure[left],
        "left": lv,
        "right": rv,
        "difference": difference,
        "mdc": mdc,
        "lsi": lsi,
        "asymmetric": detectable(difference, mdc, lv, rv),
    }


def any_per_patient(patient: np.ndarray, true: np.ndarray, patients: int) -> np.ndarray:
    """For each patient code 0..patients-1: is `true` set on any of its rows?"""
    return np.bincount(patient[true], minlength=patients)[:patients] > 0


def plateau(weekly: Series, rows: Series, status: np.ndarray, patients: int) -> np.ndarray:
    """Per patient code: some ROM series improved (`status` of the trend `rows`), and no ROM series of
    `weekly` with 8+ weeks moved by its MDC between median(v[n-1], v[n]) and median(v[n-7], v[n-6]); at
    least one such series must exist."""
    r = weekly.only(weekly.in_groups(("rom",)))
    long = r.counts >= PLATEAU_MIN_WEEKS
    recent = (r.v[r.from_end(1)] + r.v[r.last]) / 2
    earlier = (r.v[r.from_end(7)] + r.v[r.from_end(6)]) / 2
    moved = detectable(np.abs(recent - earlier), r.catalog("mdc").astype(float), recent, earlier)
    improved = any_per_patient(rows.patient, rows.in_groups(("rom",)) & (status == "improved"), patients)
    still = any_per_patient(r.patient, long, patients) & ~any_per_patient(r.patient, long & moved, patients)
    return improved & still


def flags(
    weekly: Series, rows: Series, trend: dict[str, np.ndarray], last_day: np.ndarray, as_of_day: int
) -> dict[str, np.ndarray]:
    """Rule 5 for patient codes 0..len(last_day)-1, from the weekly series and the trends of `rows` (the
    same series, or one row per series). last_day: each patient's latest reading as days since 1970-01-01,
    NO_DAY for none. The asymmetric measures come as (patient, measure) code rows, by patient and
    measure name."""
    patients = len(last_day)
    status = trend["status"]
    worsened = status == "worsened"
    asym = asymmetries(rows, trend["current"])
    return {
        "inactive": (last_day != NO_DAY) & (as_of_day - last_day >= INACTIVE_DAYS),
        "worsening": any_per_patient(rows.patient, rows.in_groups(("rom", "field")) & worsened, patients),
        "pain_rising": any_per_patient(rows.patient, rows.in_groups(("pain",)) & worsened, patients),
        "plateau": plateau(weekly, rows, status, patients),
        "asymmetric_patient": asym["patient"][asym["asymmetric"]],
        "asymmetric_measure": asym["measure"][asym["asymmetric"]],
    }


@dataclass(frozen=True)
class Readings:
    """Readings as the store hands them over: `cell` = series code x WEEK_SPAN + week number, the series
    code's codes indexing `labels` (patient ids, measure ids, side names). last_day: each patient's latest
    reading in days since 1970-01-01 (NO_DAY for none), when asked for."""

    cell: np.ndarray
    value: np.ndarray
    labels: tuple[Sequence[str], Sequence[str], Sequence[str]]
    last_day: np.ndarray | None = None


@dataclass(frozen=True)
class Weekly:
    series: Series  # the weekly values
    code: np.ndarray  # series code of each weekly value
    n: np.ndarray  # readings behind each weekly value


def decode(code: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(patient, measure, side) codes of series codes."""
    return code >> _SERIES_BITS, (code & (SERIES_SPAN - 1)) >> _SIDE_BITS, code & (SIDE_SPAN - 1)


def weekly_series(r: Readings) -> Weekly:
    """Rule 1 on coded readings: the weekly medians, as series."""
    cells, _, n, median = weekly(r.cell, r.value)
    code = cells >> _WEEK_BITS
    week = np.bitwise_and(cells, WEEK_SPAN - 1, out=cells)  # `cells` is weekly's own array: reuse it
    s = Series.of(code, week, median, lambda rows: decode(code[rows]), r.labels)
    return Weekly(s, code, n)
