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
    height=min(38 + 35 * len(table), 38 + 35 * 60),  # a whole caseload of 40 at once, without a scrollbar
    on_select="rerun",
    selection_mode="single-row",
    key="caseload-table",
    column_config={
        "patient": st.column_config.TextColumn("Patient", pinned=True, width=116),
        "badges": st.column_config.TextColumn("Flags", width=150, help="Why this patient needs attention"),
        "days_since_checkin": st.column_config.NumberColumn(
            "Days", width=46, help="Days since the last check-in (14 or more: inactive)"
        ),
        "weeks_in_programme": st.column_config.NumberColumn(
            "Wk", width=38, help="Weeks in the programme, since the first check-in"
        ),
        "adherence": st.column_config.ProgressColumn(
            "Done", min_value=0, max_value=100, format="%.0f%%", width=60,
            help="Adherence: exercise sessions done ÷ prescribed over the last 4 weeks",
        ),
        "rom": st.column_config.TextColumn(
            "ROM", width=108,
            help="Biggest change in range of motion or a field test, in MDCs (beyond ±1 is real; + is "
            "better), and the series: L/R = left/right side",
        ),
        "pain": st.column_config.TextColumn(
            "Pain", width=88, help="Biggest pain change in MDCs (1 MDC = 2 points; + is better), and where"
        ),
        "lefs": st.column_config.TextColumn(
            "LEFS", width=58, help="Latest LEFS score out of 80 (change since the first; 9 or more is important)"
        ),
        "plan": st.column_config.TextColumn(
            "Plan", width=62,
            help="The measurement plan the check-in follows: the default self-assessments, or a custom plan "
            "(Review page, Plan tab)",
        ),
        "psfs": st.column_config.TextColumn(
            "PSFS", width=58,
            help="Latest PSFS score: the mean rating 0-10 of the patient's own activities (change since the "
            "first; 2 points or more is real)",
        ),
    },
)  # fmt: skip
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
