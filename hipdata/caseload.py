"""The therapist's caseload: one row per patient, sorted by who needs attention first, and why.

Built from whole-caseload frames in one pass (no query or loop per patient).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from hipdata import catalog, lefs, plan, psfs
from hipdata.analysis import Progress, Summary, summary
from hipdata.auth import Actor
from hipdata.store import Patients, Store

ADHERENCE_WEEKS = 4
# Patients computed at once. A whole clinic's caseload in one piece held every reading's weekly median and
# its intermediate frames at once (4.2 GiB at 20,000 patients) and took 2.5 times as long as in pieces.
CHUNK_PATIENTS = 2000
# Order of attention: worsening or pain rising first, then inactive, never logged, plateau, asymmetry, the rest.
PRIORITY = ("worsening", "pain_rising", "inactive", "never_logged", "plateau", "asymmetry")
# The flags as the caseload's Flags cell lists them: short, so that a patient with every flag still fits
# the cell's three lines (tests/test_browser.py measures it in the app's font), with no-break spaces so a
# line never ends inside one. FLAG_MEANINGS (the column's help) says what each means.
BADGES = {
    "worsening": "Worse",
    "pain_rising": "Pain\u00a0↑",
    "inactive": "Inactive",
    "never_logged": "No\u00a0check-in",
    "plateau": "Plateau",
    "asymmetry": "Asymmetry",
    "lefs_important": "LEFS\u00a0±9",
    "psfs_worsened": "PSFS\u00a0↓",
}
FLAG_MEANINGS = {
    "worsening": "a range-of-motion or field-test series worsened by its MDC or more",
    "pain_rising": "a pain series rose by its MDC (2 points) or more",
    "inactive": "14 days or more since the last check-in",
    "never_logged": "no check-in yet",
    "plateau": "range of motion improved, then nothing moved for six weeks",
    "asymmetry": "left and right differ by the MDC or more",
    "lefs_important": "LEFS changed by 9 points or more since the first",
    "psfs_worsened": "PSFS fell by its MDC (2 points) or more",
}


def flags_help() -> str:
    """The Flags column's help: what each badge means, in the order the cell lists them."""
    return "Why this patient needs attention. " + "; ".join(
        f"**{BADGES[flag]}**: {meaning}" for flag, meaning in FLAG_MEANINGS.items()
    )


# Short series names for the caseload's narrow columns (the column help says what they are).
SHORT_NAMES = {
    "hip_flexion": "flexion", "hip_extension": "extension", "hip_abduction": "abduction",
    "hip_adduction": "adduction", "hip_internal_rotation": "int. rotation", "hip_external_rotation": "ext. rotation",
    "fingertip_to_floor": "forward fold", "figure_four": "figure-four",
    "pain_hip": "hip", "pain_low_back": "low back", "pain_knee": "knee", "pain_ankle_foot": "ankle/foot",
}  # fmt: skip
SIDE_LETTERS = {"left": " L", "right": " R", "": ""}


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
    measures = catalog.measures_frame().set_index("measure")
    group = trends["measure"].map(measures["group"])
    rows = trends[group.isin(groups) & trends["improvement"].notna()]
    rows = rows.assign(ratio=rows["improvement"] / rows["mdc"], size=lambda f: f["ratio"].abs())
    top = rows.sort_values(["patient_id", "size"], ascending=[True, False]).drop_duplicates("patient_id")
    side = np.where(top["side"] != "", " (" + top["side"] + ")", "")
    label = top["measure"].map(measures["label"]) + side
    short = top["measure"].map(SHORT_NAMES) + top["side"].map(SIDE_LETTERS)
    return pd.DataFrame(
        {"patient_id": top["patient_id"], f"{name}_mdc": top["ratio"], f"{name}_series": label,
         f"{name}_short": short}
    )  # fmt: skip


def _psfs(scores: pd.DataFrame | None, as_of: date) -> pd.DataFrame:
    """PSFS latest score, change of the mean from baseline and its status (the rules of every series)."""
    if scores is None or scores.empty:
        return pd.DataFrame(columns=["patient_id", "psfs_latest", "psfs_change", "psfs_status"])
    return psfs.summary(scores, as_of)


