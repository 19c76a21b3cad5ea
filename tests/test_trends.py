"""The progress rules of CLINICAL_RULES.md on small hand-made series, plus property tests and scipy checks."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from scipy.stats import theilslopes

from hipdata import trends

MONDAY = date(2026, 1, 5)
AS_OF = date(2030, 12, 31)
FAST = settings(max_examples=60, deadline=None)


def day(week: int, weekday: int = 0) -> date:
    """The date `weekday` days (Monday = 0) into week `week` counted from MONDAY."""
    return MONDAY + timedelta(weeks=int(week), days=int(weekday))


def frame(rows) -> pd.DataFrame:
    """Readings from (patient_id, date, measure, side, value) tuples."""
    return pd.DataFrame(rows, columns=["patient_id", "date", "measure", "side", "value"])


def series(values, measure="hip_flexion", side="left", patient="P1", weeks=None) -> list[tuple]:
    """One reading per week (Wednesday), in weeks 0, 1, 2, ... unless `weeks` says which."""
    weeks = range(len(values)) if weeks is None else weeks
    return [(patient, day(w, 2), measure, side, float(v)) for w, v in zip(weeks, values, strict=True)]


def trends_of(rows, as_of: date = AS_OF) -> pd.DataFrame:
    return trends.series_trends(trends.weekly_values(frame(rows), as_of))


def one(rows, as_of: date = AS_OF) -> pd.Series:
    result = trends_of(rows, as_of)
    assert len(result) == 1
    return result.iloc[0]


def flags_of(rows, as_of: date = AS_OF) -> pd.DataFrame:
    return trends.trends_for(frame(rows), as_of)[2]


# --- 1. Weekly series ---------------------------------------------------------------------------------


def test_week_is_named_by_its_monday_and_valued_by_the_median():
    rows = [
        ("P1", day(0, 0), "hip_flexion", "left", 10.0),
        ("P1", day(0, 2), "hip_flexion", "left", 40.0),
        ("P1", day(0, 4), "hip_flexion", "left", 20.0),
        ("P1", day(0, 6), "hip_flexion", "left", 30.0),  # Sunday: still the same ISO week
        ("P1", day(1, 0), "hip_flexion", "left", 99.0),  # next Monday: the next week
    ]
    weekly = trends.weekly_values(frame(rows), AS_OF)
    assert list(weekly.columns) == trends.WEEKLY_COLUMNS
    assert weekly["week"].dtype == "datetime64[ns]"
    assert list(weekly["week"]) == [pd.Timestamp(day(0)), pd.Timestamp(day(1))]
    assert list(weekly["value"]) == [25.0, 99.0]  # even count: mean of the two middle readings (20, 30)
    assert list(weekly["n"]) == [4, 1]


def test_weekly_median_with_an_odd_count_is_the_middle_reading():
    rows = [("P1", day(0, d), "hip_flexion", "left", v) for d, v in enumerate([50.0, 10.0, 30.0])]
    assert trends.weekly_values(frame(rows), AS_OF)["value"].tolist() == [30.0]


def test_dates_as_python_dates_timestamps_or_strings_give_the_same_weeks():
    as_dates = frame(series([10, 20, 30]))
    as_stamps = as_dates.assign(date=pd.to_datetime(as_dates["date"]) + pd.Timedelta(hours=23))
    as_text = as_dates.assign(date=as_dates["date"].astype(str))
    expected = trends.weekly_values(as_dates, AS_OF)
    assert_frame_equal(trends.weekly_values(as_stamps, AS_OF), expected)
    assert_frame_equal(trends.weekly_values(as_text, AS_OF), expected)


def test_readings_after_as_of_are_left_out_even_later_in_the_same_week():
    rows = [
        ("P1", day(0, 0), "hip_flexion", "left", 10.0),
        ("P1", day(0, 2), "hip_flexion", "left", 20.0),  # Wednesday = as_of: counts
        ("P1", day(0, 3), "hip_flexion", "left", 90.0),  # Thursday: after as_of
        ("P1", day(1, 0), "hip_flexion", "left", 90.0),
    ]
    weekly = trends.weekly_values(frame(rows), as_of=day(0, 2))
    assert weekly[["value", "n"]].values.tolist() == [[15.0, 2]]
    assert trends.weekly_values(frame(rows), as_of=day(0, 3))[["value", "n"]].values.tolist() == [[20.0, 3]]


def test_as_of_defaults_to_today():
    today = date.today()
    rows = [
        ("P1", today, "hip_flexion", "left", 10.0),
        ("P1", today + timedelta(days=1), "hip_flexion", "left", 90.0),
    ]
    weekly = trends.weekly_values(frame(rows))
    assert weekly["value"].tolist() == [10.0]
    assert weekly["n"].tolist() == [1]


def test_gaps_are_not_filled_and_weeks_counts_only_weeks_with_data():
    rows = series([10, 20, 30], weeks=[0, 3, 7])
    weekly = trends.weekly_values(frame(rows), AS_OF)
    assert weekly["week"].tolist() == [pd.Timestamp(day(w)) for w in (0, 3, 7)]
    assert weekly["value"].tolist() == [10.0, 20.0, 30.0]
    row = trends.series_trends(weekly).iloc[0]
    assert row["weeks"] == 3
    assert row["baseline"] == 15.0 and row["current"] == 25.0  # neighbours in data, not in the calendar


def test_rows_without_value_missing_side_and_extra_columns():
    rows = frame(
        [
            *series([10, 20], measure="pain_low_back", side=""),
            ("P1", day(0, 3), "pain_low_back", None, np.nan),
        ]
    )
    rows = rows.assign(note="x", method="tape_measure")
    weekly = trends.weekly_values(rows, AS_OF)
    assert list(weekly.columns) == trends.WEEKLY_COLUMNS
    assert weekly["side"].tolist() == ["", ""]
    assert weekly["n"].tolist() == [1, 1]  # the reading without a value is not counted


def test_weekly_output_is_sorted_by_patient_measure_side_week():
    rows = (
        series([1, 2], patient="P2", side="right")
        + series([3, 4], patient="P1", side="right", weeks=[5, 1])
        + series([5], patient="P1", side="left")
        + series([6], patient="P1", measure="hip_abduction", side="right")
    )
    weekly = trends.weekly_values(frame(rows), AS_OF)
    keys = list(zip(weekly["patient_id"], weekly["measure"], weekly["side"], weekly["week"], strict=True))
    assert keys == sorted(keys)
    assert len(weekly) == 6


def test_empty_readings_give_empty_frames_with_the_contract_columns():
    empty = frame([])
    weekly = trends.weekly_values(empty, AS_OF)
    result = trends.series_trends(weekly)
    flags = trends.patient_flags(result, weekly, trends.last_readings(empty, AS_OF), AS_OF)
    assert (list(weekly.columns), list(result.columns), list(flags.columns)) == (
        trends.WEEKLY_COLUMNS,
        trends.TREND_COLUMNS,
        trends.FLAG_COLUMNS,
    )
    assert len(weekly) == len(result) == len(flags) == 0
    assert list(trends.asymmetries(result).columns) == trends.ASYMMETRY_COLUMNS


# --- 2-3. Baseline, current, change, status --------------------------------------------------------------


def test_baseline_current_change_and_columns():
    result = trends_of(series([30, 34, 50, 60, 38, 42]))
    assert list(result.columns) == trends.TREND_COLUMNS
    row = result.iloc[0]
    assert (row["weeks"], row["baseline"], row["current"], row["change"]) == (6, 32.0, 40.0, 8.0)
    assert (row["improvement"], row["mdc"]) == (8.0, 10.0)
    assert row["status"] == "no_detectable_change"


def test_trends_without_slopes_are_the_same_trends_minus_the_slope_column():
    rows = series([30, 34, 50, 60, 38, 42]) + series([5, 4, 4, 3], measure="pain_hip", side=None)
    weekly = trends.weekly_values(frame(rows), AS_OF)
    full, lean = trends.series_trends(weekly), trends.series_trends(weekly, slopes=False)
    assert "slope_per_week" not in lean.columns and full["slope_per_week"].notna().all()
    pd.testing.assert_frame_equal(lean, full.drop(columns="slope_per_week"))


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ([30, 30, 35, 35, 40, 40], "improved"),  # exactly the MDC (10) counts
        ([30, 30, 35, 35, 39.9, 39.9], "no_detectable_change"),  # just under it does not
        ([30, 30, 25, 25, 20, 20], "worsened"),  # exactly -MDC
        ([30, 30, 25, 25, 20.1, 20.1], "no_detectable_change"),
        ([6.4, 6.4, 9, 9, 16.4, 16.4], "improved"),  # 16.4 - 6.4 < 10 in binary floating point
    ],
)
def test_status_at_the_mdc(values, status):
    assert one(series(values))["status"] == status


def test_float_artefact_under_the_mdc_still_counts_as_reaching_it():
    assert 16.4 - 6.4 < 10 and 8.2 - 3.7 < 4.5  # the premise: binary rounding lands just under the MDC
    row = one(series([8.2, 8.2, 6, 6, 3.7, 3.7], measure="fingertip_to_floor", side=""))
    assert row["status"] == "improved"
    assert row["improvement"] == pytest.approx(4.5)


def test_lower_is_better_turns_the_sign_of_improvement():
    row = one(series([20, 20, 18, 16, 15.5, 15.5], measure="fingertip_to_floor", side=""))
    assert row["change"] == -4.5 and row["improvement"] == 4.5
    assert row["status"] == "improved"
    pain = one(series([2, 2, 3, 3, 4, 4], measure="pain_hip"))
    assert (pain["change"], pain["improvement"], pain["status"]) == (2.0, -2.0, "worsened")


def test_negative_values():
    ext = one(series([-10, -10, -5, -5, 3, 3], measure="hip_extension"))
    assert (ext["baseline"], ext["current"], ext["change"], ext["status"]) == (-10.0, 3.0, 13.0, "improved")
    fold = one(series([-2, -2, -4, -4, -6.5, -6.5], measure="fingertip_to_floor", side=""))
    assert (fold["baseline"], fold["current"], fold["improvement"]) == (-2.0, -6.5, 4.5)
    assert fold["status"] == "improved"  # further past the floor is better
    back = one(series([-6.5, -6.5, -4, -4, -2, -2], measure="fingertip_to_floor", side=""))
    assert back["status"] == "worsened"


def test_fewer_than_four_weeks_is_insufficient_whatever_the_change():
    three = one(series([10, 60, 90]))
    assert three["status"] == "insufficient_data"
    assert (three["baseline"], three["current"], three["change"]) == (35.0, 75.0, 40.0)  # still reported
    assert one(series([10, 60, 90, 90]))["status"] == "improved"


def test_a_single_week_is_baseline_and_current():
    rows = [("P1", day(2, d), "hip_flexion", "left", v) for d, v in enumerate([40.0, 44.0])]
    row = one(rows)
    assert (row["weeks"], row["baseline"], row["current"], row["change"]) == (1, 42.0, 42.0, 0.0)
    assert row["status"] == "insufficient_data"
    assert np.isnan(row["slope_per_week"])


def test_two_weeks_share_baseline_and_current():
    row = one(series([40, 50]))
    assert (row["baseline"], row["current"], row["change"]) == (45.0, 45.0, 0.0)


def test_identical_repeated_readings_are_no_change():
    rows = [("P1", day(w, d), "hip_flexion", "left", 50.0) for w in range(6) for d in (0, 3, 5)]
    row = one(rows)
    assert (row["weeks"], row["change"], row["slope_per_week"], row["status"]) == (
        6,
        0.0,
        0.0,
        "no_detectable_change",
    )


def test_sideless_measures_keep_an_empty_side():
    result = trends_of(series([10, 10, 10, 10], measure="pain_low_back", side=""))
    assert result["side"].tolist() == [""]
    assert result["mdc"].tolist() == [2.0]


def test_one_row_per_series_sorted():
    rows = (
        series([1, 2, 3, 4], patient="P2")
        + series([1, 2, 3, 4], patient="P1", side="right")
        + series([1, 2, 3, 4], patient="P1", side="left")
        + series([5], patient="P1", measure="fingertip_to_floor", side="")
    )
    result = trends_of(rows)
    assert list(zip(result["patient_id"], result["measure"], result["side"], strict=True)) == [
        ("P1", "fingertip_to_floor", ""),
        ("P1", "hip_flexion", "left"),
        ("P1", "hip_flexion", "right"),
        ("P2", "hip_flexion", "left"),
    ]


def test_weekly_from_elsewhere_unsorted_with_other_dtypes():
    """The store hands over weeks as datetime64[us] and counts as int32; order must not matter."""
    weekly = trends.weekly_values(frame(series([30, 32, 41, 45, 44]) + series([5, 5, 2], "pain_hip")), AS_OF)
    other = weekly.astype({"week": "datetime64[us]", "n": "int32"}).iloc[::-1]
    assert_frame_equal(trends.series_trends(other), trends.series_trends(weekly))
    last = pd.DataFrame({"patient_id": ["P1"], "last_reading": [day(4, 2)]})  # python dates
    flags = trends.patient_flags(trends.series_trends(other), other, last, day(6, 2))
    assert flags["last_reading"].tolist() == [pd.Timestamp(day(4, 2))]
    assert flags["inactive"].tolist() == [True]


def test_unknown_measure_is_an_error():
    with pytest.raises(ValueError, match="hip_wiggle"):
        trends_of(series([1, 2, 3, 4], measure="hip_wiggle"))


def test_duplicate_weekly_rows_are_an_error():
    weekly = trends.weekly_values(frame(series([1, 2, 3])), AS_OF)
    with pytest.raises(ValueError, match="one row per"):
        trends.series_trends(pd.concat([weekly, weekly.iloc[:1]]))


# --- 4. Theil-Sen slope ------------------------------------------------------------------------------------


def test_slope_is_per_week_of_calendar_time_not_per_reading():
    assert one(series([0, 5, 10], weeks=[0, 5, 10]))["slope_per_week"] == 1.0
    assert one(series([0, 5, 10], weeks=[0, 1, 2]))["slope_per_week"] == 5.0


def test_slope_resists_one_outlier():
    assert one(series([0, 1, 2, 3, 100, 5, 6]))["slope_per_week"] == 1.0


def test_slope_is_empty_under_three_weeks():
    assert np.isnan(one(series([0, 5]))["slope_per_week"])
    assert one(series([0, 5, 7]))["slope_per_week"] == 3.5  # pairwise slopes 5, 3.5, 2


def test_slope_with_an_even_number_of_pairs_is_the_mean_of_the_middle_two():
    values = [0, 1, 5, 6]  # 4 weeks -> 6 pairwise slopes: 1, 1, 2, 2.5, 2.5, 4
    expected = theilslopes(values, [0, 1, 2, 3])[0]
    assert one(series(values))["slope_per_week"] == expected == 2.25


def test_slope_equals_scipy_on_random_series_with_gaps():
    rng = np.random.default_rng(7)
    rows, expected = [], {}
    for k in range(60):
        n = int(rng.integers(3, 40))
        weeks = np.sort(rng.choice(120, n, replace=False))
        values = np.round(rng.normal(40, 12, n), 1)
        rows += series(values, patient=f"P{k:02d}", weeks=weeks)
        expected[f"P{k:02d}"] = theilslopes(values, weeks.astype(float))[0]
    result = trends_of(rows).set_index("patient_id")["slope_per_week"]
    assert result.to_dict() == expected  # exactly: the same pairs and the same median
    helper = trends.theil_sen(trends.weekly_values(frame(rows), AS_OF))
    assert helper.droplevel(["measure", "side"]).to_dict() == expected


# --- 5. Flags -----------------------------------------------------------------------------------------------


def test_flag_columns_and_dtypes():
    flags = flags_of(series([30, 30, 20, 20], measure="hip_flexion"))
    assert list(flags.columns) == trends.FLAG_COLUMNS
    for col in ("inactive", "worsening", "pain_rising", "plateau"):
        assert flags[col].dtype == bool
    assert flags["last_reading"].tolist() == [pd.Timestamp(day(3, 2))]


def test_inactive_at_exactly_fourteen_days():
    rows = series([30])
    last = day(0, 2)
    assert flags_of(rows, last + timedelta(days=14))["inactive"].tolist() == [True]
    assert flags_of(rows, last + timedelta(days=13))["inactive"].tolist() == [False]
    assert flags_of(rows, last)["inactive"].tolist() == [False]


def test_worsening_from_rom_or_field_but_not_from_pain():
    rom = flags_of(series([30, 30, 20, 20]))
    assert (rom["worsening"].item(), rom["pain_rising"].item()) == (True, False)
    field = flags_of(series([10, 10, 15, 15], measure="fingertip_to_floor", side=""))
    assert field["worsening"].tolist() == [True]
    pain = flags_of(series([2, 2, 4, 4], measure="pain_knee", side="right"))
    assert (pain["worsening"].item(), pain["pain_rising"].item()) == (False, True)
    calm = flags_of(series([2, 2, 3.5, 3.5], measure="pain_knee", side="right") + series([30, 30, 40, 40]))
    assert (calm["worsening"].item(), calm["pain_rising"].item()) == (False, False)
    early = flags_of(series([30, 30, 10]))  # a big drop with 3 weeks is not yet a status
    assert early["worsening"].tolist() == [False]


def test_asymmetry_at_exactly_the_mdc_and_lsi():
    rows = series([40], side="left") + series([50], side="right")
    asym = trends.asymmetries(trends_of(rows))
    assert list(asym.columns) == trends.ASYMMETRY_COLUMNS
    row = asym.iloc[0]
    assert (row["left"], row["right"], row["difference"], row["mdc"], row["lsi"]) == (40, 50, 10, 10, 80.0)
    assert bool(row["asymmetric"]) is True
    just_under = trends.asymmetries(trends_of(series([40], side="left") + series([49.9], side="right")))
    assert bool(just_under["asymmetric"].item()) is False
    artefact = trends.asymmetries(
        trends_of(series([0.1], "figure_four", "left") + series([3.8], "figure_four", "right"))
    )
    assert 3.8 - 0.1 < 3.7 and bool(artefact["asymmetric"].item()) is True


@pytest.mark.parametrize(("left", "right"), [(0, 15), (-5, 10), (-5, -20)])
def test_lsi_is_empty_unless_both_values_are_positive(left, right):
    asym = trends.asymmetries(
        trends_of(series([left], "hip_extension", "left") + series([right], "hip_extension", "right"))
    )
    assert np.isnan(asym["lsi"].item())
    assert asym["difference"].item() == abs(left - right)
    assert bool(asym["asymmetric"].item()) is (abs(left - right) >= 13)


def test_asymmetry_only_for_rom_and_field_measured_on_both_sides():
    rows = (
        series([2], "pain_hip", "left") + series([9], "pain_hip", "right")  # pain: not an asymmetry
        + series([30], "hip_abduction", "left")  # one side only
        + series([10], "figure_four", "left") + series([20], "figure_four", "right")
        + series([40], "hip_flexion", "left") + series([80], "hip_flexion", "right")
        + series([40], "hip_adduction", "left") + series([41], "hip_adduction", "right")
    )  # fmt: skip
    asym = trends.asymmetries(trends_of(rows))
    assert asym["measure"].tolist() == ["figure_four", "hip_adduction", "hip_flexion"]
    assert asym["asymmetric"].tolist() == [True, False, True]
    flags = flags_of(rows)
    assert flags["asymmetry"].tolist() == [["figure_four", "hip_flexion"]]
    assert flags_of(series([40], side="left") + series([41], side="right"))["asymmetry"].tolist() == [[]]


def long_flat(measure="hip_flexion", side="left", n=8, level=40):
    return series([level] * n, measure, side)


def test_plateau_with_exactly_eight_values_needs_another_improved_rom_series():
    improved_short = series([20, 20, 30, 35, 35], "hip_abduction", "left")
    assert one(improved_short)["status"] == "improved"
    assert bool(flags_of(long_flat() + improved_short)["plateau"].item()) is True
    assert bool(flags_of(long_flat())["plateau"].item()) is False  # nothing improved
    # no ROM series with 8 weeks: no plateau, however much improved
    assert bool(flags_of(long_flat(n=7) + improved_short)["plateau"].item()) is False


def test_plateau_compares_the_last_pair_with_the_pair_six_and_seven_back():
    # n = 10: recent = median(v9, v10) = 62, earlier = median(v3, v4) = 55, |7| < 10: still.
    # One week off either way would read median(v2, v3) = 45 or median(v4, v5) = 50: moved.
    values = [40, 40, 50, 60, 40, 62, 62, 62, 62, 62]
    assert one(series(values))["status"] == "improved"
    assert bool(flags_of(series(values))["plateau"].item()) is True
    moved = [40, 40, 50, 54, 40, 64, 64, 64, 64, 64]  # earlier 52, recent 64: moved by >= MDC
    assert bool(flags_of(series(moved))["plateau"].item()) is False


def test_plateau_movement_exactly_at_the_mdc_is_movement():
    values = [30, 30, 30, 30, 40, 40, 40, 40, 40, 40]  # n=10: earlier median(v3, v4) = 30, recent 40
    assert one(series(values))["status"] == "improved"
    assert bool(flags_of(series(values))["plateau"].item()) is False
    nearly = [30, 30, 30, 30.2, 40, 40, 40, 40, 40, 40]  # earlier 30.1: moved 9.9 < 10
    assert bool(flags_of(series(nearly))["plateau"].item()) is True


def test_plateau_needs_every_long_rom_series_still_but_ignores_field_tests():
    improved_short = series([20, 20, 30, 35, 35], "hip_abduction", "left")
    rising = series([20, 20, 20, 20, 20, 20, 40, 40], "hip_flexion", "right")
    assert bool(flags_of(long_flat() + rising + improved_short)["plateau"].item()) is False
    fold_moving = series([20, 20, 20, 20, 20, 20, 5, 5], "fingertip_to_floor", "")
    assert bool(flags_of(long_flat() + fold_moving + improved_short)["plateau"].item()) is True


def test_flags_one_row_per_patient_in_last_reading():
    rows = series([1, 2, 3, 4], patient="B") + series([1, 2, 3, 4], patient="A")
    weekly, result, _ = trends.trends_for(frame(rows), AS_OF)
    last = pd.DataFrame({"patient_id": ["C", "A"], "last_reading": pd.to_datetime([day(0), day(3, 2)])})
    flags = trends.patient_flags(result, weekly, last, AS_OF)
    assert flags["patient_id"].tolist() == ["A", "C"]  # sorted; B is not asked for
    assert flags["asymmetry"].tolist() == [[], []]
    assert flags["worsening"].tolist() == [False, False]


def random_caseload(seed: int, patients: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    keys = [("hip_flexion", "left"), ("hip_flexion", "right"), ("hip_internal_rotation", "left"),
            ("hip_internal_rotation", "right"), ("fingertip_to_floor", ""), ("pain_hip", "left")]  # fmt: skip
    rows = []
    for p in range(patients):
        for measure, side in keys:
            n = int(rng.integers(0, 14))
            weeks = np.sort(rng.choice(16, n, replace=False))
            trend = rng.normal(0, 2)
            for w in weeks:
                for _ in range(int(rng.integers(1, 3))):
                    value = float(
                        np.clip(round(30 + trend * w + rng.normal(0, 5)), 0, 10 if "pain" in measure else 90)
                    )
                    rows.append((f"P{p}", day(int(w), int(rng.integers(0, 7))), measure, side, value))
    return frame(rows)


def test_many_patients_at_once_equal_each_patient_alone():
    readings = random_caseload(3)
    as_of = day(14, 3)
    weekly, result, flags = trends.trends_for(readings, as_of)
    assert flags[["worsening", "pain_rising", "inactive"]].any().any()  # the sample exercises the flags
    alone = [
        trends.trends_for(readings[readings["patient_id"] == p], as_of)
        for p in sorted(readings["patient_id"].unique())
    ]
    for i, together in enumerate((weekly, result, flags)):
        assert_frame_equal(together, pd.concat([a[i] for a in alone], ignore_index=True))


# --- Properties ---------------------------------------------------------------------------------------------

values_st = st.lists(st.integers(-30, 90), min_size=1, max_size=14)


@FAST
@given(values=values_st, shift=st.integers(-40, 40), data=st.data())
def test_shifting_a_series_leaves_change_and_status_unchanged(values, shift, data):
    weeks = sorted(data.draw(st.sets(st.integers(0, 40), min_size=len(values), max_size=len(values))))
    base = one(series(values, "hip_extension", weeks=weeks))
    moved = one(series([v + shift for v in values], "hip_extension", weeks=weeks))
    assert moved["change"] == base["change"]
    assert moved["status"] == base["status"]
    assert moved["baseline"] == base["baseline"] + shift
    assert moved["slope_per_week"] == pytest.approx(base["slope_per_week"], nan_ok=True)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_row_order_changes_nothing(seed):
    readings = random_caseload(seed % 1000, patients=3)
    shuffled = readings.sample(frac=1, random_state=seed % 2**31).reset_index(drop=True)
    expected = trends.trends_for(readings, AS_OF)
    for got, want in zip(trends.trends_for(shuffled, AS_OF), expected, strict=True):
        assert_frame_equal(got, want)


@FAST
@given(
    values=st.lists(st.integers(0, 90), min_size=3, max_size=14), stretch=st.integers(1, 4), data=st.data()
)
def test_slope_scales_with_values_and_inversely_with_time(values, stretch, data):
    weeks = sorted(data.draw(st.sets(st.integers(0, 25), min_size=len(values), max_size=len(values))))
    base = one(series(values, weeks=weeks))["slope_per_week"]
    assert one(series([2 * v for v in values], weeks=weeks))["slope_per_week"] == 2 * base
    spread = one(series(values, weeks=[w * stretch for w in weeks]))["slope_per_week"]
    assert spread == pytest.approx(base / stretch, abs=1e-12)
    assert base == theilslopes(values, weeks)[0]


@FAST
@given(readings=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 40)), min_size=1, max_size=30))
def test_weekly_value_is_the_median_of_the_weeks_readings(readings):
    rows = [("P1", MONDAY + timedelta(days=d), "hip_flexion", "left", float(v)) for d, v in readings]
    weekly = trends.weekly_values(frame(rows), AS_OF).set_index("week")
    for week, group in frame(rows).groupby(pd.to_datetime(frame(rows)["date"]).dt.to_period("W-SUN")):
        assert weekly.loc[week.start_time, "value"] == np.median(group["value"])
        assert weekly.loc[week.start_time, "n"] == len(group)
    assert len(weekly) == frame(rows)["date"].map(lambda d: d.isocalendar()[:2]).nunique()


@FAST
@given(values=values_st, measure=st.sampled_from(["hip_flexion", "fingertip_to_floor", "pain_low_back"]))
def test_status_follows_the_rules_in_order(values, measure):
    row = one(series(values, measure, ""))
    if row["weeks"] < 4:
        assert row["status"] == "insufficient_data"
    elif row["improvement"] >= row["mdc"]:
        assert row["status"] == "improved"
    elif row["improvement"] <= -row["mdc"]:
        assert row["status"] == "worsened"
    else:
        assert row["status"] == "no_detectable_change"


def test_as_of_reproduces_the_past():
    rows = series([30, 30, 35, 40, 45, 50, 60, 60])
    past = day(3, 2)
    assert_frame_equal(
        trends.trends_for(frame(rows), past)[1],
        trends.trends_for(frame([r for r in rows if r[1] <= past]), past)[1],
    )
    assert one(rows, past)["weeks"] == 4
    assert one(rows, datetime(2026, 1, 28, 9, 30))["weeks"] == 4  # a datetime as_of means its whole day
