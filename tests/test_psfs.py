"""Patient-Specific Functional Scale: checking, scoring, due dates, the trend rules, and the check-in form."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from hipdata import auth, psfs
from hipdata.auth import SYSTEM
from hipdata.contract import ValidationError
from hipdata.report import report_html
from hipdata.store import Store

ACTIVITIES = ["Squat to pick up my child", "Hike the reservoir trail", "Run 5 km"]


def assessments(ratings: list[list[int]], start=date(2026, 1, 5), every=timedelta(weeks=2), patient="P1"):
    rows = [psfs.row(patient, start + n * every, ACTIVITIES[: len(r)], r) for n, r in enumerate(ratings)]
    return pd.concat(rows, ignore_index=True).assign(id=range(1, len(rows) + 1))


# ---- checking and scoring ------------------------------------------------------------------------------


def test_score_is_the_mean_of_the_ratings():
    names, ratings, score = psfs.clean([" Squat ", "Run", "Hike", "Kneel"], [2, 5, 7, 10])
    assert names == ["Squat", "Run", "Hike", "Kneel"] and ratings == [2, 5, 7, 10]
    assert score == pytest.approx(6.0)
    assert psfs.clean(ACTIVITIES, [1, 2, 2])[2] == pytest.approx(5 / 3)


@pytest.mark.parametrize(
    ("activities", "ratings", "problem"),
    [
        (["Squat", "Run"], [3, 4], "name 3 to 5 activities"),
        (["a", "b", "c", "d", "e", "f"], [1] * 6, "name 3 to 5 activities"),
        (["Squat", "Run", "Hike"], [3, 4, 11], "rating 3 = '11': a whole number from 0 to 10"),
        (["Squat", "Run", "Hike"], [3, 4, -1], "rating 3 = '-1'"),
        (["Squat", "Run", "Hike"], [3, 4.5, 1], "rating 2 = '4.5'"),
        (["Squat", "Run", "Hike"], [3, None, 1], "rating 2 = ''"),
        (["Squat", "Run", "Hike"], [3, True, 1], "rating 2 = 'True'"),
        (["Squat", " ", "Hike"], [3, 4, 1], "activity 2 = '': name the activity"),
        (["Squat", "Squat", "Hike"], [3, 4, 1], "each activity is named once"),
        (["Squat", "Run", "x" * 101], [3, 4, 1], "at most 100 characters"),
        (["Squat", "Run", "Hike"], [3, 4], "rate each of the 3 activities"),
    ],
)
def test_bad_assessments_are_refused_with_what_is_allowed(activities, ratings, problem):
    with pytest.raises(ValidationError) as error:
        psfs.clean(activities, ratings)
    assert problem in str(error.value)


def test_due_at_the_start_and_every_two_weeks():
    assert psfs.due(pd.DataFrame(columns=["date"]), date(2026, 1, 5))
    rows = assessments([[2, 3, 4]])
    assert not psfs.due(rows, date(2026, 1, 18))
    assert psfs.due(rows, date(2026, 1, 19))
    assert psfs.next_due(rows) == pd.Timestamp("2026-01-19")
    assert psfs.current_activities(rows) == ACTIVITIES


# ---- trend rules ---------------------------------------------------------------------------------------


def trend_row(rows: pd.DataFrame, series: str = psfs.MEAN) -> pd.Series:
    table = psfs.trend(rows, date(2026, 6, 1))
    return table[table["series"] == series].iloc[0]


def test_fewer_than_four_weeks_is_not_judged():
    row = trend_row(assessments([[1, 1, 1], [1, 1, 1], [9, 9, 9]]))
    assert row["weeks"] == 3 and row["status"] == "insufficient_data"


def test_a_change_of_the_mdc_in_the_mean_is_called_improved_or_worsened():
    # baseline = median of the first 2 weeks (3), current = median of the last 2 (5): exactly the MDC of 2
    up = trend_row(assessments([[3, 3, 3], [3, 3, 3], [4, 4, 4], [5, 5, 5], [5, 5, 5]]))
    assert (up["baseline"], up["current"], up["change"], up["status"]) == (3, 5, 2, "improved")
    down = trend_row(assessments([[6, 6, 6], [6, 6, 6], [5, 5, 5], [4, 4, 4]]))
    assert down["change"] == pytest.approx(-1.5) and down["status"] == "no_detectable_change"
    worse = trend_row(assessments([[6, 6, 6], [6, 6, 6], [4, 4, 4], [4, 4, 4]]))
    assert worse["status"] == "worsened"


def test_one_activity_needs_three_points():
    rows = assessments([[2, 5, 5], [2, 5, 5], [4, 5, 5], [4, 5, 5]])  # the first activity +2, the mean +0.67
    first = trend_row(rows, ACTIVITIES[0])
    assert first["change"] == 2 and first["mdc"] == 3 and first["status"] == "no_detectable_change"
    rows = assessments([[2, 5, 5], [2, 5, 5], [5, 5, 5], [5, 5, 5]])
    assert trend_row(rows, ACTIVITIES[0])["status"] == "improved"
    assert trend_row(rows)["status"] == "no_detectable_change"  # the mean moved 1 point only


def test_two_assessments_in_one_week_count_as_one_weekly_median():
    rows = assessments([[2, 2, 2], [4, 4, 4]], every=timedelta(days=1))
    assert trend_row(rows)["weeks"] == 1 and trend_row(rows)["current"] == 3


def test_as_of_leaves_out_later_assessments():
    rows = assessments([[1, 1, 1], [1, 1, 1], [1, 1, 1], [9, 9, 9]])
    assert psfs.trend(rows, date(2026, 2, 2)).set_index("series").loc[psfs.MEAN, "weeks"] == 3


def test_summary_per_patient():
    rows = pd.concat([assessments([[3, 3, 3], [3, 3, 3], [6, 6, 6], [6, 6, 6]]),
                      assessments([[5, 5, 5]], patient="P2")], ignore_index=True)  # fmt: skip
    rows["id"] = range(len(rows))
    out = psfs.summary(rows, date(2026, 6, 1)).set_index("patient_id")
    assert out.loc["P1"].tolist() == [6.0, 3.0, "improved"]
    assert out.loc["P2"].tolist() == [5.0, 0.0, "insufficient_data"]


# ---- store, report -------------------------------------------------------------------------------------


def test_store_keeps_psfs_soft_deletable_and_audited(store: Store):
    store.add_patient(SYSTEM, "P1")
    store.add_records(SYSTEM, "psfs", psfs.row("P1", date(2026, 1, 5), ACTIVITIES, [2, 3, 4]))
    rows = store.records(SYSTEM, "psfs", "P1")
    assert psfs.current_activities(rows) == ACTIVITIES and rows.iloc[0]["score"] == 3.0
    store.delete_row(SYSTEM, "psfs", int(rows.iloc[0]["id"]))
    assert store.records(SYSTEM, "psfs", "P1").empty
    audit = store.audit_log(SYSTEM, "P1")
    assert {"insert", "delete"} <= set(audit[audit["entity"] == "psfs"]["action"])


def test_report_shows_the_psfs_with_its_verdict(store: Store):
    store.add_patient(SYSTEM, "P1")
    store.add_records(
        SYSTEM, "psfs", assessments([[3, 3, 3], [3, 3, 3], [6, 6, 6], [6, 6, 6]]).drop(columns="id")
    )
    html = report_html(store, SYSTEM, "P1", date(2026, 6, 1))
    assert "Patient-Specific Functional Scale (PSFS)" in html
    assert "Hike the reservoir trail" in html and '<span class="improved">improved</span>' in html
    assert '"chart":"psfs"' in html.replace(" ", "")


# ---- the check-in form (AppTest) -----------------------------------------------------------------------

APP = str(Path(__file__).parents[1] / "app.py")


@pytest.fixture
def patient_app(new_db, monkeypatch):
    path = new_db("psfs")
    monkeypatch.setenv("HIPDATA_DB", path)
    store = Store(path)
    store.create_account(SYSTEM, "pat", "patient", auth.hash_password("correct horse battery"), "P1")
    token = store.open_session("pat", datetime.now())

    def run() -> AppTest:
        from hipdata.ui import TOKEN_KEY

        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state[TOKEN_KEY] = token
        at.run()
        assert not at.exception, at.exception
        return at

    run.store = store
    return run


def test_checkin_asks_for_activities_then_their_ratings(patient_app):
    at = patient_app()
    assert any("Name the activities you find hard (PSFS)" in e.label for e in at.expander)
    for i, name in enumerate(["Squat to pick up my child", "Hike the reservoir trail", "Kneel"], start=1):
        at.text_input(key=f"psfs-name-{i}").input(name)
        at.number_input(key=f"psfs-rating-{i}").set_value(i + 2)
    at.button(key="FormSubmitter:psfs-Save activity ratings").click().run()
    assert not at.exception
    assert any("PSFS saved: score 4.0/10" in s.value for s in at.success)
    rows = patient_app.store.records(SYSTEM, "psfs", "P1")
    assert psfs.current_activities(rows) == ["Squat to pick up my child", "Hike the reservoir trail", "Kneel"]
    assert rows.iloc[0]["ratings"] == "[3, 4, 5]"

    # two weeks later the same activities are asked again, by name
    patient_app.store._cursor().execute("UPDATE psfs SET date = date - INTERVAL '14 days'")
    at = patient_app()
    assert any("Rate your activities (PSFS)" in e.label for e in at.expander)
    labels = [n.label for n in at.number_input if n.key and n.key.startswith("psfs-rating-")]
    assert labels == ["Squat to pick up my child (0-10)", "Hike the reservoir trail (0-10)", "Kneel (0-10)"]
    for i, value in enumerate([6, 7, 8], start=1):
        at.number_input(key=f"psfs-rating-{i}").set_value(value)
    at.button(key="FormSubmitter:psfs-Save activity ratings").click().run()
    assert len(patient_app.store.records(SYSTEM, "psfs", "P1")) == 2
    assert any("next ratings due" in c.value for c in patient_app().caption)


def test_checkin_refuses_too_few_activities_and_saves_nothing(patient_app):
    at = patient_app()
    at.text_input(key="psfs-name-1").input("Squat")
    at.number_input(key="psfs-rating-1").set_value(3)
    at.text_input(key="psfs-name-2").input("Run")
    at.button(key="FormSubmitter:psfs-Save activity ratings").click().run()
    errors = " ".join(e.value for e in at.error)
    assert "name 3 to 5 activities" in errors and "rating 2" in errors
    assert patient_app.store.records(SYSTEM, "psfs", "P1").empty


def test_checkin_refuses_a_rating_with_decimals(patient_app):
    """An integer field would turn a typed 3.5 into 3; the rating fields take decimals so it is refused."""
    at = patient_app()
    for i, name in enumerate(["Squat", "Run", "Kneel"], start=1):
        at.text_input(key=f"psfs-name-{i}").input(name)
        at.number_input(key=f"psfs-rating-{i}").set_value(3.5 if i == 2 else 4)
    at.button(key="FormSubmitter:psfs-Save activity ratings").click().run()
    errors = " ".join(e.value for e in at.error)
    assert "Nothing was saved: PSFS rating 2 = '3.5': a whole number from 0 to 10" in errors.replace("\\", "")
    assert patient_app.store.records(SYSTEM, "psfs", "P1").empty


def test_progress_page_shows_the_psfs_verdict_in_words(patient_app):
    store = patient_app.store
    today = date.today()
    for n, ratings in enumerate([[3, 3, 3], [3, 3, 3], [6, 6, 6], [6, 6, 6]]):
        day = today - timedelta(weeks=2 * (3 - n))
        store.add_records(SYSTEM, "psfs", psfs.row("P1", day, ACTIVITIES, ratings))
    at = patient_app()
    at.switch_page("app_pages/progress.py").run()
    assert not at.exception
    metric = next(m for m in at.metric if m.label.startswith("PSFS score"))
    assert metric.value == "6.0/10" and "Improved" in str(metric.proto.delta)
    assert any(s.value == "Your activities (PSFS)" for s in at.subheader)
    assert "**2 points** in the mean" in " ".join(m.value for m in at.markdown)