def caseload(
    patients: pd.DataFrame,
    progress: Progress | Summary,
    exercise_log: pd.DataFrame,
    programme: pd.DataFrame,
    lefs_scores: pd.DataFrame,
    psfs_scores: pd.DataFrame | None = None,
    plans: pd.DataFrame | None = None,
) -> pd.DataFrame:
    as_of = progress.as_of
    flags = progress.flags
    table = (
        patients.merge(flags, on="patient_id", how="left")
        .merge(progress.first_weeks, left_on="patient_id", right_index=True, how="left")
        .merge(_biggest_change(progress.trends, ("rom", "field"), "rom"), on="patient_id", how="left")
        .merge(_biggest_change(progress.trends, ("pain",), "pain"), on="patient_id", how="left")
        .merge(adherence(exercise_log, programme, as_of), left_on="patient_id", right_index=True, how="left")
        .merge(lefs.summary(lefs_scores), on="patient_id", how="left")
        .merge(_psfs(psfs_scores, as_of), on="patient_id", how="left")
    )
    this_monday = pd.Timestamp(as_of - timedelta(days=as_of.weekday()))
    table["weeks_in_programme"] = ((this_monday - table["first_week"]).dt.days // 7 + 1).astype("Int64")
    table["days_since_checkin"] = (
        pd.Timestamp(as_of) - pd.to_datetime(table["last_reading"])
    ).dt.days.astype("Int64")
    table["never_logged"] = table["last_reading"].isna()
    for flag in ("worsening", "pain_rising", "inactive", "plateau", "lefs_important"):
        table[flag] = table[flag].fillna(False).astype(bool)
    lists = table["asymmetry"].map(lambda a: list(a) if isinstance(a, list | np.ndarray) else [])
    table["asymmetry"] = lists.astype(object)  # object even with no rows, for .str below
    has = {f: table[f] if f != "asymmetry" else table["asymmetry"].str.len() > 0 for f in PRIORITY}
    urgent = has["worsening"] | has["pain_rising"]
    table["priority"] = np.select(
        [urgent, has["inactive"], has["never_logged"], has["plateau"], has["asymmetry"]], [0, 1, 2, 3, 4], 5
    )
    table["flag_count"] = sum(has[f].astype(int) for f in PRIORITY)
    has["lefs_important"] = table["lefs_important"]
    has["psfs_worsened"] = table["psfs_status"].eq("worsened")
    badges = pd.Series("", index=table.index)
    for flag, label in BADGES.items():  # a loop over the handful of flags, not over patients
        badges = badges + np.where(has[flag], label + " · ", "")
    table["badges"] = badges.str.removesuffix(" · ")
    table["plan"] = plan.names(table["patient_id"], plans if plans is not None else pd.DataFrame())
    return by_attention(table)


def by_attention(table: pd.DataFrame) -> pd.DataFrame:
    """Who needs attention first: by priority, then more flags, then longer since the last check-in."""
    return table.sort_values(
        ["priority", "flag_count", "days_since_checkin", "patient_id"], ascending=[True, False, False, True]
    ).reset_index(drop=True)


def for_patients(store: Store, actor: Actor, as_of: date, patients: Patients = None) -> pd.DataFrame:
    """The caseload rows of these patients (all the actor may see when None), read from the store
    CHUNK_PATIENTS at a time, in id order (the readings lie in that order, so each piece reads its own)."""
    if isinstance(patients, str) or (patients is not None and len(patients) <= CHUNK_PATIENTS):
        return _rows(store, actor, as_of, patients)
    ids = store.patients(actor, patients)["patient_id"].tolist()
    if len(ids) <= CHUNK_PATIENTS:
        return _rows(store, actor, as_of, patients)
    pieces = [
        _rows(store, actor, as_of, ids[i : i + CHUNK_PATIENTS]) for i in range(0, len(ids), CHUNK_PATIENTS)
    ]
    return by_attention(pd.concat(pieces, ignore_index=True))


def _rows(store: Store, actor: Actor, as_of: date, patients: Patients) -> pd.DataFrame:
    return caseload(
        store.patients(actor, patients),
        summary(store, actor, as_of, patients),
        store.records(actor, "exercise_log", patients),
        store.records(actor, "programme", patients),
        store.records(actor, "lefs", patients),
        store.records(actor, "psfs", patients),
        store.records(actor, "plans", patients),
    )


@dataclass(frozen=True)
class Kept:
    """A caseload table and the patient versions (Store.patient_versions) it was computed from."""

    versions: pd.Series
    table: pd.DataFrame


def refreshed(store: Store, actor: Actor, as_of: date, kept: Kept | None, patients: Patients = None) -> Kept:
    """The caseload, recomputing only the rows of patients whose records changed since `kept`.

    A check-in by one patient then costs one patient's rows, not the whole caseload. The versions are
    read before the rows: a write that lands in between is seen again on the next call, never missed.
    """
    versions = store.patient_versions(actor, patients)
    if kept is None:
        return Kept(versions, for_patients(store, actor, as_of, patients))
    before = kept.versions.reindex(versions.index)
    changed = versions.index[before.ne(versions)].tolist()
    if not changed and len(versions) == len(kept.versions):
        return kept
    ids = kept.table["patient_id"]
    rows = kept.table[ids.isin(versions.index) & ~ids.isin(changed)]
    if changed:
        rows = pd.concat([rows, for_patients(store, actor, as_of, changed)], ignore_index=True)
    return Kept(versions, by_attention(rows))


def view(table: pd.DataFrame) -> pd.DataFrame:
    """The caseload as the page shows it: the triage first (patient, days since the last check-in, flags),
    then one short column per question, so the whole table fits a laptop screen and its first columns a
    phone. A change reads '+1.9 abduction R': MDCs (+ is better) and the series that moved most."""

    def formatted(values: pd.Series, pattern: str) -> pd.Series:
        """Numbers as text in one vectorised pass; '' where missing."""
        numbers = values.astype("float64")
        text = np.char.mod(pattern, numbers.fillna(0).to_numpy())
        return pd.Series(text, index=values.index, dtype=object).where(numbers.notna(), "")

    def change(name: str) -> pd.Series:
        text = formatted(table[f"{name}_mdc"], "%+.1f") + " " + table[f"{name}_short"].fillna("")
        return text.where(table[f"{name}_mdc"].notna(), "")

    lefs_change = formatted(table["lefs_change"], " (%+.0f)")
    lefs_text = (formatted(table["lefs_latest"], "%.0f") + lefs_change).where(
        table["lefs_latest"].notna(), ""
    )
    name = table["display_name"].fillna("").astype(str)
    return pd.DataFrame(
        {
            "patient": table["patient_id"] + np.where(name != "", " · " + name, ""),
            "days_since_checkin": table["days_since_checkin"],
            "badges": table["badges"],
            "weeks_in_programme": table["weeks_in_programme"],
            "adherence": 100 * table["adherence"].clip(upper=1.5),
            "rom": change("rom"),
            "pain": change("pain"),
            "lefs": lefs_text,
            "plan": np.where(table["plan"] == plan.DEFAULT_NAME, "Default", "Custom"),
            "psfs": (
                formatted(table["psfs_latest"], "%.1f") + formatted(table["psfs_change"], " (%+.1f)")
            ).where(table["psfs_latest"].notna(), ""),
        }
    )
