"""Goals: a target value by a date for one series, and whether the patient is on the way there.

reached: the current value is at or beyond the target (in the measure's better direction);
on track: the Theil-Sen trend, projected from the current value, reaches the target by the date;
behind: otherwise (including a date already past, or too few weeks for a slope).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from hipdata import catalog


def goal_status(goals: pd.DataFrame, trends: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """goals (patient_id, measure, side, target, target_date, ...) + status, current, projected."""
    direction = goals["measure"].map(catalog.measures_frame().set_index("measure")["direction"])
    joined = goals.merge(
        trends[["patient_id", "measure", "side", "current", "slope_per_week"]],
        on=["patient_id", "measure", "side"],
        how="left",
    )
    weeks_left = (pd.to_datetime(joined["target_date"]) - pd.Timestamp(as_of)).dt.days / 7
    projected = joined["current"] + joined["slope_per_week"] * weeks_left.clip(lower=0)
    gap_now = (joined["target"] - joined["current"]) * direction.to_numpy()
    gap_then = (joined["target"] - projected) * direction.to_numpy()
    status = np.select(
        [gap_now.le(0) & joined["current"].notna(), gap_then.le(0) & weeks_left.ge(0)],
        ["reached", "on track"],
        default="behind",
    )
    return joined.assign(projected=projected, status=status)
