"""Audit (admins): every change, who made it and when, with the old and new values; paged in the store."""

import streamlit as st

from hipdata import ui
from hipdata.text import counted

PAGE_SIZE = 100

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
chosen = {"patient_id": patient, "username": user, "since": since, "until": until}
total = store.audit_count(actor, **chosen)
pages = max(1, -(-total // PAGE_SIZE))
page = st.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1)
log = store.audit_log(actor, **chosen, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
first = (page - 1) * PAGE_SIZE + 1 if total else 0
st.caption(
    f"{counted(total, 'entry', 'entries')}, newest first; showing {first:,}–{first + len(log) - 1 if total else 0:,}."
)
st.dataframe(log, hide_index=True, width="stretch")
