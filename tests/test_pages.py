"""Page flows with streamlit.testing.v1.AppTest: first run, sign-in, check-in, progress, roles, review."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from hipdata import auth
from hipdata.auth import SYSTEM
from hipdata.demo import load_demo
from hipdata.store import Store

APP = str(Path(__file__).parents[1] / "app.py")
PASSWORD = "correct horse battery"
HASH = auth.hash_password(PASSWORD)


@pytest.fixture
def db(tmp_path, monkeypatch) -> Store:
    path = tmp_path / "pages.duckdb"
    monkeypatch.setenv("HIPDATA_DB", str(path))
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
    assert "Hip flexion, left (°): 200 must be between 0 and 160 deg" in errors
    assert "Hip pain, right (0-10): 12 must be between 0 and 10 nprs" in errors
    assert db.readings(SYSTEM).empty
    assert checkin_field(at, "hip_flexion:right").value == 100  # what the patient typed is kept


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


def test_progress_page_explains_the_rules(db):
    token = account(db, "ada", "admin")
    load_demo(db, SYSTEM, patients=2, weeks=8)
    at = app(token, "app_pages/progress.py")
    assert any(e.label == "How we read your progress" for e in at.expander)
    assert "minimal detectable change" in texts(at)
    assert len(at.get("plotly_chart")) >= 2


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


def test_audit_page_is_for_admins(db):
    token = account(db, "ada", "admin")
    load_demo(db, SYSTEM, patients=1, weeks=2)
    at = app(token, "app_pages/audit.py")
    assert not at.dataframe[0].value.empty
    assert isinstance(at.dataframe[0].value, pd.DataFrame)
