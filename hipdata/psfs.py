"""Patient-Specific Functional Scale (Stratford 1995; free to use): the patient's own activities, rated 0-10.

At the start the patient names 3 to 5 activities they find hard and rates each from 0 (unable) to 10 (able to
do it as before the problem); the check-in asks for the same ratings again every 2 weeks. The score is the
mean rating. A change of 2 points in the mean, or of 3 points in one activity, is beyond measurement noise
(Stratford 1995: MDC 2 points for the mean, 3 for one activity; Abbott 2014 JOSPT 44:560 for the minimal
important difference). Change is read with the same rules as every other series (trends.py): baseline =
median of the first 2 weekly values, current = median of the last 2, 4 weeks with data before a change is
called improved or worsened.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pandas as pd

from hipdata import trends
from hipdata.contract import Problem, ValidationError

MIN_ACTIVITIES = 3
MAX_ACTIVITIES = 5
RATING_MIN, RATING_MAX = 0, 10
ACTIVITY_MAX = 100  # characters in one activity's name
INTERVAL = timedelta(weeks=2)
MDC = 2.0  # mean of the ratings
MDC_ACTIVITY = 3.0  # one activity
MEAN = "mean"  # the series name of the score; every other series is named by its activity
TREND_COLUMNS = ["patient_id", "series", "weeks", "baseline", "current", "change", "mdc", "status"]


def clean(activities: list, ratings: list) -> tuple[list[str], list[int], float]:
    """Check one assessment: 3-5 distinct named activities, each rated with a whole number 0-10.

    Returns (activities, ratings, score) or raises ValidationError naming every problem.
    """
    problems = []
    names = [str(a).strip() if a is not None else "" for a in activities]
    if not MIN_ACTIVITIES <= len(names) <= MAX_ACTIVITIES:
        problems.append(Problem(None, "activities", str(len(names)),
                                f"name {MIN_ACTIVITIES} to {MAX_ACTIVITIES} activities"))  # fmt: skip
    if len(ratings) != len(names):
        problems.append(
            Problem(None, "ratings", str(len(ratings)), f"rate each of the {len(names)} activities")
        )
    for i, name in enumerate(names, start=1):
        if not name:
            problems.append(Problem(None, f"activity {i}", "", "name the activity"))
        elif len(name) > ACTIVITY_MAX:
            problems.append(Problem(None, f"activity {i}", name[:40], f"at most {ACTIVITY_MAX} characters"))
    for dupe in sorted({n for n in names if n and names.count(n) > 1}):
        problems.append(Problem(None, "activities", dupe, "each activity is named once"))
    clean_ratings = []
    for i, rating in enumerate(ratings, start=1):
        whole = isinstance(rating, int | np.integer) and not isinstance(rating, bool)
        whole = whole or (isinstance(rating, float) and rating.is_integer())
        if not whole or not RATING_MIN <= rating <= RATING_MAX:
            problems.append(Problem(None, f"rating {i}", "" if rating is None else str(rating),
                                    f"a whole number from {RATING_MIN} to {RATING_MAX}"))  # fmt: skip
        else:
            clean_ratings.append(int(rating))
    if problems:
        raise ValidationError(problems)
    return names, clean_ratings, score(clean_ratings)


def score(ratings: list[int]) -> float:
    """The PSFS score: the mean of the activity ratings."""
    return float(np.mean(ratings))


def row(patient_id: str, day: date, activities: list, ratings: list) -> pd.DataFrame:
    """One checked assessment as a row of the `psfs` table."""
    names, values, total = clean(activities, ratings)
    return pd.DataFrame(
        {"patient_id": [patient_id], "date": [pd.Timestamp(day)], "activities": [encode(names)],
         "ratings": [encode(values)], "score": [total]}
    )  # fmt: skip


def encode(values: list) -> str:
    return json.dumps(values, ensure_ascii=False)


def due(rows: pd.DataFrame, today: date) -> bool:
    """Due at the start (no assessment yet) and again 2 weeks after the last one."""
    if rows.empty:
        return True
    return pd.Timestamp(today) - pd.to_datetime(rows["date"]).max() >= INTERVAL


def next_due(rows: pd.DataFrame) -> pd.Timestamp:
    return pd.to_datetime(rows["date"]).max() + INTERVAL


def current_activities(rows: pd.DataFrame) -> list[str]:
    """The activities of the latest assessment: the ones the check-in asks about again."""
    if rows.empty:
        return []
    latest = rows.sort_values(["date", "id"]).iloc[-1]
    return json.loads(latest["activities"])


def items(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (assessment, activity): patient_id, date, activity, rating."""
    if rows.empty:
        return pd.DataFrame(columns=["patient_id", "date", "activity", "rating"])
    long = pd.DataFrame(
        {"patient_id": rows["patient_id"].to_numpy(), "date": pd.to_datetime(rows["date"]).to_numpy(),
         "activity": rows["activities"].map(json.loads).to_numpy(),
         "rating": rows["ratings"].map(json.loads).to_numpy()}
    )  # fmt: skip
    return long.explode(["activity", "rating"], ignore_index=True).astype({"rating": float})


