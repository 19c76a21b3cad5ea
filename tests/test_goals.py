"""Goals: reached, on track (Theil-Sen projection from the current value) or behind, in the better direction."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from hipdata import trends
from hipdata.goals import goal_status

AS_OF = date(2026, 3, 4)
IN_4_WEEKS = AS_OF + timedelta(weeks=4)


def goal(measure: str, side: str, target: float, by: date = IN_4_WEEKS, patient: str = "P1") -> dict:
    return {"patient_id": patient, "measure": measure, "side": side, "target": target, "target_date": by}


def trend(measure: str, side: str, current: float, slope: float | None, patient: str = "P1") -> dict:
    return {
        "patient_id": patient,
        "measure": measure,
        "side": side,
        "current": current,
        "slope_per_week": np.nan if slope is None else slope,
    }


def status_of(goal_row: dict, trend_rows: list[dict], as_of: date = AS_OF) -> pd.Series:
    goals = pd.DataFrame([goal_row]).assign(target_date=lambda f: pd.to_datetime(f["target_date"]))
    out = goal_status(goals, pd.DataFrame(trend_rows, columns=list(trend("x", "", 0, 0))), as_of)
    assert len(out) == 1
    return out.iloc[0]


# ---- reached -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "side", "target", "current"),
    [
        ("hip_flexion", "left", 110, 110),  # exactly at the target
        ("hip_flexion", "left", 110, 114),  # beyond it, higher is better
        ("fingertip_to_floor", "", 0, 0),
        ("fingertip_to_floor", "", 0, -2),  # past the floor: lower is better
        ("figure_four", "right", 10, 8.5),
        ("pain_hip", "left", 2, 2),
        ("pain_low_back", "", 2, 1),
    ],
)
def test_reached_at_or_beyond_the_target_in_the_better_direction(measure, side, target, current):
    row = status_of(goal(measure, side, target), [trend(measure, side, current, slope=0.0)])
    assert row["status"] == "reached"
    assert row["current"] == current


@pytest.mark.parametrize(
    ("measure", "side", "target", "current"),
    [
        ("hip_flexion", "left", 110, 109),
        ("fingertip_to_floor", "", 0, 1),  # higher is worse here, even though it is "above" the target
        ("pain_hip", "left", 2, 3),
    ],
)
def test_not_reached_when_short_in_the_better_direction(measure, side, target, current):
    row = status_of(goal(measure, side, target), [trend(measure, side, current, slope=0.0)])
    assert row["status"] == "behind"


def test_reached_even_when_the_date_has_passed_and_there_is_no_slope():
    row = status_of(
        goal("hip_flexion", "left", 110, by=AS_OF - timedelta(days=1)),
        [trend("hip_flexion", "left", 112, None)],
    )
    assert row["status"] == "reached"


# ---- on track ------------------------------------------------------------------------------------------


def test_on_track_when_the_projection_from_current_reaches_the_target_by_the_date():
    # 100 + 2.5/week x 4 weeks = 110: exactly the target
    row = status_of(goal("hip_flexion", "left", 110), [trend("hip_flexion", "left", 100, 2.5)])
    assert row["status"] == "on track"
    assert row["projected"] == pytest.approx(110)


def test_behind_when_the_projection_falls_just_short():
    row = status_of(goal("hip_flexion", "left", 110), [trend("hip_flexion", "left", 100, 2.4)])
    assert row["status"] == "behind"
    assert row["projected"] == pytest.approx(109.6)


def test_on_track_for_lower_is_better_needs_a_falling_trend():
    target = goal("fingertip_to_floor", "", 0)
    falling = status_of(target, [trend("fingertip_to_floor", "", 3, -1.0)])
    assert falling["status"] == "on track"
    assert falling["projected"] == pytest.approx(-1)
    assert status_of(target, [trend("fingertip_to_floor", "", 3, -0.5)])["status"] == "behind"
    assert status_of(target, [trend("fingertip_to_floor", "", 3, +1.0)])["status"] == "behind"


def test_on_track_for_pain_going_down():
    target = goal("pain_hip", "right", 1)
    assert status_of(target, [trend("pain_hip", "right", 5, -1.0)])["status"] == "on track"
    assert status_of(target, [trend("pain_hip", "right", 5, -0.9)])["status"] == "behind"


def test_the_projection_uses_weeks_left_until_the_target_date():
    far = goal("hip_flexion", "left", 110, by=AS_OF + timedelta(weeks=10))
    near = goal("hip_flexion", "left", 110, by=AS_OF + timedelta(weeks=2))
    climbing = [trend("hip_flexion", "left", 100, 1.0)]
    assert status_of(far, climbing)["status"] == "on track"
    assert status_of(near, climbing)["status"] == "behind"
    assert status_of(near, climbing)["projected"] == pytest.approx(102)


# ---- behind --------------------------------------------------------------------------------------------


def test_behind_once_the_date_has_passed_whatever_the_slope():
    past = goal("hip_flexion", "left", 110, by=AS_OF - timedelta(days=1))
    row = status_of(past, [trend("hip_flexion", "left", 100, 50.0)])
    assert row["status"] == "behind"
    assert row["projected"] == pytest.approx(100)  # no weeks left: the projection is the current value


def test_behind_without_a_slope():
    row = status_of(goal("hip_flexion", "left", 110), [trend("hip_flexion", "left", 100, None)])
    assert row["status"] == "behind"
    assert pd.isna(row["projected"])


def test_behind_without_any_readings_for_the_series():
    row = status_of(goal("hip_flexion", "right", 110), [trend("hip_flexion", "left", 120, 1.0)])
    assert row["status"] == "behind"
    assert pd.isna(row["current"])


# ---- whole frames --------------------------------------------------------------------------------------


def test_many_goals_matched_to_their_own_patient_and_side():
    goals = pd.DataFrame(
        [
            goal("hip_flexion", "left", 110, patient="P1"),
            goal("hip_flexion", "right", 110, patient="P1"),
            goal("hip_flexion", "left", 110, patient="P2"),
            goal("pain_hip", "left", 1, patient="P2"),
        ],
        index=[10, 20, 30, 40],  # a filtered frame: the index is not 0..n-1
    )
    series = pd.DataFrame(
        [
            trend("hip_flexion", "left", 111, 0.0, patient="P1"),
            trend("hip_flexion", "right", 100, 3.0, patient="P1"),
            trend("hip_flexion", "left", 100, 0.0, patient="P2"),
            trend("pain_hip", "left", 0, 0.0, patient="P2"),
        ]
    )
    out = goal_status(goals, series, AS_OF)
    assert out["status"].tolist() == ["reached", "on track", "behind", "reached"]
    assert out["current"].tolist() == [111, 100, 100, 0]


def test_goal_status_on_real_trends():
    """From weekly values through series_trends: a steady 2 degrees a week climb is on track for +8 in 4 weeks."""
    weeks = pd.date_range("2026-01-05", periods=6, freq="7D")
    weekly = pd.DataFrame(
        {
            "patient_id": "P1",
            "measure": "hip_internal_rotation",
            "side": "left",
            "week": weeks,
            "value": [20.0, 22, 24, 26, 28, 30],
            "n": 1,
        }
    )
    series = trends.series_trends(weekly)
    as_of = date(2026, 2, 15)
    on_track = status_of(
        goal("hip_internal_rotation", "left", 37, by=as_of + timedelta(weeks=4)),
        series.to_dict("records"),
        as_of,
    )
    assert on_track["current"] == 29  # median of the last two weeks
    assert on_track["projected"] == pytest.approx(37)
    assert on_track["status"] == "on track"
    behind = status_of(
        goal("hip_internal_rotation", "left", 38, by=as_of + timedelta(weeks=4)),
        series.to_dict("records"),
        as_of,
    )
    assert behind["status"] == "behind"
