"""Data: import a readings CSV (preview, every bad row listed, all or nothing) and export as CSV."""

import streamlit as st

from hipdata import ui, ui_fhir, ui_upload
from hipdata.csv_io import readings_csv
from hipdata.text import counted

actor = ui.require_actor()
store = ui.store()
st.title("Data")

st.subheader("Import readings")
st.caption(
    "A CSV file with the header `patient_id,date,measure,side,value` and optionally "
    "`method,position,mode,measured_by,note`. One bad row and nothing is imported; "
    "importing the same file twice adds nothing."
)
ui_upload.upload_section(actor)

ui_fhir.fhir_upload(actor)

st.subheader("Export readings")
export = store.export_readings(actor)
st.download_button(
    f"Download {counted(len(export), 'reading')} as CSV",
    data=readings_csv(export),
    file_name="hipdata-readings.csv",
    mime="text/csv",
    disabled=export.empty,
)

if actor.role != "patient":
    st.subheader("Add a patient")
    with st.form("add_patient", clear_on_submit=True):
        patient_id = st.text_input("Patient ID", max_chars=64)
        name = st.text_input("Display name (optional)")
        if st.form_submit_button("Add patient"):
            if not patient_id.strip():
                st.error("Patient ID must not be empty.")
            else:
                try:
                    store.add_patient(actor, patient_id, name)
                except (ValueError, PermissionError) as error:
                    st.error(ui.md_escape(error))
                else:
                    st.success(f"Added patient {ui.md_escape(patient_id)}.")
    st.subheader("Demo data")
    if st.button("Load demo data", help="12 synthetic patients over 16 weeks; loading twice adds nothing."):
        from hipdata.demo import load_demo

        with st.spinner("Creating demo patients"):
            try:
                load_demo(store, actor)
            except PermissionError:
                st.error("The demo patients already exist and belong to another therapist.")
            else:
                st.success("Demo data loaded.")
