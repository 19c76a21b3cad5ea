"""The therapist's caseload: one row per patient, who needs attention first and why, from whole-caseload frames."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from hipdata import caseload as caseload_module
from hipdata import catalog, psfs, series, trends
from hipdata.analysis import progress, summary
from hipdata.auth import SYSTEM, Actor
from hipdata.caseload import BADGES, adherence, caseload
from hipdata.demo import load_demo
from hipdata.store import Store
from hipdata.validate import clean_readings

AS_OF = date(2026, 3, 4)  # a Wednesday
MONDAY = date(2026, 3, 2)  # the Monday of the as_of week


def weekly_rows(
    patient: str, measure: str, side: str, values: list[float], last_monday: date = MONDAY
) -> list[dict]:
    """One reading a week, on the Tuesday; the last value in the week of last_monday."""
    n = len(values)
    return [
        {
            "patient_id": patient,
            "date": (last_monday - timedelta(weeks=n - 1 - i) + timedelta(days=1)).isoformat(),
            "measure": measure,
            "side": side,
            "value": v,
        }
        for i, v in enumerate(values)
    ]


def build(store: Store, actor: Actor = SYSTEM, as_of: date = AS_OF) -> pd.DataFrame:
    """The caseload as the app builds it: a handful of whole-caseload store reads, then one computation."""
    return caseload(
        store.patients(actor),
        progress(store, actor, as_of),
        store.records(actor, "exercise_log"),
        store.records(actor, "programme"),
        store.records(actor, "lefs"),
        store.records(actor, "psfs"),
    )


def add_programme(store: Store, patient: str, per_week: dict[str, int]) -> None:
    store.add_records(
        SYSTEM,
        "programme",
        pd.DataFrame(
            {
                "patient_id": patient,
                "exercise": list(per_week),
                "sessions_per_week": list(per_week.values()),
                "dose": "",
            }
        ),
    )


def add_log(store: Store, patient: str, rows: list[tuple[date, str, int]]) -> None:
    store.add_records(
        SYSTEM,
        "exercise_log",
        pd.DataFrame(
            {
                "patient_id": patient,
                "week": [pd.Timestamp(w) for w, _, _ in rows],
                "exercise": [e for _, e, _ in rows],
                "sessions": [s for _, _, s in rows],
            }
        ),
    )


def add_lefs(store: Store, patient: str, totals: list[tuple[str, int]]) -> None:
    store.add_records(
        SYSTEM,
        "lefs",
        pd.DataFrame(
            {
                "patient_id": patient,
                "date": [pd.Timestamp(d) for d, _ in totals],
                "answers": ["0" * 20] * len(totals),
                "total": [t for _, t in totals],
            }
        ),
    )


def add_every_flag(store: Store, patient: str, as_of: date, name: str = "") -> None:
    """A patient with all seven flags on as_of: last check-in 3 weeks before (inactive); hip flexion up 20°
    then still for 8 weeks (plateau), left abduction down 20° (worsening) and 20° from the right (asymmetry),
    hip pain up 4 (pain rising), LEFS up 12 and PSFS down by more than its MDC."""
    last = as_of - timedelta(days=as_of.weekday(), weeks=3)
    rows = [
        *weekly_rows(patient, "hip_flexion", "left", [80, 80] + [100] * 8, last),
        *weekly_rows(patient, "hip_abduction", "left", [40, 40] + [20] * 8, last),
        *weekly_rows(patient, "hip_abduction", "right", [40] * 10, last),
        *weekly_rows(patient, "pain_hip", "left", [1, 1] + [5] * 8, last),
    ]
    store.add_patient(SYSTEM, patient, name)
    raw = pd.DataFrame(rows).astype(str)
    store.add_readings(SYSTEM, clean_readings(raw, today=as_of))
    add_lefs(store, patient, [((last - timedelta(weeks=8)).isoformat(), 40), (last.isoformat(), 52)])
    for n, ratings in enumerate([[6, 6, 6], [6, 6, 6], [4, 4, 4], [3, 4, 4]]):
        store.add_records(
            SYSTEM,
            "psfs",
            psfs.row(patient, last - timedelta(weeks=6 - 2 * n), ["Squat", "Run", "Hike"], ratings),
        )


@pytest.fixture
def clinic(store, make_readings) -> Store:
    """Seven patients, one for each kind of attention, named so that sorting by name would be wrong."""
    rows = [
        *weekly_rows("G-worse", "hip_flexion", "left", [100, 100, 80, 80]),
        *weekly_rows("F-pain", "pain_hip", "left", [1, 1, 4, 4]),
        *weekly_rows(
            "E-inactive", "hip_flexion", "left", [100, 100, 100, 100], last_monday=MONDAY - timedelta(weeks=3)
        ),
        *weekly_rows("C-plateau", "hip_flexion", "left", [80, 80, 100, 100, 100, 100, 100, 100, 100, 100]),
        *weekly_rows("B-asym", "hip_flexion", "left", [100] * 4),
        *weekly_rows("B-asym", "hip_flexion", "right", [80] * 4),
        *weekly_rows("A-ok", "hip_flexion", "left", [100, 100, 105, 105]),
        *weekly_rows("A-ok", "fingertip_to_floor", "", [10, 10, 1, 1]),
        *weekly_rows("A-ok", "pain_hip", "right", [3, 3, 2, 2]),
        # a reading after as_of must not count anywhere
        {
            "patient_id": "E-inactive",
            "date": "2026-03-05",
            "measure": "hip_flexion",
            "side": "left",
            "value": 60,
        },
    ]
    store.add_readings(SYSTEM, make_readings(*rows, today=AS_OF + timedelta(days=1)))
    store.add_patient(SYSTEM, "D-never", "Dee Never")
    return store


# ---- order and flags -----------------------------------------------------------------------------------


def test_sorted_by_need_worsening_and_pain_first_then_inactive_never_logged_plateau_asymmetry(clinic):
    table = build(clinic)
    assert table["patient_id"].tolist() == [
        "F-pain", "G-worse", "E-inactive", "D-never", "C-plateau", "B-asym", "A-ok",
    ]  # fmt: skip
    assert table["priority"].tolist() == [0, 0, 1, 2, 3, 4, 5]


def test_badges_say_why(clinic):
    badges = build(clinic).set_index("patient_id")["badges"]
    assert badges.to_dict() == {
        "F-pain": "Pain\u00a0↑",
        "G-worse": "Worse",
        "E-inactive": "Inactive",
        "D-never": "No\u00a0check-in",
        "C-plateau": "Plateau",
        "B-asym": "Asymmetry",
        "A-ok": "",
    }


def test_flag_columns_are_booleans_and_lists(clinic):
    table = build(clinic).set_index("patient_id")
    assert table.loc["B-asym", "asymmetry"] == ["hip_flexion"]
    assert table.loc["A-ok", "asymmetry"] == []
    assert table.loc["D-never", "asymmetry"] == []
    for flag in ("worsening", "pain_rising", "inactive", "plateau", "never_logged", "lefs_important"):
        assert table[flag].dtype == bool, flag
    assert table["never_logged"].sum() == 1 and table.loc["D-never", "never_logged"]
    assert table.loc["D-never", "display_name"] == "Dee Never"


def test_more_flags_come_first_within_the_same_priority(store, make_readings):
    rows = [
        *weekly_rows("P1", "hip_flexion", "left", [100, 100, 80, 80]),
        *weekly_rows("P2", "hip_flexion", "left", [100, 100, 80, 80]),
        *weekly_rows("P2", "pain_hip", "left", [1, 1, 4, 4]),
        *weekly_rows("P2", "hip_abduction", "left", [40] * 4),
        *weekly_rows("P2", "hip_abduction", "right", [20] * 4),
    ]
    store.add_readings(SYSTEM, make_readings(*rows, today=AS_OF))
    table = build(store)
    assert table["patient_id"].tolist() == ["P2", "P1"]
    assert table["flag_count"].tolist() == [3, 1]
    assert table.iloc[0]["badges"] == "Worse · Pain\u00a0↑ · Asymmetry"


def test_a_patient_with_every_flag_lists_them_all_most_urgent_first(store):
    add_every_flag(store, "P-all", AS_OF)
    table = build(store)
    row = table.iloc[0]
    assert row["flag_count"] == 5 and row["lefs_important"] and row["psfs_status"] == "worsened"
    shown = [flag for flag in BADGES if flag != "never_logged"]
    assert caseload_module.view(table).iloc[0]["badges"] == " · ".join(BADGES[flag] for flag in shown)


def test_flag_help_explains_every_badge():
    help_text = caseload_module.flags_help()
    assert all(f"**{badge}**" in help_text for badge in BADGES.values())
    assert set(caseload_module.FLAG_MEANINGS) == set(BADGES)


def test_longer_silence_first_within_the_same_flags(store, make_readings):
    rows = [
        *weekly_rows("P1", "hip_flexion", "left", [100] * 4, last_monday=MONDAY - timedelta(weeks=2)),
        *weekly_rows("P2", "hip_flexion", "left", [100] * 4, last_monday=MONDAY - timedelta(weeks=4)),
    ]
    store.add_readings(SYSTEM, make_readings(*rows, today=AS_OF))
    table = build(store)
    assert table["patient_id"].tolist() == ["P2", "P1"]
    assert table["days_since_checkin"].tolist() == [29, 15]


# ---- weeks, days, biggest changes ----------------------------------------------------------------------


def test_weeks_in_programme_and_days_since_checkin(clinic):
    table = build(clinic).set_index("patient_id")
    # first week with data -> the as_of week, counted inclusively
    assert table.loc["G-worse", "weeks_in_programme"] == 4
    assert table.loc["C-plateau", "weeks_in_programme"] == 10
    assert table.loc["E-inactive", "weeks_in_programme"] == 7  # started 6 weeks before the as_of week
    assert table.loc["G-worse", "days_since_checkin"] == 1  # last reading Tuesday, as_of Wednesday
    assert table.loc["E-inactive", "days_since_checkin"] == 22  # the reading after as_of is ignored
    assert pd.isna(table.loc["D-never", "weeks_in_programme"])
    assert pd.isna(table.loc["D-never", "days_since_checkin"])


def test_biggest_changes_in_mdc_units_with_their_series(clinic):
    table = build(clinic).set_index("patient_id")
    # hip flexion -20 deg, MDC 10 -> -2.0 (signed: minus is worse)
    assert table.loc["G-worse", "rom_mdc"] == pytest.approx(-2.0)
    assert table.loc["G-worse", "rom_series"] == "Hip flexion (left)"
    # pain 1 -> 4 is 3 points worse, MDC 2 -> -1.5
    assert table.loc["F-pain", "pain_mdc"] == pytest.approx(-1.5)
    assert table.loc["F-pain", "pain_series"] == "Hip pain (left)"
    assert pd.isna(table.loc["F-pain", "rom_mdc"]) and pd.isna(table.loc["F-pain", "rom_series"])
    # A-ok: hip flexion +5/10 = 0.5, fingertip-to-floor 10 -> 1 cm = +9/4.5 = 2.0 (field tests count as ROM here)
    assert table.loc["A-ok", "rom_mdc"] == pytest.approx(2.0)
    assert table.loc["A-ok", "rom_series"] == "Forward fold: fingertip-to-floor distance"
    assert table.loc["A-ok", "pain_mdc"] == pytest.approx(0.5)  # pain 3 -> 2: one point better
    assert table.loc["A-ok", "pain_series"] == "Hip pain (right)"
    assert pd.isna(table.loc["D-never", "rom_mdc"]) and pd.isna(table.loc["D-never", "pain_series"])


def test_the_page_view_puts_the_triage_first_in_short_columns(clinic):
    table = build(clinic)
    view = caseload_module.view(table).set_axis(table["patient_id"])
    assert list(view.columns[:3]) == ["patient", "days_since_checkin", "badges"]  # what a phone shows first
    assert len(view.columns) == 10
    assert set(view["plan"]) == {"Default"}  # no plan saved: the programme's self-assessments
    assert view.loc["G-worse", "rom"] == "-2.0 flexion L"
    assert view.loc["F-pain", "pain"] == "-1.5 hip L" and view.loc["F-pain", "rom"] == ""
    assert view.loc["A-ok", "rom"] == "+2.0 forward fold"  # a measure without sides has no letter
    assert view.loc["D-never", ["rom", "pain", "lefs"]].tolist() == ["", "", ""]
    assert view.loc["A-ok", "patient"].startswith("A-ok")
    assert set(caseload_module.SHORT_NAMES) == set(catalog.MEASURES)


def test_the_page_view_shows_lefs_with_its_change(clinic):
    add_lefs(clinic, "A-ok", [("2026-01-06", 40), ("2026-02-03", 49)])
    table = build(clinic)
    view = caseload_module.view(table).set_axis(table["patient_id"])
    assert view.loc["A-ok", "lefs"] == "49 (+9)" and view.loc["B-asym", "lefs"] == ""


def test_biggest_change_is_by_size_whatever_the_sign(store, make_readings):
    rows = [
        *weekly_rows("P1", "hip_flexion", "left", [100, 100, 115, 115]),  # +1.5
        *weekly_rows("P1", "hip_extension", "right", [20, 20, -6, -6]),  # -2.0 (MDC 13)
    ]
    store.add_readings(SYSTEM, make_readings(*rows, today=AS_OF))
    row = build(store).iloc[0]
    assert row["rom_mdc"] == pytest.approx(-2.0)
    assert row["rom_series"] == "Hip extension (right)"


# ---- adherence -----------------------------------------------------------------------------------------


def test_adherence_is_sessions_done_over_prescribed_in_the_4_weeks_ending_with_the_as_of_week(clinic):
    add_programme(clinic, "G-worse", {"ninety_ninety": 3, "banded_glute_bridge": 2})  # 5 a week -> 20
    add_log(
        clinic,
        "G-worse",
        [
            (MONDAY - timedelta(weeks=4), "ninety_ninety", 7),  # too early: not counted
            (MONDAY - timedelta(weeks=3), "ninety_ninety", 3),
            (MONDAY - timedelta(weeks=2), "ninety_ninety", 2),
            (MONDAY - timedelta(weeks=2), "banded_glute_bridge", 2),
            (MONDAY - timedelta(weeks=1), "ninety_ninety", 3),
            (MONDAY, "banded_glute_bridge", 1),
            (MONDAY + timedelta(weeks=1), "ninety_ninety", 9),  # after the as_of week: not counted
        ],
    )
    add_programme(clinic, "F-pain", {"foam_rolling": 4})  # prescribed, nothing logged
    add_log(clinic, "A-ok", [(MONDAY, "foam_rolling", 3)])  # logged, no programme
    table = build(clinic).set_index("patient_id")
    assert table.loc["G-worse", "adherence"] == pytest.approx(11 / 20)
    assert table.loc["F-pain", "adherence"] == 0.0
    assert np.isnan(table.loc["A-ok", "adherence"])
    assert np.isnan(table.loc["D-never", "adherence"])


def test_adherence_window_moves_with_as_of():
    log = pd.DataFrame(
        {
            "patient_id": ["P1"] * 3,
            "week": pd.to_datetime(["2026-02-02", "2026-02-23", "2026-03-02"]),
            "sessions": [4, 4, 4],
        }
    )
    programme = pd.DataFrame({"patient_id": ["P1", "P2"], "sessions_per_week": [2, 3]})
    # the week of 2026-03-01 (a Sunday) is 2026-02-23: the window is 2026-02-02 .. 2026-02-23
    assert adherence(log, programme, date(2026, 3, 1)).to_dict() == {"P1": 8 / 8, "P2": 0.0}
    # the week of 2026-03-02 (a Monday): 2026-02-09 .. 2026-03-02
    assert adherence(log, programme, date(2026, 3, 2)).to_dict() == {"P1": 8 / 8, "P2": 0.0}
    assert adherence(log, programme, date(2026, 2, 8)).to_dict() == {"P1": 4 / 8, "P2": 0.0}


# ---- LEFS ----------------------------------------------------------------------------------------------


def test_lefs_columns_and_badge(clinic):
    add_lefs(clinic, "A-ok", [("2026-01-06", 40), ("2026-02-03", 49)])
    add_lefs(clinic, "B-asym", [("2026-01-06", 40), ("2026-02-03", 48)])
    add_lefs(clinic, "C-plateau", [("2026-01-06", 40)])
    table = build(clinic).set_index("patient_id")
    assert table.loc["A-ok", ["lefs_first", "lefs_latest", "lefs_change"]].tolist() == [40, 49, 9]
    assert table.loc["A-ok", "lefs_important"]
    assert table.loc["A-ok", "badges"] == "LEFS\u00a0±9"
    assert table.loc["A-ok", "priority"] == 5  # an important LEFS change is shown, not sorted on
    assert table.loc["B-asym", "lefs_change"] == 8 and not table.loc["B-asym", "lefs_important"]
    assert table.loc["B-asym", "badges"] == "Asymmetry"
    assert table.loc["C-plateau", "lefs_change"] == 0 and not table.loc["C-plateau", "lefs_important"]
    assert pd.isna(table.loc["D-never", "lefs_latest"]) and not table.loc["D-never", "lefs_important"]


def test_every_badge_label_is_known():
    assert set(BADGES) == {*caseload_module.PRIORITY, "lefs_important", "psfs_worsened"}


def test_psfs_columns_and_badge(clinic):
    activities = ["Squat", "Run", "Hike"]
    worse = [[6, 6, 6], [6, 6, 6], [4, 4, 4], [3, 4, 4]]  # baseline 6, current 3.83: beyond the MDC of 2
    for n, ratings in enumerate(worse):
        day = date(2026, 1, 5) + pd.Timedelta(weeks=2 * n)
        clinic.add_records(SYSTEM, "psfs", psfs.row("A-ok", day, activities, ratings))
        clinic.add_records(SYSTEM, "psfs", psfs.row("B-asym", day, activities, [5, 5, 5]))
    table = build(clinic).set_index("patient_id")
    assert table.loc["A-ok", "psfs_status"] == "worsened"
    assert table.loc["A-ok", "psfs_latest"] == pytest.approx(11 / 3)
    assert table.loc["A-ok", "psfs_change"] == pytest.approx((4 + 11 / 3) / 2 - 6)  # current: last 2
    assert BADGES["psfs_worsened"] in table.loc["A-ok", "badges"]
    assert table.loc["B-asym", "psfs_status"] == "no_detectable_change"
    assert "PSFS" not in table.loc["B-asym", "badges"]
    assert pd.isna(table.loc["D-never", "psfs_latest"])
    view = caseload_module.view(table.reset_index()).set_axis(table.index)
    assert view.loc["A-ok", "psfs"] == "3.7 (-2.2)" and view.loc["D-never", "psfs"] == ""


# ---- access and scale ----------------------------------------------------------------------------------


def test_therapist_caseload_holds_only_their_patients(clinic, fast_hashing):
    clinic.create_account(SYSTEM, "tess", "therapist", None)
    clinic.assign(SYSTEM, "G-worse", "tess")
    clinic.assign(SYSTEM, "D-never", "tess")
    table = build(clinic, Actor("tess", "therapist"))
    assert table["patient_id"].tolist() == ["G-worse", "D-never"]


def count_queries(monkeypatch) -> dict:
    counts = {"queries": 0}
    for name in ("_df", "_one"):
        original = getattr(Store, name)

        def counted(self, *args, _original=original, **kwargs):
            counts["queries"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Store, name, counted)
    return counts


def demo_store(new_db, patients: int) -> Store:
    store = Store(new_db(f"demo{patients}"))
    load_demo(store, SYSTEM, patients=patients, weeks=10, end=AS_OF)
    ids = store.patients(SYSTEM)["patient_id"]
    store.add_records(
        SYSTEM,
        "lefs",
        pd.DataFrame(
            {"patient_id": ids, "date": pd.Timestamp("2026-02-02"), "answers": "2" * 20, "total": 40}
        ),
    )
    store.add_patient(SYSTEM, "ZZ-never")
    return store


def test_one_pass_the_number_of_queries_does_not_grow_with_patients(new_db, monkeypatch):
    small, large = demo_store(new_db, 5), demo_store(new_db, 30)
    counts = count_queries(monkeypatch)
    small_table = build(small)
    small_queries = counts["queries"]
    counts["queries"] = 0
    large_table = build(large)
    assert len(small_table) == 6 and len(large_table) == 31
    assert large_table["adherence"].notna().sum() == 30
    assert large_table["lefs_latest"].eq(40).sum() == 30
    assert 0 < counts["queries"] == small_queries <= 8
    small.close()
    large.close()


def test_caseload_itself_reads_nothing_per_patient(clinic, monkeypatch):
    """With its frames in hand, building the table touches no store at all."""
    frames = (
        clinic.patients(SYSTEM),
        progress(clinic, SYSTEM, AS_OF),
        clinic.records(SYSTEM, "exercise_log"),
        clinic.records(SYSTEM, "programme"),
        clinic.records(SYSTEM, "lefs"),
    )
    counts = count_queries(monkeypatch)
    table = caseload(*frames)
    assert counts["queries"] == 0
    assert len(table) == 7


@pytest.mark.parametrize("as_of", [AS_OF, MONDAY - timedelta(weeks=2)])
def test_the_caseloads_own_inputs_equal_the_progress_frames(clinic, make_readings, fast_hashing, as_of):
    """The caseload reads trends, flags and first weeks from coded readings, not from the weekly frame:
    the same frames, for every actor and piece, in the ids' text order whatever the database's collation
    (lower-case ids sort after upper-case ones in code point order, before them in most locales)."""
    rows = [
        *weekly_rows("a-lower", "hip_abduction", "left", [30, 31, 32, 45, 46]),
        *weekly_rows("a-lower", "hip_abduction", "right", [20, 20, 21, 21, 20]),
        *weekly_rows("Z-upper", "pain_knee", "right", [6, 6, 2, 2], last_monday=MONDAY - timedelta(weeks=1)),
    ]
    clinic.add_readings(SYSTEM, make_readings(*rows, today=AS_OF))
    clinic.create_account(SYSTEM, "tess", "therapist", None)
    for patient in ("a-lower", "G-worse", "D-never"):
        clinic.assign(SYSTEM, patient, "tess")
    views = [(SYSTEM, None), (SYSTEM, ["Z-upper", "B-asym", "a-lower"]), (Actor("tess", "therapist"), None)]
    for actor, patients in views:
        frames = progress(clinic, actor, as_of, patients, slopes=False)
        own = summary(clinic, actor, as_of, patients)
        assert len(own.trends) > 0
        # the old frames come in the database's id order (a locale's, on some PostgreSQL databases)
        pd.testing.assert_frame_equal(own.trends, frames.trends.sort_values(trends.KEYS, ignore_index=True))
        pd.testing.assert_frame_equal(own.flags, frames.flags)
        weeks = frames.first_weeks  # indexed by the weekly frame's categorical ids
        weeks = weeks.set_axis(weeks.index.astype(object)).sort_index()
        pd.testing.assert_series_equal(own.first_weeks, weeks)
    everyone = summary(clinic, SYSTEM, AS_OF)
    assert everyone.flags.set_index("patient_id").loc["a-lower", "asymmetry"] == ["hip_abduction"]


def test_the_caseloads_own_inputs_do_not_depend_on_the_order_the_database_sorts_ids_in(clinic):
    """An engine whose collation sorts the ids otherwise hands them over in that order: the same frames."""
    readings = clinic.series_readings(SYSTEM, AS_OF, last_days=True)
    ids = list(readings.labels[0])
    shuffled = ids[::-1]  # e.g. a locale's order
    code = np.array([shuffled.index(p) for p in ids])
    span = series.SERIES_SPAN * series.WEEK_SPAN
    last_day = np.empty_like(readings.last_day)
    last_day[code] = readings.last_day
    other = series.Readings(
        code[readings.cell // span] * span + readings.cell % span,
        readings.value,
        (shuffled, *readings.labels[1:]),
        last_day,
    )
    for mine, theirs in zip(
        trends.caseload_frames(readings, AS_OF), trends.caseload_frames(other, AS_OF), strict=True
    ):
        assert len(mine) > 0
        if isinstance(mine, pd.Series):
            pd.testing.assert_series_equal(theirs, mine)
        else:
            pd.testing.assert_frame_equal(theirs, mine)


def test_a_therapist_without_patients_has_an_empty_caseload(clinic, fast_hashing):
    clinic.create_account(SYSTEM, "tess", "therapist", None)
    table = caseload_module.for_patients(clinic, Actor("tess", "therapist"), AS_OF)
    assert table.empty and {"patient_id", "badges", "priority"} <= set(table.columns)
    assert caseload_module.view(table).empty


# ---- kept between runs: only the changed patients' rows are recomputed --------------------------------


def recomputed_for(monkeypatch) -> list:
    calls = []
    original = caseload_module.for_patients

    def spy(store, actor, as_of, patients=None):
        calls.append(patients)
        return original(store, actor, as_of, patients)

    monkeypatch.setattr(caseload_module, "for_patients", spy)
    return calls


def test_a_write_recomputes_only_that_patients_row(clinic, make_readings, monkeypatch):
    kept = caseload_module.refreshed(clinic, SYSTEM, AS_OF, None)
    pd.testing.assert_frame_equal(kept.table, build(clinic))
    calls = recomputed_for(monkeypatch)
    assert caseload_module.refreshed(clinic, SYSTEM, AS_OF, kept) is kept  # nothing changed
    clinic.add_readings(SYSTEM, make_readings(*weekly_rows("A-ok", "pain_hip", "right", [9, 9]), today=AS_OF))
    clinic.add_patient(SYSTEM, "H-new")
    kept = caseload_module.refreshed(clinic, SYSTEM, AS_OF, kept)
    assert calls == [["A-ok", "H-new"]]
    pd.testing.assert_frame_equal(kept.table, build(clinic))
    assert kept.table["patient_id"].iloc[0] == "A-ok"  # pain went from 2 to 9: first in line now


def test_a_patient_moved_away_leaves_the_kept_caseload(clinic, fast_hashing, monkeypatch):
    clinic.create_account(SYSTEM, "tess", "therapist", None)
    clinic.create_account(SYSTEM, "tom", "therapist", None)
    for patient in ("G-worse", "D-never"):
        clinic.assign(SYSTEM, patient, "tess")
    tess = Actor("tess", "therapist")
    kept = caseload_module.refreshed(clinic, tess, AS_OF, None)
    clinic.assign(SYSTEM, "D-never", "tom")
    kept = caseload_module.refreshed(clinic, tess, AS_OF, kept)
    assert kept.table["patient_id"].tolist() == ["G-worse"]


def test_a_large_caseload_is_computed_in_pieces_of_patients_with_the_same_rows(clinic, monkeypatch):
    monkeypatch.setattr(caseload_module, "CHUNK_PATIENTS", 3)
    pieces = []
    original = caseload_module._rows

    def spy(store, actor, as_of, patients):
        pieces.append(patients)
        return original(store, actor, as_of, patients)

    monkeypatch.setattr(caseload_module, "_rows", spy)
    table = caseload_module.for_patients(clinic, SYSTEM, AS_OF)
    # the same values; a text column that is empty in one piece may come back as object, not str
    pd.testing.assert_frame_equal(table, build(clinic), check_dtype=False)
    assert [len(p) for p in pieces] == [3, 3, 1]  # 7 patients, in id order
    assert sum(pieces, []) == sorted(clinic.patients(SYSTEM)["patient_id"])
    pieces.clear()
    assert len(caseload_module.for_patients(clinic, SYSTEM, AS_OF, ["A-ok", "B-asym"])) == 2
    assert pieces == [["A-ok", "B-asym"]]  # a small list is one piece
