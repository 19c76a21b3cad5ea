"""The step-by-step check-in with AppTest: complete it, go back and change a value, an error at a step, save once."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from hipdata import auth, checkin, plan
from hipdata.auth import SYSTEM
from hipdata.contract import ValidationError
from hipdata.store import Store
from hipdata.validate import clean_readings
from tests.test_pages import APP

HASH = auth.hash_password("correct horse battery")


@pytest.fixture
def db(new_db, monkeypatch) -> Store:
    path = new_db("steps")
    monkeypatch.setenv("HIPDATA_DB", path)
    store = Store(path)
    store.create_account(SYSTEM, "pat", "patient", HASH, "P1")
    return store


def open_checkin(db: Store) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["session_token"] = db.open_session("pat", datetime.now())
    at.run()
    assert not at.exception, at.exception
    return at


def progress(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def heading(at: AppTest) -> str:
    return at.subheader[0].value


def fill(at: AppTest, series: str, value) -> None:
    at.number_input(key="wiz-field-" + series.replace(":", "-")).set_value(value)


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> str:
    return re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error))  # as shown, escapes undone


def form_message(series: tuple[str, str], value: float) -> str:
    """What the one-page form says about this value: the step must say the same."""
    with pytest.raises(ValidationError) as refused:
        checkin.clean_checkin("P1", date.today(), {series: value}, checkin.NO_CONTEXT, "", pd.DataFrame())
    return checkin.errors_by_field(refused.value)[checkin.field_key(*series)]


def test_the_default_plan_walks_field_tests_rotations_pain_exercises_then_a_summary(db):
    at = open_checkin(db)
    seen = []
    for _ in range(9):
        seen.append((progress(at), heading(at)))
        press(at, "wiz-next")  # every step may be left empty
    assert seen == [
        ("1 of 10", "Forward fold: fingertip-to-floor distance"),
        ("2 of 10", "Figure-four (FABER): knee-to-floor distance, left"),
        ("3 of 10", "Figure-four (FABER): knee-to-floor distance, right"),
        ("4 of 10", "Hip internal rotation, left"),
        ("5 of 10", "Hip internal rotation, right"),
        ("6 of 10", "Hip external rotation, left"),
        ("7 of 10", "Hip external rotation, right"),
        ("8 of 10", "Pain this week"),
        ("9 of 10", "Exercises this week"),
    ]
    assert (progress(at), heading(at)) == ("10 of 10", "Check and save")
    press(at, "wiz-save")
    assert "Enter at least one measurement or exercise." in errors(at)
    assert db.readings(SYSTEM).empty


def test_complete_go_back_change_and_save_once(db):
    at = open_checkin(db)
    assert any(e.label == "How to measure" for e in at.expander)
    (drawing,) = at.get("image")  # the drawing of the position, inline
    assert drawing.proto.imgs[0].url.startswith("data:image/svg+xml;base64,")
    fill(at, "fingertip_to_floor", 10)
    press(at, "wiz-next")
    fill(at, "figure_four:left", 12.5)
    press(at, "wiz-next")
    press(at, "wiz-back")  # back to the left side: what was typed is still there
    assert at.number_input(key="wiz-field-figure_four-left").value == 12.5
    press(at, "wiz-back")
    assert at.number_input(key="wiz-field-fingertip_to_floor").value == 10
    fill(at, "fingertip_to_floor", 8)  # changed on the way back
    for _ in range(3):
        press(at, "wiz-next")
    fill(at, "hip_internal_rotation:left", 31)
    for _ in range(4):
        press(at, "wiz-next")
    assert heading(at) == "Pain this week"
    fill(at, "pain_low_back", 3)
    press(at, "wiz-next")
    press(at, "wiz-next")
    summary = re.sub(r"\\(.)", r"\1", " ".join(m.value for m in at.markdown))
    assert "Forward fold: fingertip-to-floor distance: 8 cm (tape measure, standing)" in summary
    assert "Hip internal rotation, left: 31° (seated)" in summary
    assert db.readings(SYSTEM).empty  # nothing saved before the summary's button
    press(at, "wiz-save")
    assert "Saved: 4 readings" in " ".join(s.value for s in at.success)
    at.run()  # a rerun after saving writes nothing more
    saved = db.readings(SYSTEM, "P1").sort_values(["measure", "side"])
    got = [
        (r.measure, r.side, r.value, r.method, r.position, r.mode, r.measured_by)
        for r in saved.astype(object).where(saved.notna(), None).itertuples()
    ]
    assert got == [
        ("figure_four", "left", 12.5, "tape_measure", "supine", "passive", "self"),
        ("fingertip_to_floor", "", 8.0, "tape_measure", "standing", "active", "self"),
        ("hip_internal_rotation", "left", 31.0, None, "seated", "active", "self"),  # typed: no instrument
        ("pain_low_back", "", 3.0, None, None, None, "self"),
    ]
    assert progress(at) == "1 of 10"  # a fresh check-in starts again, empty
    assert at.number_input(key="wiz-field-fingertip_to_floor").value is None


def test_a_bad_value_is_refused_at_its_step_with_the_forms_message(db):
    at = open_checkin(db)
    for _ in range(3):
        press(at, "wiz-next")
    fill(at, "hip_internal_rotation:left", 200)
    press(at, "wiz-next")
    assert progress(at) == "4 of 10"  # stays on the step
    assert form_message(("hip_internal_rotation", "left"), 200.0) in errors(at)
    assert "Hip internal rotation, left: must be" in errors(at) and "200" in errors(at)
    assert "hip_internal_rotation" not in errors(at)
    fill(at, "hip_internal_rotation:left", 40)
    press(at, "wiz-next")
    assert progress(at) == "5 of 10" and not at.error
    for _ in range(3):
        press(at, "wiz-next")
    fill(at, "pain_hip:left", 12)
    press(at, "wiz-next")
    assert form_message(("pain_hip", "left"), 12.0) in errors(at)
    assert db.readings(SYSTEM).empty


def test_a_pain_with_decimals_is_refused_at_its_step(db):
    at = open_checkin(db)
    for _ in range(7):
        press(at, "wiz-next")
    assert heading(at) == "Pain this week"
    fill(at, "pain_hip:left", 3.5)
    press(at, "wiz-next")
    assert heading(at) == "Pain this week"  # stays on the step: 3.5 is not saved as 3
    assert form_message(("pain_hip", "left"), 3.5) in errors(at)
    assert "with no decimals; you entered 3.5/10" in errors(at)
    assert at.number_input(key="wiz-field-pain_hip-left").value == 3.5
    fill(at, "pain_hip:left", 3)
    press(at, "wiz-next")
    assert heading(at) == "Exercises this week" and not at.error


def test_a_therapists_plan_decides_the_steps_and_more_measures_adds_the_rest(db):
    db.add_records(SYSTEM, "plans", plan.plan_row("P1", [("hip_flexion", "left"), ("pain_knee", "right")]))
    at = open_checkin(db)
    assert (progress(at), heading(at)) == ("1 of 4", "Hip flexion, left")
    press(at, "wiz-next")
    assert heading(at) == "Pain this week"
    asked = [n.label for n in at.number_input if not n.label.startswith("Rating of activity")]  # the PSFS
    assert asked == ["Knee pain, right (0-10)"]
    at.toggle(key="wiz_more").set_value(True).run()
    assert progress(at).endswith("of 18")  # 15 measured series, the pains, the exercises, the summary


def test_exercise_cards_log_sessions_and_dose(db):
    db.add_records(
        SYSTEM, "programme",
        pd.DataFrame({"patient_id": ["P1"], "exercise": ["banded_glute_bridge"], "sessions_per_week": [3],
                      "dose": ["3 x 12"]}),
    )  # fmt: skip
    at = open_checkin(db)
    for _ in range(8):
        press(at, "wiz-next")
    assert heading(at) == "Exercises this week"
    at.number_input(key="wiz-ex-banded_glute_bridge-sessions").set_value(3)
    at.number_input(key="wiz-ex-banded_glute_bridge-reps").set_value(12)
    at.selectbox(key="wiz-ex-banded_glute_bridge-band_level").set_value("medium")
    press(at, "wiz-next")
    press(at, "wiz-save")
    log = db.records(SYSTEM, "exercise_log", "P1")
    assert list(zip(log["exercise"], log["sessions"], log["reps"], log["band_level"], strict=True)) == [
        ("banded_glute_bridge", 3, 12, "medium")
    ]


def test_a_therapist_sets_the_plan_on_the_review_and_the_caseload_shows_it(db):
    db.create_account(SYSTEM, "tess", "therapist", HASH)
    db.assign(SYSTEM, "P1", "tess")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["session_token"] = db.open_session("tess", datetime.now())
    at.run()
    assert at.dataframe[0].value["plan"].tolist() == ["Default"]  # the short name of plan.DEFAULT_NAME
    at.switch_page("app_pages/review.py").run()
    assert any("Measurement plan: Default plan" in c.value for c in at.caption)
    chooser = at.multiselect(key="plan-P1")
    assert set(chooser.value) == set(plan.DEFAULT_PLAN)
    chooser.set_value([("hip_flexion", "left"), ("pain_low_back", "")])
    next(b for b in at.button if b.label == "Save plan").click().run()
    assert not at.exception, at.exception
    assert plan.current(db.records(SYSTEM, "plans"), "P1") == (("hip_flexion", "left"), ("pain_low_back", ""))
    assert any("Custom plan (2 measures)" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Use the default plan").click().run()
    assert plan.current(db.records(SYSTEM, "plans"), "P1") == plan.order(plan.DEFAULT_PLAN)
    assert len(db.records(SYSTEM, "plans")) == 2  # every version kept


def test_the_reminder_download_is_offered_on_the_check_in(db):
    at = open_checkin(db)
    assert any(e.label == "Add a weekly reminder to my calendar" for e in at.expander)
    buttons = [b for b in at.get("download_button") if "reminder" in str(b.proto.label)]
    assert buttons


def test_a_therapist_using_the_steps_is_recorded_as_the_one_who_measured(db):
    db.create_account(SYSTEM, "tess", "therapist", HASH)
    db.assign(SYSTEM, "P1", "tess")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["session_token"] = db.open_session("tess", datetime.now())
    at.session_state["checkin_mode"] = "Step by step"
    at.run()
    at.switch_page("app_pages/checkin.py").run()
    fill(at, "fingertip_to_floor", 4)
    for _ in range(9):
        press(at, "wiz-next")
    press(at, "wiz-save")
    saved = db.readings(SYSTEM, "P1")
    assert saved[["measure", "value", "measured_by", "entered_by"]].values.tolist() == [
        ["fingertip_to_floor", 4.0, "therapist", "tess"]
    ]


def test_right_after_saving_the_hint_shows_the_check_in_just_saved_with_its_date(db):
    today, earlier = date.today(), date.today() - timedelta(days=14)
    raw = pd.DataFrame({"patient_id": ["P1"], "date": [earlier.isoformat()], "measure": ["fingertip_to_floor"],
                        "side": [""], "value": ["12"]})  # fmt: skip
    db.add_readings(SYSTEM, clean_readings(raw))
    at = open_checkin(db)
    assert f"Last reading: 12 cm on {earlier:%d %b %Y}" in [c.value for c in at.caption]
    fill(at, "fingertip_to_floor", 8)
    for _ in range(7):
        press(at, "wiz-next")
    fill(at, "pain_low_back", 3)
    press(at, "wiz-next")
    press(at, "wiz-next")
    press(at, "wiz-save")
    assert "Saved: 2 readings" in " ".join(s.value for s in at.success)

    assert progress(at) == "1 of 10"  # the next check-in compares against the one just saved
    captions = [c.value for c in at.caption]
    assert f"Last reading: 8 cm on {today:%d %b %Y}" in captions
    assert not any("12 cm" in c for c in captions)
    assert at.number_input(key="wiz-field-fingertip_to_floor").proto.placeholder == f"last 8 on {today:%d %b}"
    for _ in range(7):
        press(at, "wiz-next")
    assert f"Last reading: 3 on {today:%d %b %Y}" in [c.value for c in at.caption]

    at.session_state["checkin_mode"] = "All on one page"  # the clinic form's fields say the same
    at.run()
    assert at.number_input(key="fingertip_to_floor-0").proto.placeholder == f"last 8 on {today:%d %b}"
