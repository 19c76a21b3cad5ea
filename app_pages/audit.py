"""Audit (admins): every change, who made it and when, with the old and new values."""

import streamlit as st

from hipdata import ui

actor = ui.require_actor()
store = ui.store()
st.title("Audit trail")
patients = [None, *store.patients(actor)["patient_id"]]
users = [None, *store.accounts(actor)["username"], "system"]
a, b, c, d = st.columns(4)
patient = a.selectbox("Patient", patients, format_func=lambda p: "All" if p is None else p)
user = b.selectbox("User", users, format_func=lambda u: "All" if u is None else u)
since = c.date_input("From", value=None, format="YYYY-MM-DD")
until = d.date_input("Until", value=None, format="YYYY-MM-DD")
log = store.audit_log(actor, patient_id=patient, username=user, since=since, until=until)
st.caption(f"{len(log)} entries, newest first.")
st.dataframe(log, hide_index=True, width="stretch")
