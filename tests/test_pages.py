"""Page flows with streamlit.testing.v1.AppTest: first run, sign-in, check-in, progress, roles, review."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from hipdata import auth, ui
from hipdata.auth import SYSTEM
from hipdata.caseload import BADGES
from hipdata.demo import load_demo
from hipdata.store import Store
from tests.test_caseload import add_every_flag

APP = str(Path(__file__).parents[1] / "app.py")
PASSWORD = "correct horse battery"
HASH = auth.hash_password(PASSWORD)


@pytest.fixture
def db(new_db, monkeypatch) -> Store:
    path = new_db("pages")
    monkeypatch.setenv("HIPDATA_DB", path)
    return Store(path)


def account(store: Store, username: str, role: str, patient: str | None = None, therapist: str | None = None):
    store.create_account(SYSTEM, username, role, HASH, patient, therapist)
    return store.open_session(username, datetime.now())


def app(token: str | None = None, page: str | None = None, one_page: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if token:
        at.session_state[auth_key()] = token
    if one_page:
        at.session_state["checkin_mode"] = "All on one page"
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def auth_key() -> str:
    from hipdata.ui import TOKEN_KEY

    return TOKEN_KEY


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "success", "error", "warning", "title", "text")
             for e in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


def test_first_run_creates_the_admin_then_offers_demo_data(db):
    at = app()
    assert "Welcome to hipdata" in texts(at)
    at.text_input[0].input("ada")
    at.text_input[1].input(PASSWORD)
    at.text_input[2].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert db.account("ada")["role"] == "admin"
    assert "There are no patients yet" in texts(at)
    next(b for b in at.button if b.label == "Load demo data").click().run()
    assert not at.exception
    assert db.patient_count() == 12


def test_sign_in_with_wrong_password_gets_nothing(db):
    account(db, "tess", "therapist")
    at = app()
    at.text_input[0].input("tess")
    at.text_input[1].input("wrong password!")
    at.button[0].click().run()
    assert auth.SIGN_IN_FAILED in texts(at)
    assert auth_key() not in at.session_state
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert "Caseload" in texts(at)


def test_unknown_user_and_locked_account_get_the_same_message(db):
    account(db, "tess", "therapist")
    for _ in range(auth.MAX_FAILED_ATTEMPTS):
        assert auth.sign_in(db, "tess", "nope nope nope") is None
    at = app()
    at.text_input[0].input("tess")
    at.text_input[1].input(PASSWORD)  # right password, but locked
    at.button[0].click().run()
    locked_message = [e.value for e in at.error]
    at.text_input[0].input("nobody")
    at.button[0].click().run()
    assert locked_message == [e.value for e in at.error] == [auth.SIGN_IN_FAILED]


def test_tampered_token_shows_sign_in(db):
    account(db, "tess", "therapist")
    at = app(token="forged-token")
    assert [b.label for b in at.button] == ["Sign in"]


def checkin_field(at: AppTest, key: str):
    return next(n for n in at.number_input if n.key and n.key.startswith(key + "-"))


def test_enter_in_a_field_of_the_one_page_checkin_does_not_save_it(db):
    token = account(db, "pat", "patient", patient="P1")
    forms = {f.form_id: f for f in _forms(app(token, one_page=True))}
    assert forms["checkin-0"].enter_to_submit is False  # only the button saves


def _forms(at: AppTest):
    """The form settings (protos) of every form on the page."""
    stack = [at._tree]
    while stack:
        node = stack.pop()
        if getattr(node, "type", None) == "form":
            yield node.proto.form
        stack.extend(getattr(node, "children", {}).values())


def test_valid_checkin_is_saved_and_confirmed(db):
    token = account(db, "pat", "patient", patient="P1")
    at = app(token, one_page=True)
    checkin_field(at, "hip_internal_rotation:left").set_value(31)
    checkin_field(at, "pain_low_back").set_value(3)
    at.button(key="FormSubmitter:checkin-0-Save check-in").click().run()
    assert not at.exception
    assert "Saved: 2 readings" in texts(at)
    saved = db.readings(SYSTEM, "P1")
    assert sorted(zip(saved["measure"], saved["side"], saved["value"], strict=True)) == [
        ("hip_internal_rotation", "left", 31.0),
        ("pain_low_back", "", 3.0),
    ]
    # this week's entries can be corrected
    assert any("This week's entries (2)" in e.label for e in at.expander)


def test_invalid_checkin_shows_errors_and_saves_nothing(db):
    token = account(db, "pat", "patient", patient="P1")
    at = app(token, one_page=True)
    checkin_field(at, "hip_flexion:left").set_value(200)
    checkin_field(at, "pain_hip:right").set_value(12)
    checkin_field(at, "hip_flexion:right").set_value(100)
    at.button(key="FormSubmitter:checkin-0-Save check-in").click().run()
    errors = re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error))  # as shown, markdown escapes undone
    assert "Hip flexion, left: must be a number from 0° to 160°; you entered 200°" in errors
    assert (
        "Hip pain, right: must be a whole number from 0 to 10 (points out of 10); you entered 12/10" in errors
    )
    assert "(hip_flexion)" not in errors and "(pain_hip)" not in errors  # a patient reads labels, not ids
    assert db.readings(SYSTEM).empty
    assert checkin_field(at, "hip_flexion:right").value == 100  # what the patient typed is kept


def test_a_pain_with_decimals_is_refused_not_saved_as_a_whole_number(db):
    """An integer field would hand the page 3 for a typed 3.5 (the browser and Streamlit truncate it); the
    pain fields take decimals so that the rules see 3.5 and refuse it."""
    token = account(db, "pat", "patient", patient="P1")
    at = app(token, one_page=True)
    checkin_field(at, "pain_hip:left").set_value(3.5)
    checkin_field(at, "hip_flexion:left").set_value(100)
    at.button(key="FormSubmitter:checkin-0-Save check-in").click().run()
    errors = re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error))
    assert (
        "Hip pain, left: must be a whole number of points out of 10, with no decimals;"
        " you entered 3.5/10" in errors
    )
    assert db.readings(SYSTEM).empty
    assert checkin_field(at, "pain_hip:left").value == 3.5  # kept as typed, to be corrected
    assert "whole numbers 0 to 10" in checkin_field(at, "pain_hip:left").help


def date_field(at: AppTest):
    from hipdata.checkin import DATE_LABEL

    return next(t for t in at.text_input if t.label == DATE_LABEL)


def save_checkin(at: AppTest) -> None:
    key = next(b.key for b in at.button if b.key and b.key.endswith("-Save check-in"))
    at.button(key=key).click().run()
    assert not at.exception, at.exception


@pytest.mark.parametrize(
    ("typed", "rule"),
    [
        ("1899-12-31", "must not be before 1900-01-01"),
        ("1000-01-01", "must not be before 1900-01-01"),
        (str(date.today() + timedelta(days=1)), "must not be in the future"),
        ("2999-12-31", "must not be in the future"),
        ("2026-02-30", "must be a calendar date"),
    ],
)
def test_a_typed_date_out_of_range_is_refused_at_the_field(db, typed, rule):
    token = account(db, "pat", "patient", patient="P1")
    at = app(token, one_page=True)
    date_field(at).input("2024-05-06").run()  # a valid date first, as the widget kept it before
    date_field(at).input(typed).run()
    assert date_field(at).value == typed
    assert any(rule in e.value and typed in e.value for e in at.error), "the message is at the field"
    checkin_field(at, "pain_low_back").set_value(3)
    save_checkin(at)
    assert db.readings(SYSTEM).empty, "nothing saved: neither the date shown nor an earlier one"
    assert "Nothing was saved" in texts(at) and date_field(at).value == typed


@pytest.mark.parametrize("typed", ["1900-01-01", "2024-05-06", str(date.today())])
def test_the_check_in_saves_exactly_the_date_shown(db, typed):
    token = account(db, "pat", "patient", patient="P1")
    at = app(token, one_page=True)
    date_field(at).input("2001-02-03").run()
    date_field(at).input(typed).run()
    checkin_field(at, "pain_low_back").set_value(3)
    save_checkin(at)
    assert "Saved: 1 reading." in texts(at)
    assert db.readings(SYSTEM)["date"].dt.date.tolist() == [date.fromisoformat(typed)]


def test_patient_menu_and_data_are_only_their_own(db):
    token = account(db, "pat", "patient", patient="P0001")
    load_demo(db, SYSTEM, patients=3, weeks=6)
    at = app(token, "app_pages/progress.py")
    assert "My progress" in texts(at)
    assert not at.selectbox or all(s.label != "Patient" for s in at.selectbox)
    assert len(at.metric) > 0
    page_text = texts(at) + " ".join(m.label for m in at.metric)
    assert "P0002" not in page_text and "P0003" not in page_text
    words = {"Improved", "No detectable change yet", "Worsened", "Needs 4 weeks of data"}
    assert all(any(w in str(m.proto.delta) or w in m.help for w in words) for m in at.metric)


def test_therapist_sees_only_assigned_patients(db):
    account(db, "tess", "therapist")
    token = account(db, "tom", "therapist")
    load_demo(db, SYSTEM, patients=4, weeks=6)
    db.assign(SYSTEM, "P0002", "tom")
    db.assign(SYSTEM, "P0003", "tess")
    at = app(token)
    shown = at.dataframe[0].value
    assert list(shown["patient"].str.split(" ").str[0]) == ["P0002"]
    at.session_state["review_patient"] = "P0003"  # tampering with the session cannot widen access
    at.switch_page("app_pages/review.py").run()
    assert not at.exception
    assert at.selectbox(key="review-patient").options == [
        "P0002 · " + db.patients(SYSTEM).iloc[1]["display_name"]
    ]


def test_caseload_filters_by_a_short_flag_and_gives_each_row_room_for_every_flag(db):
    token = account(db, "ada", "admin")
    add_every_flag(db, "P-all", date.today(), "Mara")
    db.add_patient(SYSTEM, "P-new", "")  # no check-in yet: its only flag
    at = app(token)
    assert at.dataframe[0].proto.row_height == ui.CASELOAD_ROW_HEIGHT
    assert list(at.dataframe[0].value["patient"]) == ["P-all · Mara", "P-new"]
    at.multiselect[0].select(BADGES["pain_rising"]).run()
    assert list(at.dataframe[0].value["patient"]) == ["P-all · Mara"]
    at.multiselect[0].unselect(BADGES["pain_rising"]).select(BADGES["never_logged"]).run()
    assert list(at.dataframe[0].value["patient"]) == ["P-new"]


def test_progress_page_explains_the_rules(db):
    token = account(db, "ada", "admin")
    load_demo(db, SYSTEM, patients=2, weeks=8)
    at = app(token, "app_pages/progress.py")
    assert any(e.label == "How we read your progress" for e in at.expander)
    assert "minimal detectable change" in texts(at)
    assert len(at.get("plotly_chart")) >= 2
    # no Plotly tool bar: on a phone it covers the chart titles
    assert all(json.loads(c.proto.config) == {"displayModeBar": False} for c in at.get("plotly_chart"))


def test_review_adds_a_goal_and_a_note(db):
    token = account(db, "ada", "admin")
    load_demo(db, SYSTEM, patients=2, weeks=8)
    at = app(token, "app_pages/review.py")
    goal_target = next(n for n in at.number_input if n.label == "Target value")
    goal_target.set_value(45)
    at.date_input[0].set_value(date.today() + timedelta(weeks=8))
    next(b for b in at.button if b.label == "Add goal").click().run()
    assert not at.exception
    goals = db.records(SYSTEM, "goals")
    assert len(goals) == 1 and goals.iloc[0]["target"] == 45
    next(t for t in at.text_area if t.label == "Note").input("<b>Felt better</b> '; DROP TABLE notes; --")
    next(b for b in at.button if b.label == "Add note").click().run()
    assert not at.exception
    notes = db.records(SYSTEM, "notes")
    assert notes.iloc[0]["text"] == "<b>Felt better</b> '; DROP TABLE notes; --"
    assert any("<b>Felt better</b>" in t.value for t in at.text)  # shown literally, not as HTML


def test_review_restores_a_deleted_reading(db):
    token = account(db, "tess", "therapist")
    load_demo(db, SYSTEM, patients=2, weeks=3)
    db.assign(SYSTEM, "P0001", "tess")
    reading = int(db.readings(SYSTEM, "P0001")["id"].iloc[0])
    db.delete_row(SYSTEM, "readings", reading)
    at = app(token, "app_pages/review.py")
    assert f"#{reading}," in at.dataframe[-1].value["Reading"].iloc[0]
    chooser = next(s for s in at.selectbox if s.label == "Reading to restore")
    chooser.set_value(reading).run()
    next(b for b in at.button if b.label == "Restore reading").click().run()
    assert not at.exception, at.exception
    assert db.deleted_readings(SYSTEM).empty and reading in set(db.readings(SYSTEM)["id"])
    assert db.audit_log(SYSTEM).iloc[0][["actor", "action"]].tolist() == ["tess", "restore"]
    assert "No deleted readings." in texts(at)


def test_audit_page_is_for_admins(db):
    token = account(db, "ada", "admin")
    load_demo(db, SYSTEM, patients=1, weeks=2)
    at = app(token, "app_pages/audit.py")
    assert not at.dataframe[0].value.empty
    assert isinstance(at.dataframe[0].value, pd.DataFrame)


def upload(at: AppTest, content: str) -> AppTest:
    at.file_uploader[0].set_value(("readings.csv", content.encode(), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    return at


def test_data_page_checks_an_upload_once_and_imports_it_as_one_audit_entry(db, monkeypatch):
    import streamlit as st

    from hipdata import file_import

    st.cache_data.clear()
    checks = []
    check_file = file_import.check_file
    monkeypatch.setattr(file_import, "check_file", lambda *a, **k: checks.append(1) or check_file(*a, **k))
    token = account(db, "ada", "admin")
    at = upload(app(token, "app_pages/data.py"), "patient_id,date,measure,side,value\n"
                + "".join(f"P{i % 3},2026-01-05,hip_flexion,left,{i}\n" for i in range(40)))  # fmt: skip
    assert "40 readings for 3 patients, all valid" in texts(at)
    before = len(db.audit_log(SYSTEM))
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception and "Imported 40 readings" in texts(at)
    at.run()  # any later interaction: the file is not checked again
    assert len(checks) == 1
    new = db.audit_log(SYSTEM).head(len(db.audit_log(SYSTEM)) - before)
    imports = new[new["entity"] == "readings"]
    assert imports["action"].tolist() == ["import"] and len(db.readings(SYSTEM)) == 40
    assert '"readings": 40' in imports["new_value"].iloc[0]


def test_data_page_refuses_a_short_row_as_the_command_line_does(db):
    token = account(db, "ada", "admin")
    at = upload(app(token, "app_pages/data.py"),
                'patient_id,date,measure,side,value,note\nP1,2026-01-05,hip_flexion,left,30,"a, b"\n'
                "P1,2026-01-05,hip_flexion,left,31\n")  # fmt: skip
    problems = at.dataframe[0].value
    assert problems[["row", "column", "message"]].values.tolist() == [
        [3, "row", "has 5 fields; the header has 6"]
    ]
    assert not [b for b in at.button if b.label == "Import"] and db.readings(SYSTEM).empty


def test_data_page_shows_the_first_thousand_problems_and_counts_all(db):
    token = account(db, "ada", "admin")
    at = upload(app(token, "app_pages/data.py"),
                "patient_id,date,measure,side,value\n" + "P1,2026-01-05,hip_flexion,left,999\n" * 1500)  # fmt: skip
    assert len(at.dataframe[0].value) == 1000
    assert "1,500 problems in 1,500 rows" in texts(at)
    assert "Download all 1,500 problems as CSV" in [d.label for d in at.get("download_button")]


def test_a_patient_without_a_name_is_picked_by_id_alone(db):
    token = account(db, "ada", "admin")
    db.add_patient(SYSTEM, "P9")
    db.add_patient(SYSTEM, "P8", "Pia Named")
    at = app(token, "app_pages/progress.py")
    assert at.selectbox(key="progress-patient").options == ["P8 · Pia Named", "P9"]


def test_a_long_patient_list_is_searched_by_id_or_name(db):
    token = account(db, "ada", "admin")
    many = ui.PICK_LIST_MAX + 50
    names = [f"Name {k:03d}" if k != 7 else "Zoë Ströbel" for k in range(many)]
    db.add_patients(
        SYSTEM, pd.DataFrame({"patient_id": [f"P{k:03d}" for k in range(many)], "display_name": names})
    )
    at = app(token, "app_pages/progress.py")
    pick = at.selectbox(key="progress-patient")
    assert len(pick.options) == ui.PICK_LIST_MAX and pick.value == "P000"
    assert f"{many:,} patients match" in texts(at)
    at.text_input(key="progress-patient-find").input("ströb").run()  # any case, any script
    assert at.selectbox(key="progress-patient").options == ["P007 · Zoë Ströbel"]
    assert at.session_state["review_patient"] == "P007" and not at.exception
    at.text_input(key="progress-patient-find").input("P24").run()  # by id: P240 to P249
    assert len(at.selectbox(key="progress-patient").options) == 10
    at.text_input(key="progress-patient-find").input("nobody").run()
    assert "No patient's id or name contains 'nobody'" in texts(at) and not at.exception
    at = app(token)  # a patient opened from elsewhere (the caseload) is listed and chosen, first
    at.session_state["review_patient"] = "P230"
    at.switch_page("app_pages/progress.py").run()
    pick = at.selectbox(key="progress-patient")
    assert pick.value == "P230" and pick.options[0].startswith("P230")
    assert len(pick.options) == ui.PICK_LIST_MAX
    at = app(token)  # an id outside the list (a stale or edited session) takes no one's place
    at.session_state["review_patient"] = "P999"
    at.switch_page("app_pages/progress.py").run()
    pick = at.selectbox(key="progress-patient")
    assert pick.value == "P000" and len(pick.options) == ui.PICK_LIST_MAX
