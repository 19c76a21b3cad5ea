"""checkin: the weekly check-in form's logic (field errors, exercises, the last readings, corrections)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from hipdata import catalog, checkin
from hipdata.auth import SYSTEM, Actor
from hipdata.contract import ValidationError
from hipdata.store import AccessDenied

DAY = date(2026, 1, 7)  # a Wednesday
TODAY = date(2026, 3, 1)
NO_CONTEXT = dict.fromkeys(("method", "position", "mode", "measured_by"))


def no_exercises() -> pd.DataFrame:
    return pd.DataFrame(columns=list(checkin.EXERCISE_HEADERS.values()))


def exercises(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows)).reindex(columns=list(checkin.EXERCISE_HEADERS.values()))


def submit(values, context=None, note="", table=None, day=DAY, today=TODAY):
    return checkin.clean_checkin(
        "P1",
        day,
        values,
        context or NO_CONTEXT,
        note,
        no_exercises() if table is None else table,
        today=today,
    )


def refused(*args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        submit(*args, **kwargs)
    return info.value


# ---- small helpers ---------------------------------------------------------------------------------------


def test_monday_and_field_names():
    assert checkin.monday(date(2026, 1, 7)) == date(2026, 1, 5)
    assert checkin.monday(date(2026, 1, 5)) == date(2026, 1, 5)
    assert checkin.monday(date(2026, 1, 11)) == date(2026, 1, 5)
    assert checkin.field_key("hip_flexion", "left") == "hip_flexion:left"
    assert checkin.field_key("pain_low_back", "") == "pain_low_back"
    from hipdata.catalog import MEASURES

    assert checkin.field_label(MEASURES["hip_flexion"], "left") == "Hip flexion, left (°)"
    assert checkin.field_label(MEASURES["pain_low_back"], "") == "Low back pain (0-10)"
    assert (
        checkin.field_label(MEASURES["fingertip_to_floor"], "")
        == "Forward fold: fingertip-to-floor distance (cm)"
    )


# ---- clean_checkin ---------------------------------------------------------------------------------------


def test_good_checkin_gives_clean_readings():
    readings, log = submit(
        {("hip_flexion", "left"): 101.5, ("hip_flexion", "right"): None, ("pain_low_back", ""): 2},
        context={"method": "goniometer", "position": "supine", "mode": None, "measured_by": "self"},
        note="after a long run, 🦵",
    )
    assert log is None
    assert readings[["measure", "side", "value"]].values.tolist() == [
        ["hip_flexion", "left", 101.5],
        ["pain_low_back", "", 2.0],
    ]
    assert set(readings["patient_id"]) == {"P1"}
    assert set(readings["date"]) == {pd.Timestamp(DAY)}
    assert set(readings["method"]) == {"goniometer"} and readings["mode"].isna().all()
    assert set(readings["note"]) == {"after a long run, 🦵"}


def test_exact_float_values_survive_the_form():
    readings, _ = submit({("hip_flexion", "left"): 1 / 3})
    assert readings.loc[0, "value"] == 1 / 3


def test_bad_values_map_to_their_field_key_and_label_without_catalog_ids():
    error = refused(
        {
            ("hip_flexion", "left"): 200.0,
            ("pain_hip", "right"): 3.5,
            ("fingertip_to_floor", ""): -31.0,
            ("hip_extension", "left"): -12.0,  # fine: negative extension is allowed
        }
    )
    by_field = checkin.errors_by_field(error)
    assert set(by_field) == {"hip_flexion:left", "pain_hip:right", "fingertip_to_floor"}
    assert by_field["hip_flexion:left"] == (
        "Hip flexion, left: must be a number from 0° to 160°; you entered 200°"
    )
    assert by_field["pain_hip:right"] == (
        "Hip pain, right: must be a whole number of points out of 10, with no decimals; you entered 3.5/10"
    )
    assert by_field["fingertip_to_floor"] == (
        "Forward fold: fingertip-to-floor distance: must be a number from -30 cm to 80 cm; you entered -31 cm"
    )
    assert all(p.row is None for p in error.problems)
    assert not any(m in text for m in catalog.MEASURES for text in by_field.values())  # the form shows labels


def test_two_problems_on_one_field_are_joined():
    by_field = checkin.errors_by_field(refused({("pain_knee", "left"): 10.5}))
    assert list(by_field) == ["pain_knee:left"]
    assert "from 0 to 10" in by_field["pain_knee:left"] and "; " in by_field["pain_knee:left"]
    assert "whole number" in by_field["pain_knee:left"]


def test_nan_value_is_refused():
    by_field = checkin.errors_by_field(refused({("hip_abduction", "right"): float("nan")}))
    assert by_field["hip_abduction:right"].startswith("Hip abduction, right: must be a number from 0° to 90°")


def test_future_day_is_refused():
    error = refused({("hip_flexion", "left"): 100.0}, day=date(2026, 3, 2))
    assert {p.column for p in error.problems} == {"date"}
    assert "future" in error.problems[0].message


@pytest.mark.parametrize(
    ("shown", "rule"),
    [
        ("1899-12-31", "must not be before 1900-01-01"),
        ("0001-01-01", "must not be before 1900-01-01"),
        ("2026-03-02", "must not be in the future (today is 2026-03-01)"),
        ("2030-01-01", "must not be in the future (today is 2026-03-01)"),
        ("2026-02-30", "must be a calendar date written YYYY-MM-DD"),
        ("01/02/2026", "must be a calendar date written YYYY-MM-DD"),
        ("20260105", "must be a calendar date written YYYY-MM-DD"),
        ("２０２６-01-05", "must be a calendar date written YYYY-MM-DD"),  # full-width digits
        ("", "must be a calendar date written YYYY-MM-DD"),
    ],
)
def test_checkin_day_refuses_what_it_cannot_save_as_shown(shown, rule):
    with pytest.raises(ValidationError) as info:
        checkin.checkin_day(shown, today=TODAY)
    [problem] = info.value.problems
    assert (
        problem.column == "date"
        and problem.message.startswith(checkin.DATE_LABEL)
        and rule in problem.message
    )


@pytest.mark.parametrize("shown", ["1900-01-01", "2026-03-01", " 2026-01-07 ", date(2026, 1, 7)])
def test_checkin_day_is_exactly_the_date_shown(shown):
    expected = date.fromisoformat(str(shown).strip())
    assert checkin.checkin_day(shown, today=TODAY) == expected


@pytest.mark.parametrize("day", ["1899-12-31", "2026-03-02"])
def test_a_date_out_of_range_is_one_problem_at_the_date_field(day):
    error = refused({("hip_flexion", "left"): 100.0, ("pain_hip", "left"): 3.0}, day=day)
    assert [p.column for p in error.problems] == ["date"]


def test_an_exercise_only_check_in_checks_its_date_too():
    table = exercises({"Exercise": "Foam rolling", "Sessions": 3})
    assert submit({}, table=table, day="2026-01-07")[1]["sessions"].tolist() == [3]
    error = refused({}, table=table, day="2026-03-02")
    assert [p.column for p in error.problems] == ["date"]


def test_readings_carry_exactly_the_typed_date():
    readings, _ = submit({("hip_flexion", "left"): 100.0}, day="1900-01-01")
    assert readings["date"].tolist() == [pd.Timestamp("1900-01-01")]


def test_bad_patient_id_is_refused():
    with pytest.raises(ValidationError) as info:
        checkin.clean_checkin(
            "", DAY, {("hip_flexion", "left"): 100.0}, NO_CONTEXT, "", no_exercises(), today=TODAY
        )
    assert {p.column for p in info.value.problems} == {"patient_id"}


def test_too_long_note_is_refused():
    error = refused({("hip_flexion", "left"): 100.0}, note="n" * 2001)
    assert "note" in checkin.errors_by_field(error)


@pytest.mark.parametrize(
    "table",
    [
        None,
        exercises({"Exercise": None, "Sessions": None}),
        exercises({"Exercise": "", "Sessions": np.nan, "Band": "None"}),
    ],
)
def test_empty_form_is_refused(table):
    error = refused({("hip_flexion", "left"): None, ("pain_low_back", ""): None}, table=table)
    assert [(p.column, p.message) for p in error.problems] == [
        ("form", "Enter at least one measurement or exercise.")
    ]


def test_exercises_only_is_a_checkin():
    readings, log = submit(
        {("hip_flexion", "left"): None},
        table=exercises(
            {"Exercise": "Foam rolling", "Sessions": 3.0, "Seconds": 600.0},
            {"Exercise": "Glute bridge with band", "Sessions": 2, "Sets": 3, "Reps": 12, "Band": "heavy"},
            {"Exercise": None},  # a blank row the editor left behind
        ),
    )
    assert len(readings) == 0
    assert log["exercise"].tolist() == ["foam_rolling", "banded_glute_bridge"]
    assert log["sessions"].tolist() == [3, 2]
    assert log.loc[0, "seconds"] == 600 and pd.isna(log.loc[0, "sets"])
    assert log.loc[1, "band_level"] == "heavy" and log.loc[1, "reps"] == 12


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({"Exercise": "Handstand walk", "Sessions": 1}, "Exercise 'Handstand walk': unknown exercise"),
        ({"Exercise": "Foam rolling", "Sessions": 15}, "Foam rolling, Sessions: must be"),
        ({"Exercise": "Foam rolling", "Sessions": 2.5}, "Foam rolling, Sessions: must be"),
        ({"Exercise": "Foam rolling", "Sessions": None, "Reps": 10}, "Foam rolling, Sessions: required"),
        ({"Exercise": "Foam rolling", "Sessions": 1, "Band": "ultra"}, "Foam rolling, Band: allowed"),
        (
            {"Exercise": "Bulgarian split squat", "Sessions": 1, "Load kg": 400},
            "Bulgarian split squat, Load kg:",
        ),
    ],
)
def test_exercises_are_validated_and_named_as_the_form_shows_them(row, needle):
    error = refused({("hip_flexion", "left"): 100.0}, table=exercises(row))
    assert [p.column for p in error.problems] == ["exercises"]
    assert error.problems[0].message.startswith(needle)


def test_value_and_exercise_problems_reported_together():
    error = refused(
        {("hip_flexion", "left"): 999.0}, table=exercises({"Exercise": "Foam rolling", "Sessions": 99})
    )
    assert set(checkin.errors_by_field(error)) == {"hip_flexion:left", "exercises"}


def test_exercise_ids_are_accepted_too():
    _, log = submit({}, table=exercises({"Exercise": "ninety_ninety", "Sessions": 4}))
    assert log["exercise"].tolist() == ["ninety_ninety"]


# ---- history helpers -------------------------------------------------------------------------------------


def history(*rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "date", "measure", "side", "value", "method", "position"])
    frame["date"] = pd.to_datetime(frame["date"])
    for column in ("mode", "measured_by", "note"):
        frame[column] = None
    return frame


def test_last_readings_are_the_latest_on_or_before_the_day_with_their_date():
    h = history(
        (1, "2025-12-22", "hip_flexion", "left", 80.0, None, None),  # older
        (2, "2026-01-05", "hip_flexion", "left", 90.0, None, None),  # this week, before the day: shown
        (3, "2026-01-08", "hip_flexion", "left", 50.0, None, None),  # after the day: not "earlier"
        (4, "2025-12-15", "pain_low_back", "", 4.0, None, None),
        (5, "2025-12-16", "pain_low_back", "", 5.0, None, None),  # its latest, weeks ago
        (6, "2026-01-07", "hip_flexion", "right", 70.0, None, None),  # on the day itself: just saved
    )
    assert checkin.last_readings(h, DAY) == {
        ("hip_flexion", "left"): (90.0, date(2026, 1, 5)),
        ("pain_low_back", ""): (5.0, date(2025, 12, 16)),
        ("hip_flexion", "right"): (70.0, date(2026, 1, 7)),
    }


def test_last_readings_take_the_median_of_repeated_trials_on_one_day():
    h = history(
        (1, "2026-01-06", "hip_flexion", "left", 90.0, None, None),
        (2, "2026-01-06", "hip_flexion", "left", 100.0, None, None),
        (3, "2026-01-02", "hip_flexion", "left", 60.0, None, None),
    )
    assert checkin.last_readings(h, DAY) == {("hip_flexion", "left"): (95.0, date(2026, 1, 6))}


def test_last_readings_empty():
    assert checkin.last_readings(history(), DAY) == {}
    later = history((1, "2026-01-08", "hip_flexion", "left", 90.0, None, None))
    assert checkin.last_readings(later, DAY) == {}


def test_usual_context_is_the_latest_readings():
    h = history(
        (1, "2026-01-05", "hip_flexion", "left", 90.0, "goniometer", "supine"),
        (3, "2026-01-06", "hip_flexion", "left", 90.0, "phone_app", None),
        (2, "2026-01-06", "hip_flexion", "right", 90.0, "inclinometer", "seated"),
    )
    assert checkin.usual_context(h) == {
        "method": "phone_app",
        "position": None,
        "mode": None,
        "measured_by": None,
    }
    assert checkin.usual_context(history()) == NO_CONTEXT


def test_exercise_table_prefers_this_weeks_log_over_the_programme():
    log = pd.DataFrame(
        {
            "week": pd.to_datetime(["2025-12-29", "2026-01-05"]),
            "exercise": ["foam_rolling", "ninety_ninety"],
            "sessions": [1, 3],
            "sets": [None, 2],
            "reps": [None, 10],
            "seconds": [300, None],
            "band_level": [None, None],
            "load_kg": [None, None],
        }
    )
    programme = pd.DataFrame({"exercise": ["figure_four_stretch", "foam_rolling"]})
    table = checkin.exercise_table(log, programme, DAY)
    assert list(table.columns) == list(checkin.EXERCISE_HEADERS.values())
    assert table["Exercise"].tolist() == ["90/90 hip switch (dynamic)"]
    assert table["Sessions"].tolist() == [3.0]
    fresh = checkin.exercise_table(log, programme, date(2026, 1, 14))
    assert fresh["Exercise"].tolist() == ["Figure-four stretch", "Foam rolling"]
    assert fresh["Sessions"].isna().all()
    empty = checkin.exercise_table(log.iloc[0:0], programme.iloc[0:0], DAY)
    assert len(empty) == 0 and list(empty.columns) == list(checkin.EXERCISE_HEADERS.values())


def test_untouched_programme_rows_are_not_logged_and_filled_ones_are():
    # The prefilled programme rows come without sessions: left untouched, they mean "not done this week".
    table = checkin.exercise_table(pd.DataFrame(), pd.DataFrame({"exercise": ["foam_rolling"]}), DAY)
    readings, log = submit({("hip_flexion", "left"): 100.0}, table=table)
    assert len(readings) == 1 and log is None
    _, log = submit({}, table=table.assign(Sessions=[2.0]))
    assert log["sessions"].tolist() == [2]


def test_week_rows_and_tables():
    readings = history(
        (1, "2026-01-04", "hip_flexion", "left", 90.0, None, None),
        (2, "2026-01-05", "pain_low_back", "", 3.0, None, None),
        (3, "2026-01-11", "hip_flexion", "left", 91.0, None, None),
        (4, "2026-01-12", "hip_flexion", "left", 92.0, None, None),
    )
    week = checkin.week_rows(readings, DAY)
    assert week["id"].tolist() == [2, 3]
    contexts = {("hip_flexion", "left"): {"method": "goniometer", "position": "supine"}}
    lines = checkin.summary_lines({("pain_low_back", ""): 3.0, ("hip_flexion", "left"): 91.0}, contexts)
    assert lines == ["Low back pain: 3/10", "Hip flexion, left: 91° (goniometer, supine)"]
    corrections = checkin.corrections_table(week)
    assert corrections["Value"].tolist() == [3.0, 91.0] and not corrections["Delete"].any()


# ---- apply_corrections -----------------------------------------------------------------------------------


@pytest.fixture
def week_store(store, make_readings):
    store.add_readings(
        SYSTEM,
        make_readings(
            {"date": "2026-01-05", "value": "100", "method": "goniometer"},
            {"date": "2026-01-06", "measure": "pain_hip", "value": "4"},
            {"date": "2026-01-07", "measure": "hip_abduction", "side": "right", "value": "30"},
            {"patient_id": "P2", "date": "2026-01-06", "value": "80"},
        ),
    )
    return store


def values_by_id(store) -> dict[int, float]:
    frame = store.readings(SYSTEM)
    return dict(zip(frame["id"], frame["value"], strict=True))


def test_apply_corrections_validates_everything_before_writing(week_store):
    original = checkin.week_rows(week_store.readings(SYSTEM, "P1"), DAY)
    edited = checkin.corrections_table(original)
    edited.loc[edited["id"] == 1, "Value"] = 105.0  # fine
    edited.loc[edited["id"] == 2, "Value"] = 4.5  # pain must be whole: refused
    edited.loc[edited["id"] == 3, "Delete"] = True
    before = (values_by_id(week_store), week_store.data_version())
    with pytest.raises(ValidationError) as info:
        checkin.apply_corrections(week_store, SYSTEM, original, edited, today=TODAY)
    assert [(p.column, p.value) for p in info.value.problems] == [("value", "4.5")]
    assert (values_by_id(week_store), week_store.data_version()) == before


def test_apply_corrections_updates_and_deletes(week_store):
    original = checkin.week_rows(week_store.readings(SYSTEM, "P1"), DAY)
    edited = checkin.corrections_table(original)
    edited.loc[edited["id"] == 1, "Value"] = 105.0
    edited.loc[edited["id"] == 3, "Delete"] = True
    assert checkin.apply_corrections(week_store, SYSTEM, original, edited, today=TODAY) == 2
    assert values_by_id(week_store) == {1: 105.0, 2: 4.0, 4: 80.0}
    row = week_store.readings(SYSTEM).set_index("id").loc[1]
    assert row["method"] == "goniometer", "a correction keeps the reading's context"
    assert week_store.weekly(SYSTEM, TODAY, "P1").set_index("measure").loc["hip_flexion", "value"] == 105.0


def test_apply_corrections_without_changes_writes_nothing(week_store):
    original = checkin.week_rows(week_store.readings(SYSTEM, "P1"), DAY)
    version = week_store.data_version()
    assert (
        checkin.apply_corrections(week_store, SYSTEM, original, checkin.corrections_table(original), TODAY)
        == 0
    )
    assert week_store.data_version() == version


def test_apply_corrections_cleared_value_is_refused(week_store):
    original = checkin.week_rows(week_store.readings(SYSTEM, "P1"), DAY)
    edited = checkin.corrections_table(original)
    edited.loc[edited["id"] == 1, "Value"] = np.nan
    with pytest.raises(ValidationError, match=r"value = '': Hip flexion, left: must be a number from 0°"):
        checkin.apply_corrections(week_store, SYSTEM, original, edited, today=TODAY)
    assert values_by_id(week_store)[1] == 100.0


def test_apply_corrections_respects_access(week_store):
    original = checkin.week_rows(week_store.readings(SYSTEM, "P2"), DAY)
    edited = checkin.corrections_table(original).assign(Value=81.0)
    with pytest.raises(AccessDenied):
        checkin.apply_corrections(week_store, Actor("p1", "patient", "P1"), original, edited, today=TODAY)
    assert values_by_id(week_store)[4] == 80.0


def test_prescribed_exercises_left_blank_do_not_block_a_checkin():
    readings, log = submit(
        {("hip_flexion", "left"): 100.0},
        table=exercises({"Exercise": "Foam rolling"}, {"Exercise": "Glute bridge with band"}),
    )
    assert readings["value"].tolist() == [100.0]
    assert log is None  # nothing done, nothing logged


# ---- the step-by-step check-in's helpers ---------------------------------------------------------------


def test_a_patients_own_reading_carries_its_protocols_context():
    assert checkin.protocol_context(("hip_internal_rotation", "left"), by_phone=True) == {
        "method": "inclinometer", "position": "seated", "mode": "active", "measured_by": "self",
    }  # fmt: skip
    assert checkin.protocol_context(("hip_internal_rotation", "left"), by_phone=False)["method"] is None
    assert checkin.protocol_context(("fingertip_to_floor", ""), by_phone=False) == {
        "method": "tape_measure", "position": "standing", "mode": "active", "measured_by": "self",
    }  # fmt: skip
    assert checkin.protocol_context(("pain_knee", "left"), by_phone=False) == {
        "method": None, "position": None, "mode": None, "measured_by": "self",
    }  # fmt: skip


def test_per_series_context_is_stored_with_each_reading():
    values = {("hip_internal_rotation", "left"): 35.0, ("fingertip_to_floor", ""): 12.0}
    contexts = {s: checkin.protocol_context(s, by_phone=True) for s in values}
    readings, _ = checkin.clean_checkin("P1", DAY, values, NO_CONTEXT, "", no_exercises(), TODAY, contexts)
    got = readings.set_index("measure")[["method", "position", "measured_by"]].to_dict("index")
    assert got == {
        "hip_internal_rotation": {"method": "inclinometer", "position": "seated", "measured_by": "self"},
        "fingertip_to_floor": {"method": "tape_measure", "position": "standing", "measured_by": "self"},
    }


def test_step_errors_use_the_check_ins_messages_and_an_empty_step_is_fine():
    assert checkin.step_errors("P1", DAY, {("hip_flexion", "left"): None}, no_exercises(), TODAY) == {}
    found = checkin.step_errors("P1", DAY, {("hip_flexion", "left"): 170.0}, no_exercises(), TODAY)
    assert found == {
        "hip_flexion:left": "Hip flexion, left: must be a number from 0° to 160°; you entered 170°"
    }
    bad_log = exercises({"Exercise": "Foam rolling", "Sessions": 20})
    assert "Foam rolling, Sessions" in checkin.step_errors("P1", DAY, {}, bad_log, TODAY)["exercises"]


def test_exercise_cards_ask_for_the_dose_the_exercise_has_and_become_the_log():
    assert checkin.dose_fields("banded_glute_bridge") == ("sessions", "sets", "reps", "band_level")
    assert checkin.dose_fields("kneeling_hip_flexor_stretch") == ("sessions", "sets", "seconds")
    assert checkin.dose_fields("bulgarian_split_squat") == ("sessions", "sets", "reps", "load_kg")
    cards = {("banded_glute_bridge", "sessions"): 3, ("banded_glute_bridge", "reps"): 12}
    table = checkin.cards_table(["banded_glute_bridge", "foam_rolling"], cards)
    _, log = checkin.clean_checkin("P1", DAY, {}, NO_CONTEXT, "", table, TODAY)
    assert log[["exercise", "sessions", "reps"]].astype(object).values.tolist() == [
        ["banded_glute_bridge", 3, 12]
    ]
    assert checkin.exercise_lines(table) == ["Glute bridge with band: 3 sessions, 12 reps"]


def test_exercise_lines_count_in_words():
    cards = {
        ("foam_rolling", "sessions"): 1,
        ("banded_glute_bridge", "sessions"): 2,
        ("banded_glute_bridge", "sets"): 1,
    }
    table = checkin.cards_table(["foam_rolling", "banded_glute_bridge"], cards)
    assert checkin.exercise_lines(table) == [
        "Foam rolling: 1 session",
        "Glute bridge with band: 2 sessions, 1 set",
    ]