def series(rows: pd.DataFrame, activities: bool = True) -> pd.DataFrame:
    """Every PSFS series as (patient_id, series, date, value): the mean score and (with activities) each one."""
    mean = pd.DataFrame(
        {"patient_id": rows["patient_id"], "series": MEAN, "date": pd.to_datetime(rows["date"]),
         "value": rows["score"].astype(float)}
    )  # fmt: skip
    if not activities:
        return mean
    each = items(rows).rename(columns={"activity": "series", "rating": "value"})
    return pd.concat([mean, each], ignore_index=True)


def trend(rows: pd.DataFrame, as_of: date | None = None, activities: bool = True) -> pd.DataFrame:
    """Baseline, current, change and status of the mean and of each activity, by the rules of trends.py.

    Higher is better. The MDC is 2 points for the mean and 3 for one activity.
    """
    if rows.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    long = series(rows, activities)
    weekly = trends.weekly_values(
        long.rename(columns={"series": "measure"}).assign(side=""), as_of
    )  # weekly medians, sorted by series and week
    g = weekly.groupby(["patient_id", "measure"], sort=True)["value"]
    out = pd.DataFrame(
        {"weeks": g.size(), "baseline": g.head(2).groupby([weekly["patient_id"], weekly["measure"]]).median()}
    )
    out["current"] = g.tail(2).groupby([weekly["patient_id"], weekly["measure"]]).median()
    out = out.reset_index().rename(columns={"measure": "series"})
    out["change"] = out["current"] - out["baseline"]
    out["mdc"] = np.where(out["series"] == MEAN, MDC, MDC_ACTIVITY)
    slack = trends.REL_TOL * np.maximum(out["baseline"].abs(), out["current"].abs()).clip(lower=out["mdc"])
    out["status"] = np.select(
        [
            out["weeks"] < trends.MIN_WEEKS_STATUS,
            out["change"] >= out["mdc"] - slack,
            -out["change"] >= out["mdc"] - slack,
        ],
        ["insufficient_data", "improved", "worsened"],
        default="no_detectable_change",
    )
    out = out.assign(first=out["series"] != MEAN).sort_values(["patient_id", "first", "series"])
    return out.loc[:, TREND_COLUMNS].reset_index(drop=True)  # per patient: the mean first, then activities


def summary(rows: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """Per patient: latest score, change of the mean from baseline and its status (for the caseload)."""
    columns = ["patient_id", "psfs_latest", "psfs_change", "psfs_status"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    mean = trend(rows, as_of, activities=False)
    latest = rows.sort_values(["patient_id", "date", "id"]).groupby("patient_id")["score"].last()
    out = mean.set_index("patient_id").assign(psfs_latest=latest).reset_index()
    return out.rename(columns={"change": "psfs_change", "status": "psfs_status"}).loc[:, columns]
