"""Caseload: every patient in one table, who needs attention first, and why. A row opens the review."""

from datetime import date

import streamlit as st

from hipdata import ui
from hipdata.caseload import BADGES

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
    f"{len(table)} patients · {attention} need attention · sorted by need: worsening or pain rising first."
)
view = table.assign(
    patient=table["patient_id"] + table["display_name"].map(lambda n: f" · {n}" if n else ""),
    adherence=100 * table["adherence"].clip(upper=1.5),
)[
    [
        "patient", "badges", "weeks_in_programme", "days_since_checkin", "adherence",
        "rom_mdc", "rom_series", "pain_mdc", "pain_series", "lefs_latest", "lefs_change", "plan",
    ]
]  # fmt: skip
event = st.dataframe(
    view,
    hide_index=True,
    width="stretch",
    height=min(38 + 35 * len(view), 38 + 35 * 60),  # a whole caseload of 40 at once, without a scrollbar
    on_select="rerun",
    selection_mode="single-row",
    key="caseload-table",
    column_config={
        "patient": st.column_config.TextColumn("Patient", pinned=True),
        "badges": st.column_config.TextColumn("Flags", width="medium"),
        "weeks_in_programme": st.column_config.NumberColumn(
            "Weeks", width="small", help="Weeks since the first check-in"
        ),
        "days_since_checkin": st.column_config.NumberColumn(
            "Days", width="small", help="Days since the last check-in"
        ),
        "adherence": st.column_config.ProgressColumn(
            "Adherence", min_value=0, max_value=100, format="%.0f%%", width="small",
            help="Sessions done ÷ prescribed over the last 4 weeks",
        ),
        "rom_mdc": st.column_config.NumberColumn(
            "ROM (MDCs)", format="%+.1f", width="small",
            help="Biggest change in range of motion or field tests, in MDCs: beyond ±1 is real; + is better",
        ),
        "rom_series": st.column_config.TextColumn("ROM series", width="medium"),
        "pain_mdc": st.column_config.NumberColumn(
            "Pain (MDCs)", format="%+.1f", width="small", help="Biggest pain change in MDCs; + is better"
        ),
        "pain_series": st.column_config.TextColumn("Pain series", width="medium"),
        "lefs_latest": st.column_config.NumberColumn("LEFS", format="%d", width="small"),
        "lefs_change": st.column_config.NumberColumn("LEFS Δ", format="%+d", width="small"),
        "plan": st.column_config.TextColumn("Plan", width="medium", help="The measurement plan of the check-in"),
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
