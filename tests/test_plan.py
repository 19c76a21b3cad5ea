"""plan: the measurement plan per patient (default, stored versions with history and audit, the steps)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from hipdata import catalog, plan
from hipdata.auth import SYSTEM, Actor
from hipdata.contract import ValidationError
from hipdata.store import AccessDenied

TESS = Actor("tess", "therapist")
PAT = Actor("pat", "patient", "P1")


def test_the_default_plan_is_the_programmes_self_assessments_and_the_main_pains():
    assert set(plan.DEFAULT_PLAN) == {
        ("fingertip_to_floor", ""),
        *((m, s) for m in ("figure_four", "hip_internal_rotation", "hip_external_rotation") for s in catalog.SIDES),
        ("pain_hip", "left"), ("pain_hip", "right"), ("pain_low_back", ""),
        ("pain_knee", "left"), ("pain_knee", "right"),
    }  # fmt: skip
    assert plan.current(pd.DataFrame(), "P1") == plan.order(plan.DEFAULT_PLAN)
    assert plan.name(plan.DEFAULT_PLAN) == plan.DEFAULT_NAME


def test_steps_one_per_measured_series_then_pain_then_exercises():
    steps = plan.steps(plan.DEFAULT_PLAN)
    assert [s.title for s in steps] == [
        "Forward fold: fingertip-to-floor distance",
        "Figure-four (FABER): knee-to-floor distance, left",
        "Figure-four (FABER): knee-to-floor distance, right",
        "Hip internal rotation, left",
        "Hip internal rotation, right",
        "Hip external rotation, left",
        "Hip external rotation, right",
        "Pain this week",
        "Exercises this week",
    ]
    assert steps[7].series == (
        ("pain_hip", "left"), ("pain_hip", "right"), ("pain_low_back", ""),
        ("pain_knee", "left"), ("pain_knee", "right"),
    )  # fmt: skip
    assert [s.kind for s in plan.steps((("pain_low_back", ""),))] == ["pain", "exercises"]
    assert len(plan.steps(tuple(catalog.series_keys()))) == 15 + 2


def test_a_plan_round_trips_and_refuses_unknown_series_and_empty_plans():
    row = plan.plan_row("P1", [("pain_low_back", ""), ("hip_flexion", "right"), ("hip_flexion", "right")])
    assert row.to_dict("records") == [{"patient_id": "P1", "series": "hip_flexion:right|pain_low_back"}]
    assert plan.parse(row["series"].iloc[0]) == (("hip_flexion", "right"), ("pain_low_back", ""))
    with pytest.raises(ValidationError, match="choose at least one measure"):
        plan.plan_row("P1", [])
    with pytest.raises(ValidationError, match="unknown measure or side"):
        plan.plan_row("P1", [("pain_low_back", "left")])
    with pytest.raises(ValidationError, match="hip_flexion:middle"):
        plan.parse("hip_flexion:middle|pain_low_back")


def test_the_latest_version_is_in_force_and_the_older_ones_stay_as_history(store):
    store.create_account(SYSTEM, "tess", "therapist", "x")
    store.create_account(SYSTEM, "pat", "patient", "x", "P1", "tess")
    store.add_records(TESS, "plans", plan.plan_row("P1", [("hip_flexion", "left")]))
    store.add_records(TESS, "plans", plan.plan_row("P1", [("pain_knee", "right"), ("hip_flexion", "left")]))
    plans = store.records(PAT, "plans", "P1")  # the patient reads their plan
    assert len(plans) == 2
    assert plan.current(plans, "P1") == (("hip_flexion", "left"), ("pain_knee", "right"))
    assert plan.current(plans, "P2") == plan.order(plan.DEFAULT_PLAN)
    names = plan.names(pd.Series(["P1", "P2"]), plans)
    assert list(names) == ["Custom plan (2 measures)", plan.DEFAULT_NAME]
    audit = store.audit_log(SYSTEM, patient_id="P1")
    entries = audit[audit["entity"] == "plans"]
    assert list(entries["actor"]) == ["tess", "tess"] and entries["new_value"].str.contains("pain_knee").any()
    with pytest.raises(AccessDenied):  # only therapists and admins choose the plan
        store.add_records(PAT, "plans", plan.plan_row("P1", [("pain_low_back", "")]))
    assert isinstance(plans["entered_at"].iloc[0], pd.Timestamp | datetime)


def test_the_caseload_names_each_patients_plan(store, make_readings):
    from hipdata.analysis import progress
    from hipdata.caseload import caseload
    from tests.conftest import TODAY

    store.add_readings(SYSTEM, make_readings({"patient_id": "P1"}, {"patient_id": "P2"}))
    store.add_records(SYSTEM, "plans", plan.plan_row("P2", [("pain_low_back", "")]))
    table = caseload(
        store.patients(SYSTEM), progress(store, SYSTEM, TODAY), store.records(SYSTEM, "exercise_log"),
        store.records(SYSTEM, "programme"), store.records(SYSTEM, "lefs"), plans=store.records(SYSTEM, "plans"),
    )  # fmt: skip
    assert dict(zip(table["patient_id"], table["plan"], strict=True)) == {
        "P1": plan.DEFAULT_NAME,
        "P2": "Custom plan (1 measure)",
    }
