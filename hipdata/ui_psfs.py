"""Streamlit glue of the Patient-Specific Functional Scale: the check-in form and the trend view."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from hipdata import psfs
from hipdata.auth import Actor
from hipdata.contract import ValidationError
from hipdata.ui import STATUS_WORDS, chart, db_path, md_escape, patient_version, store


def psfs_form(actor: Actor, patient_id: str, day: date) -> None:
    """Ask for the PSFS when it is due: the activities at the start, their ratings every 2 weeks."""
    rows = store().records(actor, "psfs", patient_id)
    if not psfs.due(rows, day):
        st.caption(f"Your activities (PSFS): next ratings due {psfs.next_due(rows):%d %b %Y}.")
        return
    named = psfs.current_activities(rows)
    title = ("Rate your activities (PSFS): due every 2 weeks" if named
             else "Name the activities you find hard (PSFS): about 2 minutes")  # fmt: skip
    # Enter (a phone keyboard's Go) would save the ratings typed so far: only the button saves.
    with st.expander(title, expanded=False), st.form("psfs", enter_to_submit=False):
        if named:
            st.caption(
                "How well can you do each activity today? 0 = unable, 10 = as well as before the problem."
            )
            names = named
        else:
            st.caption(
                f"Name {psfs.MIN_ACTIVITIES} to {psfs.MAX_ACTIVITIES} activities that you find hard or cannot do "
                "because of your hip (for example: squat to pick up my child), then rate each: 0 = unable, "
                "10 = as well as before the problem. We ask for the same ratings again every 2 weeks."
            )
            names = [st.text_input(f"Activity {i}", key=f"psfs-name-{i}", max_chars=psfs.ACTIVITY_MAX)
                     for i in range(1, psfs.MAX_ACTIVITIES + 1)]  # fmt: skip
        # A float field: an integer one truncates a typed 3.5 to 3 in the browser; psfs.clean refuses it.
        ratings = [
            st.number_input(f"{name} (0-10)" if named else f"Rating of activity {i} (0-10)",
                            float(psfs.RATING_MIN), float(psfs.RATING_MAX), value=None, step=1.0, format="%g",
                            key=f"psfs-rating-{i}")
            for i, name in enumerate(names, start=1)
        ]  # fmt: skip
        if st.form_submit_button("Save activity ratings"):
            if not named:  # empty rows are activities not named
                pairs = [(n, r) for n, r in zip(names, ratings, strict=True) if n.strip() or r is not None]
                names, ratings = [n for n, _ in pairs], [r for _, r in pairs]
            try:
                row = psfs.row(patient_id, day, names, ratings)
            except ValidationError as error:
                st.error("Nothing was saved: " + md_escape("; ".join(f"PSFS {p}" for p in error.problems)))
            else:
                store().add_records(actor, "psfs", row)
                st.success(f"PSFS saved: score {row['score'].iloc[0]:.1f}/10.")


@st.cache_resource(show_spinner=False, max_entries=256)
def _psfs_trend(path: str, version: int, actor: Actor, patient_id: str, as_of: date):
    """One patient's PSFS trend and chart, kept per patient version as the progress charts are (ui.py);
    (None, None) when there is no PSFS yet. Read only."""
    from hipdata import charts

    del path, version  # cache keys: a write to this patient bumps their version
    rows = store().records(actor, "psfs", patient_id)
    if rows.empty:
        return None, None
    trend = psfs.trend(rows, as_of)
    return trend, charts.psfs_chart(rows, trend)


def psfs_view(actor: Actor, patient_id: str, key: str = "psfs") -> None:
    """The PSFS trend with its MDC band and the verdict in words, for the progress and review pages."""
    trend, figure = _psfs_trend(
        db_path(), patient_version(actor, patient_id), actor, patient_id, date.today()
    )
    st.subheader("Your activities (PSFS)" if actor.role == "patient" else "The patient's activities (PSFS)")
    if trend is None:
        st.caption("No PSFS yet: the check-in asks for it at the start, then every 2 weeks.")
        return
    mean = trend[trend["series"] == psfs.MEAN].iloc[0]
    st.metric(
        "PSFS score (mean of your activities)", f"{mean['current']:.1f}/10",
        delta=f"{mean['change']:+.1f} · {STATUS_WORDS[mean['status']]}" if mean["status"] != "insufficient_data"
        else STATUS_WORDS[mean["status"]],
        delta_color="normal" if mean["status"] in ("improved", "worsened") else "off",
        help=f"Baseline {mean['baseline']:.1f}; MDC {psfs.MDC:g} points for the mean, {psfs.MDC_ACTIVITY:g} for one activity.",
        border=True,
    )  # fmt: skip
    chart(figure, key=f"{key}-chart")
    table = trend[trend["series"] != psfs.MEAN]
    st.dataframe(
        pd.DataFrame({"Activity": table["series"], "Baseline": table["baseline"], "Current": table["current"],
                      "Change": table["change"], "Status": table["status"].map(STATUS_WORDS)}),
        hide_index=True, width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.1f") for c in ("Baseline", "Current")}
        | {"Change": st.column_config.NumberColumn(format="%+.1f")},
    )  # fmt: skip
