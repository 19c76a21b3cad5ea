"""Streamlit glue of the measurement plan: the therapist chooses which measures and sides a patient logs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hipdata import catalog, plan, ui
from hipdata.auth import Actor
from hipdata.contract import ValidationError


def plan_editor(actor: Actor, patient: str) -> None:
    store = ui.store()
    plans = store.records(actor, "plans", patient)
    current = plan.current(plans, patient)
    st.subheader("Measurement plan")
    st.caption(
        f"{plan.name(current)}. The weekly check-in asks for these, one step each; the patient finds the "
        "others under More measures."
    )
    chosen = st.multiselect(
        "Measures and sides in the check-in",
        catalog.series_keys(),
        default=list(current),
        format_func=lambda s: ui.series_label(*s),
        key=f"plan-{patient}",
    )
    save, default = st.columns(2)
    wanted = None
    if save.button("Save plan", type="primary"):
        wanted = chosen
    if default.button("Use the default plan"):
        wanted = list(plan.DEFAULT_PLAN)
    if wanted is not None:
        try:
            row = plan.plan_row(patient, wanted)
        except ValidationError as error:
            st.error(ui.md_escape("; ".join(p.message for p in error.problems)))
        else:
            store.add_records(actor, "plans", row)
            st.session_state.pop(f"plan-{patient}", None)
            st.rerun()
    if len(plans):
        history = plans.sort_values("id", ascending=False)
        st.caption("Earlier versions, newest first")
        st.dataframe(
            pd.DataFrame(
                {
                    "From": pd.to_datetime(history["entered_at"]).dt.strftime("%Y-%m-%d %H:%M"),
                    "By": history["entered_by"],
                    "Plan": [plan.name(plan.parse(s)) for s in history["series"]],
                    "Measures": [
                        ", ".join(ui.series_label(*x) for x in plan.parse(s)) for s in history["series"]
                    ],
                }
            ),
            hide_index=True,
            width="stretch",
        )
