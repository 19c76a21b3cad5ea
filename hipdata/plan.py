"""A patient's measurement plan: which measures and sides the weekly check-in asks for, and its steps.

A plan is stored as one row per version in the `plans` table (the series joined by '|', e.g.
'figure_four:left|pain_low_back'); the latest live row is the plan in force, the older rows are its history.
A patient without a row is on the default plan: the programme's own self-assessments and the main pains.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hipdata import catalog
from hipdata.contract import Problem, ValidationError

Series = tuple[str, str]  # (measure id, side); side '' for a measure without sides

DEFAULT_PLAN: tuple[Series, ...] = (
    ("fingertip_to_floor", ""),
    ("figure_four", "left"),
    ("figure_four", "right"),
    ("hip_internal_rotation", "left"),
    ("hip_internal_rotation", "right"),
    ("hip_external_rotation", "left"),
    ("hip_external_rotation", "right"),
    ("pain_hip", "left"),
    ("pain_hip", "right"),
    ("pain_low_back", ""),
    ("pain_knee", "left"),
    ("pain_knee", "right"),
)
DEFAULT_NAME = "Default plan (self-assessments)"


def key(series: Series) -> str:
    measure, side = series
    return f"{measure}:{side}" if side else measure


def parse(text: str) -> tuple[Series, ...]:
    """The series of a stored plan; raises ValidationError naming every unknown series."""
    parts = [p.strip() for p in str(text).split("|") if p.strip()]
    known = {key(s): s for s in catalog.series_keys()}
    unknown = [p for p in parts if p not in known]
    if unknown:
        raise ValidationError(
            [
                Problem(None, "plan", p, "unknown measure or side; allowed: " + ", ".join(known))
                for p in unknown
            ]
        )
    return order(known[p] for p in parts)


def order(series) -> tuple[Series, ...]:
    """Distinct series in the check-in's order: field tests, then range of motion, then pain; catalog order within."""
    rank = {s: i for i, s in enumerate(catalog.series_keys())}
    group_rank = {"field": 0, "rom": 1, "pain": 2}
    return tuple(sorted(set(series), key=lambda s: (group_rank[catalog.MEASURES[s[0]].group], rank[s])))


def plan_row(patient_id: str, series) -> pd.DataFrame:
    """A new plan version for the store; refuses an empty plan or an unknown series."""
    wanted = [tuple(s) for s in series]
    known = set(catalog.series_keys())
    problems = [Problem(None, "plan", key(s), "unknown measure or side") for s in wanted if s not in known]
    chosen = order(s for s in wanted if s in known)
    if not wanted:
        problems.append(Problem(None, "plan", "", "choose at least one measure"))
    if problems:
        raise ValidationError(problems)
    return pd.DataFrame({"patient_id": [patient_id], "series": ["|".join(key(s) for s in chosen)]})


def current(plans: pd.DataFrame, patient_id: str) -> tuple[Series, ...]:
    """The plan in force for a patient: the latest stored version, or the default plan."""
    mine = plans[plans["patient_id"] == patient_id] if len(plans) else plans
    if not len(mine):
        return order(DEFAULT_PLAN)
    return parse(mine.sort_values("id")["series"].iloc[-1])


def name(series: tuple[Series, ...]) -> str:
    if set(series) == set(DEFAULT_PLAN):
        return DEFAULT_NAME
    return f"Custom plan ({len(series)} measure{'' if len(series) == 1 else 's'})"


def names(patients: pd.Series, plans: pd.DataFrame) -> pd.Series:
    """The plan name of each patient, from the latest plan rows (for the caseload; each distinct plan named once)."""
    if not len(plans):
        return pd.Series(DEFAULT_NAME, index=patients.index, dtype=object)
    latest = (
        plans.sort_values("id").drop_duplicates("patient_id", keep="last").set_index("patient_id")["series"]
    )
    named = latest.map({text: name(parse(text)) for text in latest.unique()})
    return patients.map(named).astype(object).fillna(DEFAULT_NAME)


@dataclass(frozen=True)
class Step:
    kind: str  # "measure", "pain" or "exercises"
    series: tuple[Series, ...]  # the fields asked at this step (one for a measure, the pains for "pain")

    @property
    def title(self) -> str:
        if self.kind == "exercises":
            return "Exercises this week"
        if self.kind == "pain":
            return "Pain this week"
        measure, side = self.series[0]
        label = catalog.MEASURES[measure].label
        return f"{label}, {side}" if side else label


def steps(series: tuple[Series, ...]) -> list[Step]:
    """One step per measured series, then one step for all pains, then the exercises."""
    ordered = order(series)
    measured = [Step("measure", (s,)) for s in ordered if catalog.MEASURES[s[0]].group != "pain"]
    pains = tuple(s for s in ordered if catalog.MEASURES[s[0]].group == "pain")
    return [*measured, *([Step("pain", pains)] if pains else []), Step("exercises", ())]
