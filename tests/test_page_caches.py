"""A write shows on the pages of the patient it changed, whatever the pages keep between runs.

The pages keep their results per patient, keyed on the patient's version (Store.patient_versions), in the
server process. Each test runs a page, writes through one of the app's write paths, runs the same page
again and looks for the change; a write to another patient leaves the page's charts as they were.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from hipdata import auth, charts, fhir, ui
from hipdata.auth import SYSTEM
from hipdata.checkin import monday
from hipdata.store import Store

APP = str(Path(__file__).parents[1] / "app.py")
TODAY = date.today()
THIS_MONDAY = monday(TODAY)
HEADER = ["patient_id", "date", "measure", "side", "value"]


def day(weeks_ago: int) -> str:
    return (THIS_MONDAY - timedelta(weeks=weeks_ago)).isoformat()


@pytest.fixture
def clinic(new_db, monkeypatch, make_readings, fast_hashing) -> Store:
    """P1 and P2 with six weeks of hip flexion; P1 has a programme and a deleted reading of 134°."""
    path = new_db("caches")
    monkeypatch.setenv("HIPDATA_DB", path)
    store = Store(path)
    rows = [{"patient_id": p, "date": day(w), "value": 100 + w} for p in ("P1", "P2") for w in range(6)]
    store.add_readings(SYSTEM, make_readings(*rows, {"date": day(1), "value": 133}, today=TODAY))
    store.add_readings(SYSTEM, make_readings({"date": day(2), "value": 134}, today=TODAY))
    store.delete_row(SYSTEM, "readings", reading(store, 134))
    programme = {"patient_id": ["P1"], "exercise": ["foam_rolling"], "sessions_per_week": [3], "dose": [""]}
    store.add_records(SYSTEM, "programme", pd.DataFrame(programme))
    hashed = auth.hash_password("correct horse battery")
    store.create_account(SYSTEM, "ada", "admin", hashed)
    store.create_account(SYSTEM, "tess", "therapist", hashed)
    store.assign(SYSTEM, "P2", "tess")
    return store


def reading(store: Store, value: float, deleted: bool = False) -> int:
    rows = store.deleted_readings(SYSTEM, "P1") if deleted else store.readings(SYSTEM, "P1")
    return int(rows.loc[rows["value"] == value, "id"].iloc[0])


def page(store: Store, path: str, user: str = "ada") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[ui.TOKEN_KEY] = store.open_session(user, datetime.now())
    at.session_state["review_patient"] = "P1"
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def charts_text(at: AppTest) -> str:
    """Every chart the page sends, as text (the hover texts hold each value with its unit)."""
    return " ".join(json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in at.get("plotly_chart"))


def page_text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "text", "warning") for e in getattr(at, kind)]
    tables = [frame.value.to_csv() for frame in at.dataframe]
    metrics = [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in [*parts, *tables, *metrics])


def caseload_row(at: AppTest, patient: str = "P1") -> pd.Series | None:
    shown = at.dataframe[0].value
    rows = shown[shown["patient"].str.split(" ").str[0] == patient]
    return rows.iloc[0] if len(rows) else None


def new_reading(make_readings, value: float, weeks_ago: int = 0):
    return make_readings({"date": day(weeks_ago), "value": value}, today=TODAY)


# ---- readings: the progress page's charts ---------------------------------------------------------------

READING_WRITES = {
    "add_readings": (None, "137°", lambda s, mr: s.add_readings(SYSTEM, new_reading(mr, 137))),
    "save_checkin": (
        None,
        "138°",
        lambda s, mr: s.save_checkin(SYSTEM, "P1", THIS_MONDAY, new_reading(mr, 138), None),
    ),
    "update_reading": (
        "133°",
        "121°",
        lambda s, mr: s.update_reading(SYSTEM, reading(s, 133), new_reading(mr, 121, weeks_ago=1)),
    ),
    "delete_reading": ("133°", None, lambda s, mr: s.delete_row(SYSTEM, "readings", reading(s, 133))),
    "restore_reading": (None, "134°", lambda s, mr: s.restore_reading(SYSTEM, reading(s, 134, deleted=True))),
    "import_csv": (None, "139°", None),  # below: needs a file
    "fhir_import": (None, "131°", None),  # below: needs another store's export
}


@pytest.mark.parametrize("write", list(READING_WRITES))
def test_a_reading_written_shows_on_the_patients_progress_page(
    clinic, make_readings, write, tmp_path, new_db
):
    gone, shown, act = READING_WRITES[write]
    at = page(clinic, "app_pages/progress.py")
    before = charts_text(at)
    assert (gone is None or gone in before) and (shown is None or shown not in before)
    if write == "import_csv":
        csv = tmp_path / "readings.csv"
        csv.write_text(",".join(HEADER) + f"\nP1,{day(0)},hip_flexion,left,139\n")
        clinic.import_csv(SYSTEM, csv, HEADER, today=TODAY)
    elif write == "fhir_import":
        other = Store(new_db("other"))
        other.add_readings(SYSTEM, new_reading(make_readings, 131))
        data = fhir.export_json(other, SYSTEM, "P1")
        other.close()
        fhir.import_json(clinic, SYSTEM, data, today=TODAY)
    else:
        act(clinic, make_readings)
    after = charts_text(rerun(at))
    assert (gone is None or gone not in after) and (shown is None or shown in after)


def test_goals_show_on_the_progress_page_when_added_and_go_when_deleted(clinic):
    at = page(clinic, "app_pages/progress.py")
    assert "goal (left)" not in charts_text(at)
    goal = {"patient_id": ["P1"], "measure": ["hip_flexion"], "side": ["left"], "target": [140.0],
            "target_date": [pd.Timestamp(TODAY + timedelta(weeks=4))]}  # fmt: skip
    clinic.add_records(SYSTEM, "goals", pd.DataFrame(goal))
    assert "goal (left): 140°" in charts_text(rerun(at))
    clinic.delete_row(SYSTEM, "goals", int(clinic.records(SYSTEM, "goals", "P1")["id"].iloc[0]))
    assert "goal (left)" not in charts_text(rerun(at))


def test_a_psfs_shows_on_the_progress_page(clinic):
    at = page(clinic, "app_pages/progress.py")
    assert "PSFS score" not in page_text(at)
    psfs = {"patient_id": ["P1"], "date": [pd.Timestamp(day(0))], "activities": ['["Squat", "Run", "Hike"]'],
            "ratings": ["[4, 5, 6]"], "score": [5.0]}  # fmt: skip
    clinic.add_records(SYSTEM, "psfs", pd.DataFrame(psfs))
    assert "PSFS score (mean of your activities) 5.0/10" in page_text(rerun(at))


# ---- the review page and the caseload ------------------------------------------------------------------


def test_notes_and_programme_show_on_the_review_page(clinic):
    at = page(clinic, "app_pages/review.py")
    assert "Knee felt fine" not in page_text(at) and "Lateral band walk" not in page_text(at)
    note = {"patient_id": ["P1"], "week": [pd.Timestamp(THIS_MONDAY)], "text": ["Knee felt fine"]}
    clinic.add_records(SYSTEM, "notes", pd.DataFrame(note))
    programme = {
        "patient_id": ["P1"],
        "exercise": ["lateral_band_walk"],
        "sessions_per_week": [2],
        "dose": ["3x10"],
    }
    clinic.add_records(SYSTEM, "programme", pd.DataFrame(programme))
    assert "Knee felt fine" in page_text(rerun(at)) and "Lateral band walk" in page_text(at)


def test_a_plan_shows_on_the_review_page(clinic):
    at = page(clinic, "app_pages/review.py")
    assert "Measurement plan: Default plan" in page_text(at)
    clinic.add_records(SYSTEM, "plans", pd.DataFrame({"patient_id": ["P1"], "series": ["pain_low_back"]}))
    assert "Measurement plan: Custom plan (1 measure)" in page_text(rerun(at))


def test_lefs_and_exercise_log_show_on_the_caseload(clinic):
    at = page(clinic, "app_pages/caseload.py")
    assert caseload_row(at)["lefs"] == "" and caseload_row(at)["adherence"] == 0
    lefs = {"patient_id": ["P1"], "date": [pd.Timestamp(day(0))], "answers": ["2" * 20], "total": [40]}
    clinic.add_records(SYSTEM, "lefs", pd.DataFrame(lefs))
    log = pd.DataFrame({"exercise": ["foam_rolling"], "sessions": [6]})
    clinic.replace_week_log(SYSTEM, "P1", THIS_MONDAY, log)
    row = caseload_row(rerun(at))
    assert row["lefs"] == "40 (+0)" and row["adherence"] == 50  # 6 of 4 weeks x 3 sessions


def test_an_assignment_shows_on_the_therapists_caseload(clinic):
    at = page(clinic, "app_pages/caseload.py", user="tess")
    assert caseload_row(at, "P2") is not None and caseload_row(at, "P1") is None
    clinic.assign(SYSTEM, "P1", "tess")
    assert caseload_row(rerun(at), "P1") is not None


# ---- a write to another patient ------------------------------------------------------------------------


def test_a_write_to_another_patient_rebuilds_none_of_this_patients_charts(clinic, make_readings, monkeypatch):
    at = page(clinic, "app_pages/progress.py")
    built = []
    original = charts.measure_charts
    monkeypatch.setattr(charts, "measure_charts", lambda *a, **k: built.append(1) or original(*a, **k))
    clinic.add_readings(
        SYSTEM, make_readings({"patient_id": "P2", "date": day(0), "value": 120}, today=TODAY)
    )
    rerun(at)
    assert built == []
    clinic.add_readings(SYSTEM, new_reading(make_readings, 122))
    assert "122°" in charts_text(rerun(at)) and built == [1]
