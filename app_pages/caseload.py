"""Caseload: every patient in one table, who needs attention first, and why. A row opens the review."""

from datetime import date

import streamlit as st

from hipdata import caseload, ui
from hipdata.caseload import BADGES
from hipdata.text import counted

actor = ui.require_actor()
store = ui.store()
st.title("Caseload")
if store.patients(actor).empty:
    ui.first_steps(actor)
    st.stop()

table = ui.cached_caseload(actor, date.today())
left, right = st.columns([3, 1])
wanted = left.multiselect("Only patients flagged", list(BADGES.values()), placeholder="All patients")
if actor.sees_everything:
    therapist = right.selectbox("Therapist", ["All", *store.therapists(actor)])
    if therapist != "All":
        table = table[table["therapist"] == therapist]
for badge in wanted:
    table = table[table["badges"].str.contains(badge, regex=False)]

attention = int((table["priority"] < 5).sum())
st.caption(
    f"{counted(len(table), 'patient')} · {attention} {'needs' if attention == 1 else 'need'} attention · "
    "sorted by need: worsening or pain rising first."
)
event = st.dataframe(
    caseload.view(table),
    hide_index=True,
    width="stretch",
    row_height=ui.CASELOAD_ROW_HEIGHT,
    height=38 + ui.CASELOAD_ROW_HEIGHT * min(len(table), 60),  # a caseload of 40 at once, no inner scrollbar
    on_select="rerun",
    selection_mode="single-row",
    key="caseload-table",
    column_config=ui.caseload_columns(),
)
selected = event.selection.rows if event else []
if selected:
    st.session_state["review_patient"] = table.iloc[selected[0]]["patient_id"]
    st.switch_page("app_pages/review.py")
st.caption("Select a row to open the patient review, or choose below.")
pick, go = st.columns([3, 1], vertical_alignment="bottom")
chosen = pick.selectbox("Open a patient", list(table["patient_id"]), key="caseload-open")
if go.button("Open review", type="primary") and chosen:
    st.session_state["review_patient"] = chosen
    st.switch_page("app_pages/review.py")
