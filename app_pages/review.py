"""Patient review: progress, goals, notes, exercise programme, adherence, LEFS, context history and report."""

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from hipdata import catalog, charts, checkin, lefs, ui, ui_plan, ui_psfs
from hipdata.csv_io import readings_csv
from hipdata.fhir import export_json
from hipdata.goals import goal_status
from hipdata.report import report_html

actor = ui.require_actor()
store = ui.store()
st.title("Patient review")
patient = ui.pick_patient(actor, key="review-patient")
if patient is None:
    st.stop()
today = date.today()
result = ui.cached_trends(actor, today, patient)
row = ui.cached_caseload(actor, today, patient)
if len(row) and row.iloc[0]["badges"]:
    st.warning("Flags: " + row.iloc[0]["badges"])
if len(row):
    st.caption(f"Measurement plan: {row.iloc[0]['plan']} (tab Plan)")

goals = store.records(actor, "goals", patient)
(
    progress_tab,
    goals_tab,
    notes_tab,
    programme_tab,
    plan_tab,
    lefs_tab,
    psfs_tab,
    context_tab,
    deleted_tab,
    report_tab,
) = st.tabs(
    ["Progress", "Goals", "Notes", "Programme", "Plan", "LEFS", "PSFS", "Context", "Deleted", "Report"]
)
with progress_tab:
    ui.progress_view(actor, patient, key="review")

with goals_tab:
    if len(goals):
        status = goal_status(goals, result.trends, today)
        st.dataframe(ui.goals_table(status), hide_index=True, width="stretch")
    with st.form("add_goal", clear_on_submit=True):
        st.write("Add a goal: a target value by a date")
        keys = catalog.series_keys()
        series = st.selectbox("Series", keys, format_func=lambda k: ui.series_label(*k))
        target = st.number_input("Target value", value=None, step=1.0)
        by = st.date_input("By", value=today + timedelta(weeks=12), min_value=today, format="YYYY-MM-DD")
        if st.form_submit_button("Add goal"):
            try:
                ui.add_goal(actor, patient, series, target, by)
            except ValueError as error:
                st.error(ui.md_escape(error))
            else:
                st.rerun()

with notes_tab:
    st.subheader("Notes")
    notes = store.records(actor, "notes", patient)
    with st.form("add_note", clear_on_submit=True):
        text = st.text_area("Note", max_chars=4000)
        week = st.date_input("Week of", value=today, max_value=today, format="YYYY-MM-DD")
        if st.form_submit_button("Add note") and text.strip():
            monday = pd.Timestamp(checkin.monday(week))
            store.add_records(
                actor, "notes", pd.DataFrame({"patient_id": [patient], "week": [monday], "text": [text]})
            )
            st.rerun()
    ui.notes_timeline(notes)

with programme_tab:
    st.subheader("Exercise programme")
    programme = store.records(actor, "programme", patient)
    log = store.records(actor, "exercise_log", patient)
    if len(programme):
        st.dataframe(ui.programme_table(programme), hide_index=True, width="stretch")
        ui.chart(charts.adherence_chart(log, programme), key="adherence")
    with st.form("add_exercise", clear_on_submit=True):
        exercise = st.selectbox(
            "Exercise", list(catalog.EXERCISES), format_func=lambda e: catalog.EXERCISES[e].label
        )
        per_week = st.number_input("Sessions per week", min_value=1, max_value=14, value=3, step=1)
        dose = st.text_input("Dose", placeholder="e.g. 3 x 10 reps per side, medium band")
        if st.form_submit_button("Add to programme"):
            rows = pd.DataFrame(
                {"patient_id": [patient], "exercise": [exercise], "sessions_per_week": [per_week]}
            )
            store.add_records(actor, "programme", rows.assign(dose=dose))
            st.rerun()
    if len(programme):
        drop = st.selectbox(
            "Remove from programme", [None, *programme["id"]], format_func=lambda i: "—" if i is None else
            catalog.EXERCISES[programme.set_index("id").loc[i, "exercise"]].label,
        )  # fmt: skip
        if drop is not None and st.button("Remove"):
            store.delete_row(actor, "programme", int(drop))
            st.rerun()

with plan_tab:
    ui_plan.plan_editor(actor, patient)

with lefs_tab:
    st.subheader("LEFS questionnaire")
    scores = store.records(actor, "lefs", patient)
    if len(scores):
        ui.chart(charts.lefs_chart(scores), key="lefs")
        summary = lefs.summary(scores).iloc[0]
        st.caption(
            f"Latest {summary.lefs_latest}/80, change {summary.lefs_change:+d} (9 points or more is important)."
        )
    else:
        st.caption("No LEFS yet: the patient is asked for it at check-in.")

with psfs_tab:
    ui_psfs.psfs_view(actor, patient, key="review-psfs")

with context_tab:
    st.subheader("Measurement context")
    st.caption("Rows where the method, position, mode or rater changed: a jump there may be the instrument.")
    st.dataframe(ui.context_history(store.readings(actor, patient)), hide_index=True, width="stretch")

with deleted_tab:
    st.subheader("Deleted readings")
    deleted = store.deleted_readings(actor, patient)
    if deleted.empty:
        st.caption("No deleted readings.")
    else:
        st.caption("A reading deleted by mistake can be restored; the audit trail records who did it.")
        table = ui.deleted_table(deleted)
        st.dataframe(table, hide_index=True, width="stretch")
        labels = dict(zip(deleted["id"], table["Reading"], strict=True))
        chosen = st.selectbox("Reading to restore", [None, *labels], format_func=lambda i: labels.get(i, "—"))
        if chosen is not None and st.button("Restore reading"):
            store.restore_reading(actor, int(chosen))
            st.toast("Reading restored.")
            st.rerun()

with report_tab:
    st.subheader("Report")
    st.download_button(  # built on click: the report inlines plotly.js and draws every chart
        "Download report (HTML)",
        lambda: report_html(store, actor, patient, today),
        file_name=f"hipdata-report-{patient}.html",
        mime="text/html",
    )
    st.download_button(  # built on click, like the report
        "Download FHIR R4 Bundle (JSON)",
        lambda: export_json(store, actor, patient),
        file_name=f"hipdata-fhir-{patient}.json",
        mime="application/fhir+json",
    )
    st.download_button(
        "Download readings (CSV)",
        readings_csv(store.export_readings(actor, patient)),
        file_name=f"hipdata-readings-{patient}.csv",
        mime="text/csv",
    )
