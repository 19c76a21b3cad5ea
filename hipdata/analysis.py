"""Progress for the patients one user may see: store reads in, trend tables out.

The one place that joins the store to the rules, so the CLI, the pages and the report read progress the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from hipdata import trends
from hipdata.auth import Actor
from hipdata.store import Patients, Store


@dataclass(frozen=True)
class Progress:
    as_of: date
    weekly: pd.DataFrame  # patient_id, measure, side, week, value, n
    trends: pd.DataFrame  # one row per series, columns as trends.series_trends
    flags: pd.DataFrame  # one row per patient with readings, columns as trends.patient_flags

    @property
    def first_weeks(self) -> pd.Series:
        """The Monday of each patient's first weekly value, by patient_id."""
        return self.weekly.groupby("patient_id")["week"].min().rename("first_week")


@dataclass(frozen=True)
class Summary:
    """What the caseload reads of a Progress (trends without slopes, flags, first weeks), computed without a
    frame of every weekly value: a whole clinic's weekly values as pandas rows cost more than the rules."""

    as_of: date
    trends: pd.DataFrame
    flags: pd.DataFrame
    first_weeks: pd.Series


def summary(store: Store, actor: Actor, as_of: date, patient_id: Patients = None) -> Summary:
    readings = store.series_readings(actor, as_of, patient_id, last_days=True)
    return Summary(as_of, *trends.caseload_frames(readings, as_of))


def progress(
    store: Store, actor: Actor, as_of: date | None = None, patient_id: Patients = None, slopes: bool = True
) -> Progress:
    """slopes=False: trends without slope_per_week, for views that show none (as trends.series_trends)."""
    as_of = as_of or date.today()
    weekly, series = series_trends(store, actor, as_of, patient_id, slopes)
    last = store.last_readings(actor, as_of, patient_id)
    flags = trends.patient_flags(series, weekly, last, as_of)
    return Progress(as_of, weekly, series, flags)


def series_trends(
    store: Store, actor: Actor, as_of: date, patient_id: Patients = None, slopes: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weekly, trends) without the flags: for the `trends` command, which prints only the trends."""
    weekly = store.weekly(actor, as_of, patient_id)
    return weekly, trends.series_trends(weekly, slopes)
