"""The therapist's caseload: one row per patient, sorted by who needs attention first, and why.

Built from whole-caseload frames in one pass (no query or loop per patient).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from hipdata import catalog, lefs, plan
from hipdata.analysis import Progress

ADHERENCE_WEEKS = 4
# Order of attention: worsening or pain rising first, then inactive, never logged, plateau, asymmetry, the rest.
PRIORITY = ("worsening", "pain_rising", "inactive", "never_logged", "plateau", "asymmetry")
BADGES = {
    "worsening": "Worsening",
    "pain_rising": "Pain rising",
    "inactive": "Inactive 14+ days",
    "never_logged": "No check-in yet",
    "plateau": "Plateau",
    "asymmetry": "Asymmetry",
    "lefs_important": "LEFS changed ≥9",
}


def adherence(exercise_log: pd.DataFrame, programme: pd.DataFrame, as_of: date) -> pd.Series:
    """Sessions done ÷ prescribed over the last 4 weeks (the week holding as_of and the 3 before it)."""
    first_week = pd.Timestamp(as_of - timedelta(days=as_of.weekday())) - pd.Timedelta(
        weeks=ADHERENCE_WEEKS - 1
    )
    weeks = pd.to_datetime(exercise_log["week"])
    recent = exercise_log[(weeks >= first_week) & (weeks <= pd.Timestamp(as_of))]
    done = recent.groupby("patient_id")["sessions"].sum()
    prescribed = programme.groupby("patient_id")["sessions_per_week"].sum() * ADHERENCE_WEEKS
    prescribed = prescribed[prescribed > 0]
    return (done.reindex(prescribed.index).fillna(0) / prescribed).rename("adherence")


def _biggest_change(trends: pd.DataFrame, groups: tuple[str, ...], name: str) -> pd.DataFrame:
    """Per patient, the series with the largest change from baseline in MDC units (signed: + is better)."""
    group = trends["measure"].map(catalog.measures_frame().set_index("measure")["group"])
    rows = trends[group.isin(groups) & trends["improvement"].notna()]
    rows = rows.assign(ratio=rows["improvement"] / rows["mdc"], size=lambda f: f["ratio"].abs())
    top = rows.sort_values(["patient_id", "size"], ascending=[True, False]).drop_duplicates("patient_id")
    label = [
        catalog.MEASURES[m].label + (f" ({s})" if s else "")
        for m, s in zip(top["measure"], top["side"], strict=True)
    ]
    return pd.DataFrame(
        {"patient_id": top["patient_id"], f"{name}_mdc": top["ratio"], f"{name}_series": label}
    )


def caseload(
    patients: pd.DataFrame,
    progress: Progress,
    exercise_log: pd.DataFrame,
    programme: pd.DataFrame,
    lefs_scores: pd.DataFrame,
    plans: pd.DataFrame | None = None,
) -> pd.DataFrame:
    as_of = progress.as_of
    flags = progress.flags
    first_week = progress.weekly.groupby("patient_id")["week"].min().rename("first_week")
    table = (
        patients.merge(flags, on="patient_id", how="left")
        .merge(first_week, left_on="patient_id", right_index=True, how="left")
        .merge(_biggest_change(progress.trends, ("rom", "field"), "rom"), on="patient_id", how="left")
        .merge(_biggest_change(progress.trends, ("pain",), "pain"), on="patient_id", how="left")
        .merge(adherence(exercise_log, programme, as_of), left_on="patient_id", right_index=True, how="left")
        .merge(lefs.summary(lefs_scores), on="patient_id", how="left")
    )
    this_monday = pd.Timestamp(as_of - timedelta(days=as_of.weekday()))
    table["weeks_in_programme"] = ((this_monday - table["first_week"]).dt.days // 7 + 1).astype("Int64")
    table["days_since_checkin"] = (
        pd.Timestamp(as_of) - pd.to_datetime(table["last_reading"])
    ).dt.days.astype("Int64")
    table["never_logged"] = table["last_reading"].isna()
    for flag in ("worsening", "pain_rising", "inactive", "plateau", "lefs_important"):
        table[flag] = table[flag].fillna(False).astype(bool)
    table["asymmetry"] = table["asymmetry"].map(lambda a: list(a) if isinstance(a, list | np.ndarray) else [])
    has = {f: table[f] if f != "asymmetry" else table["asymmetry"].str.len() > 0 for f in PRIORITY}
    urgent = has["worsening"] | has["pain_rising"]
    table["priority"] = np.select(
        [urgent, has["inactive"], has["never_logged"], has["plateau"], has["asymmetry"]], [0, 1, 2, 3, 4], 5
    )
    table["flag_count"] = sum(has[f].astype(int) for f in PRIORITY)
    has["lefs_important"] = table["lefs_important"]
    badges = pd.Series("", index=table.index)
    for flag, label in BADGES.items():  # a loop over the handful of flags, not over patients
        badges = badges + np.where(has[flag], label + " · ", "")
    table["badges"] = badges.str.removesuffix(" · ")
    table["plan"] = plan.names(table["patient_id"], plans if plans is not None else pd.DataFrame())
    return table.sort_values(
        ["priority", "flag_count", "days_since_checkin", "patient_id"], ascending=[True, False, False, True]
    ).reset_index(drop=True)
