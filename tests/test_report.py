"""The self-contained HTML progress report: one patient only, plain status words, escaped user text."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from hipdata import plan, report
from hipdata.auth import SYSTEM, Actor
from hipdata.contract import READING_COLUMNS
from hipdata.report import report_html, write_report
from hipdata.store import AccessDenied, Store
from hipdata.validate import clean_readings

AS_OF = date(2026, 3, 4)
MONDAY = date(2026, 3, 2)
LATER = date(2026, 3, 10)  # readings on this day come after as_of
PATIENT, NAME = "PA-1001", "Alice Liddell"
OTHER, OTHER_NAME = "PX-OTHER-7731", "Bartholomew Quince"


def weekly_rows(patient: str, measure: str, side: str, values: list[float], **extra) -> list[dict]:
    n = len(values)
    return [
        {
            "patient_id": patient,
            "date": (MONDAY - timedelta(weeks=n - 1 - i) + timedelta(days=1)).isoformat(),
            "measure": measure,
            "side": side,
            "value": v,
            **extra,
        }
        for i, v in enumerate(values)
    ]


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def populate(store: Store, make_readings, patient: str = PATIENT, name: str = NAME) -> None:
    """Two patients with readings, goals, programme, log, LEFS and notes; `patient` is the one reported on."""
    store.add_patient(SYSTEM, patient, name)
    store.add_patient(SYSTEM, OTHER, OTHER_NAME)
    rows = [
        *weekly_rows(patient, "hip_flexion", "left", [100, 100, 100, 100, 115, 115]),  # improved
        *weekly_rows(patient, "hip_flexion", "right", [100, 100, 100, 100, 105, 105]),  # no detectable change
        *weekly_rows(patient, "pain_hip", "left", [1, 1, 1, 1, 4, 4]),  # worsened
        *weekly_rows(patient, "fingertip_to_floor", "", [5, 4]),  # 2 weeks: needs 4 weeks of data
        {
            "patient_id": patient,
            "date": LATER.isoformat(),
            "measure": "hip_abduction",
            "side": "left",
            "value": 33,
        },
        {
            "patient_id": patient,
            "date": LATER.isoformat(),
            "measure": "hip_flexion",
            "side": "left",
            "value": 150,
        },
        *weekly_rows(OTHER, "hip_flexion", "left", [90, 91, 92, 93], note="other patient's reading"),
    ]
    store.add_readings(SYSTEM, make_readings(*rows, today=LATER))
    week = lambda weeks_back: pd.Timestamp(MONDAY - timedelta(weeks=weeks_back))  # noqa: E731
    store.add_records(
        SYSTEM,
        "goals",
        frame(
            patient_id=[patient, patient, OTHER],
            measure=["hip_flexion", "pain_hip", "hip_flexion"],
            side=["left", "left", "left"],
            target=[110.0, 1.0, 120.0],
            target_date=[pd.Timestamp(AS_OF + timedelta(weeks=8))] * 3,
        ),
    )
    store.add_records(
        SYSTEM,
        "programme",
        frame(
            patient_id=[patient, OTHER],
            exercise=["ninety_ninety", "foam_rolling"],
            sessions_per_week=[3, 2],
            dose=["2 x 5 breaths per side", "5 minutes"],
        ),
    )
    store.add_records(
        SYSTEM,
        "exercise_log",
        frame(
            patient_id=[patient] * 4 + [OTHER],
            week=[week(3), week(2), week(1), week(0), week(0)],
            exercise=["ninety_ninety"] * 4 + ["foam_rolling"],
            sessions=[3, 2, 3, 1, 2],
        ),
    )
    store.add_records(
        SYSTEM,
        "lefs",
        frame(
            patient_id=[patient, patient, OTHER],
            date=[pd.Timestamp("2026-01-20"), pd.Timestamp("2026-02-17"), pd.Timestamp("2026-02-17")],
            answers=["1" * 20, "2" * 20, "3" * 20],
            total=[30, 41, 60],
        ),
    )
    store.add_records(
        SYSTEM,
        "notes",
        frame(
            patient_id=[patient, OTHER],
            week=[week(1), week(1)],
            text=["Felt stiff after the long hike.", "Zebra-striped secret of the other patient"],
        ),
    )


@pytest.fixture
def clinic(store, make_readings) -> Store:
    populate(store, make_readings)
    return store


@pytest.fixture(scope="module")
def html(session_db) -> str:
    """One report shared by the read-only tests (building it takes a moment)."""
    store = Store(session_db("report"))
    populate(
        store,
        lambda *rows, today: clean_readings(
            pd.DataFrame([{k: str(v) for k, v in r.items()} for r in rows]), today
        ),
    )
    try:
        return report_html(store, SYSTEM, PATIENT, AS_OF)
    finally:
        store.close()


def section(html: str, title: str) -> str:
    """The text from one <h2> to the next."""
    start = html.index(f"<h2>{title}")
    end = html.find("<h2>", start + 4)
    return html[start : end if end > 0 else len(html)]


def summary_status(html: str, series: str) -> str:
    rows = re.findall(
        r"<tr><td>(.*?)</td>.*?<span class=\"[a-z_]+\">(.*?)</span></td></tr>", section(html, "Summary")
    )
    return dict(rows)[series]


# ---- self-contained ------------------------------------------------------------------------------------


def test_self_contained_plotly_inlined_once_nothing_from_the_network(html):
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "Plotly" in html
    assert html.count(get_plotlyjs()) == 1
    assert re.search(r"<script[^>]*\bsrc\s*=", html, re.I) is None
    assert re.search(r"<link[^>]*\bhref\s*=\s*[\"']?(https?:)?//", html, re.I) is None
    assert re.search(r"@import\s+url\(\s*[\"']?https?:", html, re.I) is None
    assert html.count('class="chart"') >= 4  # at-a-glance, measure charts, pain heatmap, adherence, LEFS


# ---- one patient only ----------------------------------------------------------------------------------


def test_names_only_that_patient(html):
    assert PATIENT in html and NAME in html
    assert OTHER not in html
    assert OTHER_NAME not in html
    assert "Zebra-striped secret" not in html
    assert "other patient" not in html


# ---- status words --------------------------------------------------------------------------------------


def test_status_in_plain_words_for_the_right_series(html):
    assert summary_status(html, "Hip flexion (left)") == "improved"
    assert summary_status(html, "Hip flexion (right)") == "no detectable change"
    assert summary_status(html, "Hip pain (left)") == "worsened"
    assert summary_status(html, "Forward fold: fingertip-to-floor distance") == "needs 4 weeks of data"


def test_flags_are_listed(html):
    assert "<b>Flags:</b> pain_rising" in html


def test_the_measurement_plan_is_named(html, store):
    assert "<b>Measurement plan:</b> Default plan (self-assessments): Forward fold" in html
    store.add_patient(SYSTEM, "P-plan")
    store.add_records(SYSTEM, "plans", plan.plan_row("P-plan", [("hip_flexion", "left")]))
    assert "<b>Measurement plan:</b> Custom plan (1 measure): Hip flexion (left)" in report_html(
        store, SYSTEM, "P-plan", AS_OF
    )


# ---- goals, adherence, LEFS, notes ---------------------------------------------------------------------


def test_goals_with_their_status(html):
    goals = section(html, "Goals")
    rows = re.findall(
        r"<tr><td>(.*?)</td><td class=\"num\">(.*?)</td><td>(.*?)</td>"
        r"<td class=\"num\">(.*?)</td><td>(.*?)</td></tr>",
        goals,
    )
    assert rows == [
        ("Hip flexion (left)", "110.0", "29 Apr 2026", "115.0", "reached"),
        ("Hip pain (left)", "1.0", "29 Apr 2026", "4.0", "behind"),
    ]


def test_programme_and_adherence(html):
    part = section(html, "Exercise programme")
    assert '<td>90/90 hip switch (dynamic)</td><td class="num">3</td><td>2 x 5 breaths per side</td>' in part
    assert "Foam rolling" not in part and "5 minutes" not in part  # the other patient's programme
    # 3 + 2 + 3 + 1 = 9 sessions done of 3 a week x 4 weeks = 12
    assert "Adherence over the last 4 weeks: 75 %" in part


def test_lefs_first_latest_and_verdict(html):
    part = section(html, "Lower Extremity Functional Scale")
    assert "First 30/80, latest 41/80: change +11 (a clinically important change" in part
    assert "60/80" not in part


def test_notes(html):
    part = section(html, "Notes")
    assert "Week of 23 Feb 2026" in part
    assert "Felt stiff after the long hike." in part


def test_empty_sections_say_so(store, make_readings):
    store.add_patient(SYSTEM, "P-new", "New Person")
    html = report_html(store, SYSTEM, "P-new", AS_OF)
    for text in ("No readings yet.", "No goals set.", "No programme set.", "No LEFS recorded.", "No notes."):
        assert text in html


# ---- escaping ------------------------------------------------------------------------------------------


def test_user_text_is_escaped_in_note_patient_id_and_name(store, make_readings):
    evil_id = "<script>alert('id')</script>"
    evil_name = "<img src=x onerror=alert('name')>"
    populate(store, make_readings, patient=evil_id, name=evil_name)
    store.add_records(
        SYSTEM,
        "notes",
        frame(
            patient_id=[evil_id], week=[pd.Timestamp(MONDAY)], text=["<script>alert('note')</script> **x**"]
        ),
    )
    store.add_readings(
        SYSTEM,
        make_readings(
            {"patient_id": evil_id, "date": "2026-03-03", "note": "<script>alert('reading')</script>"},
            today=AS_OF,
        ),
    )
    html = report_html(store, SYSTEM, evil_id, AS_OF)
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;note&#x27;)&lt;/script&gt; **x**" in html
    assert "&lt;script&gt;alert(&#x27;id&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(&#x27;name&#x27;)&gt;" in html
    # the only <script> tags are the report's own: plotly.js once, then one per chart
    assert html.count("<script") == html.count('class="chart"') + 1


# ---- files beside each other ---------------------------------------------------------------------------


def test_write_report_html_and_the_patients_readings_as_csv(clinic, tmp_path):
    out = tmp_path / "report.html"
    csv_path = write_report(clinic, SYSTEM, PATIENT, out, AS_OF)
    assert csv_path == tmp_path / "report-readings.csv"
    html = out.read_text(encoding="utf-8")
    assert NAME in html and OTHER not in html
    assert summary_status(html, "Hip flexion (left)") == "improved"
    written = pd.read_csv(csv_path, dtype={"side": str}, keep_default_na=False)
    assert list(written.columns) == list(READING_COLUMNS)
    assert set(written["patient_id"]) == {PATIENT}
    expected = clinic.readings(SYSTEM, PATIENT, AS_OF)
    assert len(written) == len(expected) == 6 + 6 + 6 + 2
    assert written["date"].max() <= AS_OF.isoformat()
    assert sorted(
        zip(written["date"], written["measure"], written["side"], written["value"], strict=True)
    ) == sorted(
        zip(
            expected["date"].dt.strftime("%Y-%m-%d"),
            expected["measure"],
            expected["side"],
            expected["value"],
            strict=True,
        )
    )


def test_as_of_excludes_later_readings(clinic, tmp_path):
    before = report_html(clinic, SYSTEM, PATIENT, AS_OF)
    after = report_html(clinic, SYSTEM, PATIENT, LATER)
    assert "Hip abduction" not in before and "Hip abduction" in after

    def weeks(html: str) -> str:
        return re.search(r"<tr><td>Hip flexion \(left\)</td><td>°</td><td class=\"num\">(\d+)</td>", html)[1]

    assert (weeks(before), weeks(after)) == ("6", "7")
    assert "Readings up to 04 March 2026" in before


# ---- access --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor",
    [
        Actor("tess", "therapist"),  # assigned to the other patient only
        Actor("tom", "therapist"),  # assigned to nobody
        Actor("bart", "patient", OTHER),
        Actor("ghost", "patient"),
    ],
    ids=["other-therapist", "no-patients", "other-patient", "no-patient-id"],
)
def test_access_denied_for_someone_who_may_not_see_the_patient(clinic, tmp_path, actor, fast_hashing):
    clinic.create_account(SYSTEM, "tess", "therapist", None)
    clinic.create_account(SYSTEM, "tom", "therapist", None)
    clinic.assign(SYSTEM, OTHER, "tess")
    with pytest.raises(AccessDenied):
        report_html(clinic, actor, PATIENT, AS_OF)
    out = tmp_path / "denied.html"
    with pytest.raises(AccessDenied):
        write_report(clinic, actor, PATIENT, out, AS_OF)
    assert not out.exists() and not (tmp_path / "denied-readings.csv").exists()


def test_the_patient_and_their_therapist_may_have_the_report(clinic, fast_hashing):
    clinic.create_account(SYSTEM, "tess", "therapist", None)
    clinic.assign(SYSTEM, PATIENT, "tess")
    for actor in (Actor("alice", "patient", PATIENT), Actor("tess", "therapist")):
        html = report_html(clinic, actor, PATIENT, AS_OF)
        assert NAME in html and OTHER not in html
        assert summary_status(html, "Hip flexion (left)") == "improved"


def test_unknown_patient_is_denied(clinic):
    with pytest.raises(AccessDenied):
        report_html(clinic, SYSTEM, "P-nobody", AS_OF)


# ---- command line --------------------------------------------------------------------------------------


def test_report_command(run_cli, make_readings, tmp_path):
    store = Store(run_cli.db)
    populate(store, make_readings)
    store.close()
    out = tmp_path / "out" / "alice.html"
    out.parent.mkdir()
    result = run_cli("report", PATIENT, "-o", out, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.stderr
    csv_path = tmp_path / "out" / "alice-readings.csv"
    assert result.stdout.strip() == f"Report written to {out} (readings in {csv_path})."
    html = out.read_text(encoding="utf-8")
    assert NAME in html and OTHER not in html and OTHER_NAME not in html
    assert summary_status(html, "Hip pain (left)") == "worsened"
    assert "Hip abduction" not in html  # --as-of: the later reading is left out
    written = pd.read_csv(io.StringIO(csv_path.read_text(encoding="utf-8")))
    assert set(written["patient_id"]) == {PATIENT}
    assert len(written) == 20 and written["date"].max() == "2026-03-03"


def test_report_command_unknown_patient_fails_with_exit_2(run_cli, tmp_path):
    out = tmp_path / "nobody.html"
    result = run_cli("report", "P-nobody", "-o", out)
    assert result.exit_code == 2
    assert "P-nobody" in result.stderr
    assert not Path(out).exists()


# ---- printing ------------------------------------------------------------------------------------------

A4_PRINTABLE_PX = (186 / 25.4 * 96, 273 / 25.4 * 96)  # A4 less 12 mm margins, at 96 px per inch


def test_printed_on_a4_no_chart_or_table_is_split(html):
    """Every chart and table is kept on one page, and each is smaller than the printable page."""
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    kept = re.search(r"([^{}]*)\{[^}]*break-inside: avoid", css).group(1)
    assert {".chart", ".block", "table", "tr"} <= {s.strip() for s in kept.split(",")}
    assert "@page { size: A4; margin: 12mm; }" in css
    width = int(re.search(r"max-width: (\d+)px", css).group(1))
    assert width <= A4_PRINTABLE_PX[0]  # the charts drawn on screen are as wide as the printed page
    heights = [int(h) for h in re.findall(r'"height":\s*(\d+)', html)]
    assert heights and max(heights) < A4_PRINTABLE_PX[1] - 60  # room for a section heading
    measure = [h for h in heights if h == report.MEASURE_CHART_HEIGHT]
    assert len(measure) >= 1 and A4_PRINTABLE_PX[1] > 2 * report.MEASURE_CHART_HEIGHT + 40  # two a page


def test_glance_and_summary_come_one_group_at_a_time(html):
    groups = ("Hip range of motion", "Field tests", "Pain (0-10)")
    shown = [g for g in groups if f'<div class="block"><h3>{g}</h3><table>' in html]
    assert {"Hip range of motion", "Pain (0-10)"} <= set(shown)
    assert html.count("Progress at a glance: ") == len(shown)  # one glance chart per group
