"""Weekly check-in: step by step on a phone, or every measure on one page for clinic measurements."""

from datetime import date

import streamlit as st

from hipdata import checkin, ui, ui_checkin

actor = ui.require_actor()
store = ui.store()
st.title("Weekly check-in")
patient = ui.pick_patient(actor)
if patient is None:
    st.stop()

today = date.today()
day = st.date_input("Date of the check-in", value=today, max_value=today, format="YYYY-MM-DD")
history = store.readings(actor, patient)
last_week = checkin.previous_values(history, day)
ui.lefs_form(actor, patient, day)
ui_checkin.saved_confirmation()

if ui_checkin.choose_mode(actor) == ui_checkin.STEP_BY_STEP:
    ui_checkin.step_flow(actor, patient, day, last_week)
else:
    ui_checkin.one_page_form(actor, patient, day, history, last_week)

ui_checkin.corrections(actor, patient, day)
ui_checkin.reminder_download(patient)
st.caption(f"Week of {checkin.monday(day):%d %b %Y}. Readings are grouped by ISO week (Monday to Sunday).")
